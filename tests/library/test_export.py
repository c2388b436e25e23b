"""CSV export: columns, injection safety, BOM, selections, atomic writes."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from desktop.library import CSV_COLUMNS, FileQuery, Library, export_csv, run_jobs
from desktop.library.errors import LibraryError
from desktop.library.export import neutralise_cell
from tests.conftest import write_tone
from tests.library.fakes import FakeCaptioner


@pytest.fixture
def captioned(lib: Library, sound_tree: Path, fake: FakeCaptioner) -> Library:
    lib.add_root(sound_tree)
    lib.scan()
    lib.enqueue("uncaptioned")
    run_jobs(lib, fake)
    return lib


def _read(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with open(path, encoding=encoding, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise_cell(cell: str, expected: str) -> None:
    assert neutralise_cell(cell) == expected


def test_export_whole_library(captioned: Library, tmp_path: Path, sound_tree: Path) -> None:
    lib = captioned
    dog_id = lib.file_id_for_path(sound_tree / "dog bark.wav")
    assert dog_id is not None
    lib.set_user_caption(dog_id, "=cmd|' /C calc'!A0", ["-danger", "@at", "dog, barking"])
    out = tmp_path / "out.csv"
    progress: list[tuple[int, int]] = []
    count = export_csv(lib, out, progress=lambda d, t: progress.append((d, t)))
    rows = _read(out)
    assert count == len(rows) == lib.count_files()
    assert progress[-1] == (count, count)
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert not out.read_bytes().startswith(b"\xef\xbb\xbf")

    by_path = {r["Pathname"]: r for r in rows}
    dog = by_path[str(sound_tree / "dog bark.wav")]
    assert dog["Description"] == "'=cmd|' /C calc'!A0"
    assert dog["Keywords"] == "'-danger, @at, dog, barking"
    assert dog["CaptionModel"] == "user"
    assert dog["Duration"] == "0.250" and dog["SampleRate"] == "16000"
    assert dog["Channels"] == "1" and dog["BitDepth"] == "16" and dog["Format"] == "WAV"
    assert dog["CaptionedAt"].endswith("Z") and dog["CaptionedAt"][:2] == "20"

    evil = by_path[str(sound_tree / "=HYPERLINK(evil) engine.wav")]
    assert evil["Filename"] == "'=HYPERLINK(evil) engine.wav"
    assert evil["Description"] == "a engine." and evil["CaptionModel"] == "fake-clap | fake-llm"
    newline = by_path[str(sound_tree / "Foley" / "line\nbreak thunder.wav")]
    assert newline["Filename"] == "line\nbreak thunder.wav"
    broken = by_path[str(sound_tree / "not audio.wav")]
    assert broken["Description"] == "" and broken["Duration"] == ""
    for row in rows:  # nothing in the file can start a formula
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_export_query_selection_and_bom(captioned: Library, tmp_path: Path) -> None:
    lib = captioned
    out = tmp_path / "bom.csv"
    n = export_csv(lib, out, query=FileQuery(text="foley"), bom=True)
    assert n == 3
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert len(_read(out, encoding="utf-8-sig")) == 3

    ids = [r.id for r in lib.list_files(FileQuery(sort="name", descending=True), 0, 3)]
    stream = io.StringIO()
    assert export_csv(lib, stream, file_ids=reversed(ids)) == 3
    names = [r["Filename"] for r in csv.DictReader(io.StringIO(stream.getvalue()))]
    expected = [lib.get_file(i).name for i in reversed(ids)]  # type: ignore[union-attr]
    assert names == [neutralise_cell(n) for n in expected]


def test_failed_export_leaves_existing_file(captioned: Library, tmp_path: Path) -> None:
    out = tmp_path / "keep.csv"
    out.write_text("precious")
    with pytest.raises(ValueError):
        export_csv(captioned, out, query=FileQuery(text="dog AND (", mode="advanced"))
    assert out.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".keep.csv")] == []
    with pytest.raises(LibraryError, match="cannot write"):
        export_csv(captioned, tmp_path / "no such dir" / "x.csv")


def test_tool_columns_come_from_the_files_own_metadata_and_profiles_differ(
    tmp_path: Path,
) -> None:
    from tests.metadata._fixtures import library_wav

    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "harbour.wav").write_bytes(library_wav())
    write_tone(folder / "+1.wav")
    with Library.open(tmp_path / "lib.db") as lib:
        lib.add_root(folder)
        lib.scan()
        for profile in ("spreadsheet", "tool"):
            out = tmp_path / f"{profile}.csv"
            export_csv(lib, out, profile=profile)  # type: ignore[arg-type]
            with open(out, encoding="utf-8", newline="") as handle:
                rows = {r["Pathname"].lstrip("'"): r for r in csv.DictReader(handle)}
            harbour = rows[str(folder / "harbour.wav")]
            assert (harbour["Category"], harbour["SubCategory"], harbour["CatID"]) == (
                "VEHICLES",
                "HORN",
                "VEHHorn",
            )
            assert (
                harbour["CategoryFull"] == "VEHICLES-HORN" and harbour["FXName"] == "Foghorn Wail"
            )
            assert (harbour["Library"], harbour["Designer"]) == ("Coastal Pack", "Ada Lovelace")
            assert harbour["Format"] == "BWF" and harbour["CaptionModel"] == "file"
            assert "foghorn:1.000" in harbour["KeywordScores"]
            plus = rows[str(folder / "+1.wav")]
            expected = "'+1.wav" if profile == "spreadsheet" else "+1.wav"
            assert plus["Filename"] == expected


def test_the_csv_file_mode_follows_the_umask(captioned: Library, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        export_csv(captioned, tmp_path / "a.csv")
    finally:
        os.umask(old)
    assert (tmp_path / "a.csv").stat().st_mode & 0o777 == 0o644
