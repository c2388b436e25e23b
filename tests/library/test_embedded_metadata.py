"""What files say about themselves is found, shown and kept; every common format is added."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.library import Library, run_jobs
from tests.library.fakes import FakeCaptioner
from tests.metadata._fixtures import library_wav
from tests.metadata.conftest import make_sound

mutagen = pytest.importorskip("mutagen")


def _tagged_library(folder: Path) -> dict[str, str]:
    """Files tagged by tools other than Earmark's writer; returns planted word -> file name."""
    from mutagen.flac import FLAC
    from mutagen.id3 import COMM, ID3, TIT2, TXXX
    from mutagen.mp4 import MP4
    from mutagen.oggopus import OggOpus

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "harbour.wav").write_bytes(library_wav())  # bext + iXML + INFO laid out by hand
    planted = {
        w: "harbour.wav"
        for w in ("foghorn", "gulls", "lighthouse", "VEHHorn", "coastal", "Lovelace", "dawn")
    }

    flac = FLAC(make_sound(folder, "flac", "kettle", seed=1))
    flac["DESCRIPTION"] = "kettle whistles on the stove"
    flac["GENRE"] = "kitchenware"
    flac["ARTIST"] = "Marisol"
    flac["LIBRARY"] = "Domestic Sounds"
    flac.save()
    planted |= {w: "kettle.flac" for w in ("whistles", "stove", "kitchenware", "Marisol")}

    mp3 = make_sound(folder, "mp3", "slide", seed=2)
    tags = ID3()
    tags.add(COMM(encoding=3, lang="eng", desc="", text="trombone glissando downwards"))
    tags.add(TIT2(encoding=3, text="Sad Slide"))
    tags.add(TXXX(encoding=3, desc="KEYWORDS", text="brass, comedy"))
    tags.save(mp3)
    planted |= {w: "slide.mp3" for w in ("trombone", "glissando", "brass", "comedy")}

    m4a = MP4(make_sound(folder, "m4a", "office", seed=3))
    m4a["\xa9cmt"] = "typewriter carriage return"
    m4a["\xa9nam"] = "Office Ambience"
    m4a.save()
    planted |= {w: "office.m4a" for w in ("typewriter", "carriage", "ambience")}

    opus = OggOpus(make_sound(folder, "opus", "pulse", seed=4))
    opus["DESCRIPTION"] = "heartbeat through a stethoscope"
    opus.save()
    planted |= {w: "pulse.opus" for w in ("heartbeat", "stethoscope")}
    return planted


def test_words_planted_by_other_tools_are_found_after_add(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    planted = _tagged_library(tmp_path / "lib")
    assert len(planted) >= 20
    db = str(tmp_path / "lib.db")
    assert main(["--db", db, "library", "add", str(tmp_path / "lib")]) == 0
    capsys.readouterr()
    for word, name in planted.items():
        assert main(["--db", db, "search", word, "--json"]) == 0, word
        hits = [Path(h["path"]).name for h in json.loads(capsys.readouterr().out)]
        assert hits == [name], (word, hits)


def test_a_files_own_description_is_its_caption_and_no_model_replaces_it(tmp_path: Path) -> None:
    _tagged_library(tmp_path / "lib")
    with Library.open(tmp_path / "lib.db") as lib:
        lib.add_root(tmp_path / "lib")
        lib.scan()
        rows = {r.name: r for r in lib.list_files()}
        kettle = rows["kettle.flac"]
        assert kettle.caption == "kettle whistles on the stove"
        assert kettle.caption_source == "file"
        harbour = rows["harbour.wav"]
        assert harbour.caption == "Foghorn wails across the harbour, gulls answer"  # iXML full
        assert "foghorn" in harbour.keywords and harbour.format == "BWF"
        assert lib.enqueue("uncaptioned") == 0  # every file here carries its own words
        assert lib.enqueue([kettle.id]) == 0  # not without asking
        assert lib.enqueue([kettle.id], force=True) == 1  # asked: "caption again"
        run_jobs(lib, FakeCaptioner())
        again = lib.get_file(kettle.id)
        assert again is not None and again.caption_source == "model"
        assert [c.source for c in lib.caption_history(kettle.id)] == ["model", "file"]
        lib.scan()  # the file still says the same: not offered twice
        assert lib.get_file(kettle.id) == again
        # A person's caption wins; the file's words stay in the history, restorable.
        lib.set_user_caption(kettle.id, "my kettle", [])
        lib.scan()
        mine = lib.get_file(kettle.id)
        assert mine is not None and mine.caption == "my kettle"


FORMATS = ["m4a", "alac.m4a", "aac", "caf", "wv", "wma", "ac3", "mp2", "mp3", "ogg", "opus"]


def test_every_common_format_is_added_and_the_summary_says_what_was_left_out(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "formats"
    for i, kind in enumerate(FORMATS):
        make_sound(folder, kind, f"f{i:02d}", seed=i)
    (folder / "notes.txt").write_text("not a sound")
    (folder / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    db = tmp_path / "lib.db"
    proc = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "--db", str(db), "library", "add", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 .txt" in proc.stderr and "1 .jpg" in proc.stderr
    with Library.open(db) as lib:
        rows = {r.name: r for r in lib.list_files(limit=100)}
        assert len(rows) == len(FORMATS)
        broken = {name: r.error for name, r in rows.items() if r.status != "ok"}
        assert broken == {}
        labels = {name.split(".", 1)[1]: r.format for name, r in rows.items()}
        assert labels["m4a"] == "M4A/AAC" and labels["alac.m4a"] == "M4A/ALAC"
        assert labels["caf"] == "CAF/ALAC" and labels["wv"] == "WavPack"
        assert labels["opus"] == "Opus" and labels["ogg"] == "Ogg Vorbis"
        assert all(r.duration_s and r.duration_s > 1.0 for r in rows.values())
