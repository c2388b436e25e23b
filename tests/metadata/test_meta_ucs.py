"""UCS: the loader on the official CSV/XLSX layout and JSON (small fixtures written here, since
the list itself is not shipped), zero-shot suggestion, the thesaurus and file names."""

from __future__ import annotations

import csv
import hashlib
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from captioner.ucs import (
    UCS_ENV,
    UcsNotAvailableError,
    UcsSuggester,
    UcsThesaurus,
    fxname_from_caption,
    load_ucs,
    parse_ucs_filename,
    read_ucs_file,
    suggest_catids,
    suggest_ucs_filename,
)

HEADER = [
    "Category",
    "SubCategory",
    "CatID",
    "CatShort",
    "Explanations",
    "Synonyms - Comma Separated",
]
ROWS = [
    [
        "AIRCRAFT",
        "HELICOPTER",
        "AEROHeli",
        "AERO",
        "All manner of helicopters.",
        "Chopper, Copter, Heli, Rotor",
    ],
    [
        "DOORS",
        "WOOD",
        "DOORWood",
        "DOOR",
        "Wooden doors opening and closing.",
        "Door, Slam, Creak, Wooden",
    ],
    [
        "RAIN",
        "METAL",
        "RAINMetl",
        "RAIN",
        "Rain falling on metal, a tin roof.",
        "Rain, Roof, Tin, Drops",
    ],
    [
        "BIRDS",
        "MISC",
        "BIRDMisc",
        "BIRD",
        "Birds not fitting another category.",
        "Bird, Chirp, Tweet",
    ],
]


def write_official_csv(path: Path, delimiter: str = ",", encoding: str = "utf-8-sig") -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(["UCS - Universal Category System"])  # title rows as in the published file
        w.writerow(["Version 8.2.1"])
        w.writerow([])
        w.writerow(HEADER)
        w.writerows(ROWS)
    return path


def write_xlsx(path: Path) -> Path:
    """A minimal workbook laid out like the official XLSX (title row, then the header)."""
    rows = [["UCS v8.2.1 Full List"], HEADER, *ROWS]
    strings: list[str] = []
    sheet_rows = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, text in enumerate(row):
            strings.append(text)
            cells.append(f'<c r="{chr(65 + c)}{r}" t="s"><v>{len(strings) - 1}</v></c>')
        sheet_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel_ns = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "xl/workbook.xml",
            f'<workbook {ns} {rel_ns}><sheets><sheet name="UCS" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>",
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
            "</Relationships>",
        )
        sst = "".join(f"<si><t>{s}</t></si>" for s in strings)
        zf.writestr("xl/sharedStrings.xml", f"<sst {ns}>{sst}</sst>")
        zf.writestr(
            "xl/worksheets/sheet1.xml",
            f"<worksheet {ns}><sheetData>{''.join(sheet_rows)}</sheetData></worksheet>",
        )
    return path


@pytest.fixture
def ucs_csv(tmp_path: Path) -> Path:
    return write_official_csv(tmp_path / "UCS v8.2.1 Full List.csv")


def test_csv_xlsx_json_read_alike(tmp_path: Path, ucs_csv: Path) -> None:
    a = read_ucs_file(ucs_csv)
    b = read_ucs_file(write_xlsx(tmp_path / "ucs.xlsx"))
    c = read_ucs_file(write_official_csv(tmp_path / "semi.csv", ";", "cp1252"))
    records = [
        dict(zip(["Category", "SubCategory", "CatID", "CatShort", "Explanations"], r[:5]))
        | {"Synonyms": [s.strip() for s in r[5].split(",")]}
        for r in ROWS
    ]
    (tmp_path / "ucs.json").write_text(json.dumps(records))
    d = read_ucs_file(tmp_path / "ucs.json")
    assert a.entries == b.entries == c.entries == d.entries
    heli = a.get("aeroheli")
    assert heli is not None and heli.catid == "AEROHeli"
    assert heli.category_full == "AIRCRAFT-HELICOPTER"
    assert heli.synonyms == ("Chopper", "Copter", "Heli", "Rotor")
    assert a.categories() == ("AIRCRAFT", "DOORS", "RAIN", "BIRDS")
    assert a.sha256 == hashlib.sha256(ucs_csv.read_bytes()).hexdigest()


def test_where_the_list_is_found(
    tmp_path: Path, ucs_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(UCS_ENV, raising=False)
    monkeypatch.setattr("captioner.ucs.RESOURCE_DIR", tmp_path / "nothing-here")
    with pytest.raises(UcsNotAvailableError, match="not installed"):
        load_ucs()
    monkeypatch.setenv(UCS_ENV, str(ucs_csv))
    assert load_ucs().source == str(ucs_csv)
    other = write_official_csv(tmp_path / "other.csv")
    assert load_ucs(other).source == str(other)  # the settings path wins over the variable
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    write_official_csv(bundled / "ucs.csv")
    monkeypatch.delenv(UCS_ENV)
    monkeypatch.setattr("captioner.ucs.RESOURCE_DIR", bundled)
    assert load_ucs().source == str(bundled / "ucs.csv")


def test_unreadable_lists(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(UcsNotAvailableError, match="no header row"):
        read_ucs_file(bad)
    with pytest.raises(UcsNotAvailableError, match="cannot read"):
        read_ucs_file(tmp_path / "absent.csv")
    (tmp_path / "x.xlsx").write_bytes(b"PK not a zip")
    with pytest.raises(UcsNotAvailableError):
        read_ucs_file(tmp_path / "x.xlsx")


def _bag_of_words(texts: Sequence[str]) -> np.ndarray:
    """A deterministic text embedder: hashed word counts, unit length."""
    out = np.zeros((len(texts), 64), np.float32)
    for i, text in enumerate(texts):
        for word in text.lower().replace(",", " ").replace(".", " ").split():
            out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1.0
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_suggestion_ranks_and_caches(tmp_path: Path, ucs_csv: Path) -> None:
    ucs = read_ucs_file(ucs_csv)
    calls: list[int] = []

    def embed(texts: Sequence[str]) -> np.ndarray:
        calls.append(len(texts))
        return _bag_of_words(texts)

    suggester = UcsSuggester(ucs, embed, model_key="bow", cache_dir=tmp_path / "cache")
    audio = _bag_of_words(["rain on a tin roof, metal drops"])[0]
    top = suggester.suggest(audio)
    assert top[0].catid == "RAINMetl"
    assert len(top) == 3 and top[0].score >= top[1].score >= top[2].score
    assert all(ucs.get(s.catid) is not None for s in top)
    assert top[0].category_full == "RAIN-METAL"
    suggester.suggest(_bag_of_words(["wooden door slam"])[0])
    assert len(calls) == 1  # prompts embedded once
    again = UcsSuggester(ucs, embed, model_key="bow", cache_dir=tmp_path / "cache")
    assert again.suggest(audio)[0].catid == "RAINMetl"
    assert len(calls) == 1  # and read from the disk cache by a new suggester
    with pytest.raises(ValueError, match="same audio-language model"):
        suggester.suggest(np.ones(10, np.float32))
    assert suggester.suggest(np.zeros(64, np.float32)) == []


def test_suggestion_with_the_tiny_clap(tiny_models: Path, ucs_csv: Path) -> None:
    import torch

    from captioner.backends import load_audio_text_model

    model = load_audio_text_model(str(tiny_models / "clap"), device="cpu", dtype=torch.float32)
    windows = torch.zeros(1, int(model.sample_rate * model.window_seconds))
    windows[0, ::50] = 0.5
    with torch.no_grad():
        audio = model.embed_audio(windows)[0]
        top = suggest_catids(
            audio, read_ucs_file(ucs_csv), model.embed_text, model_key=model.model_id
        )
    assert len(top) == 3
    assert {s.catid for s in top} <= {"AEROHeli", "DOORWood", "RAINMetl", "BIRDMisc"}
    assert all(-1.0 <= s.score <= 1.0 for s in top)


def test_thesaurus(ucs_csv: Path) -> None:
    th = UcsThesaurus(read_ucs_file(ucs_csv))
    assert th.expand("Helicopter")[:1] == ("helicopter",)
    assert {"chopper", "copter", "heli"} <= set(th.expand("helicopter"))
    assert "helicopter" in th.expand("chopper")
    assert "helicopter" in th.expand("choppers")
    assert th.expand("banana") == ("banana",)
    groups = th.expand_query("wood door")
    assert groups[0][0] == "wood" and groups[1][0] == "door"
    assert "misc" not in th._by_name  # catch-all subcategories do not expand


def test_file_names(ucs_csv: Path) -> None:
    ucs = read_ucs_file(ucs_csv)
    name = suggest_ucs_filename(
        "doorwood", "Heavy_Slam/Close", "JD", "", ext=".wav", ucs=ucs, user_data="take 2"
    )
    assert name == "DOORWood_Heavy Slam Close_JD_NONE_take 2.wav"
    assert parse_ucs_filename(name, ucs) == {
        "catid": "DOORWood",
        "fxname": "Heavy Slam Close",
        "creator_id": "JD",
        "source_id": "NONE",
        "user_data": "take 2",
    }
    assert parse_ucs_filename("Door_Slam.wav", ucs) is None
    with pytest.raises(ValueError, match="not a CatID"):
        suggest_ucs_filename("NOPEx", "a", "b", "c", ucs=ucs)
    assert (
        fxname_from_caption("a dog barks loudly while a man speaks nearby")
        == "Dog Barks Loudly While A"
    )
    assert len(fxname_from_caption("x" * 40)) <= 25


def test_the_shipped_list_is_ucs_8_2_1(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no setting, the list shipped in the package is found: whole and as recorded."""
    monkeypatch.delenv(UCS_ENV, raising=False)
    ucs = load_ucs()
    assert len(ucs.entries) == 753
    assert len(ucs.categories()) == 82
    assert len({e.catid for e in ucs.entries}) == 753
    readme = (Path(ucs.source).parent / "README.md").read_text(encoding="utf-8")
    assert ucs.sha256 in readme  # the provenance names this exact file
    door = ucs.get("DOORWood")
    assert door is not None and door.category == "DOORS" and door.synonyms
