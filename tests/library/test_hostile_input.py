"""Hostile searches, files and names get clear answers; a person's newer words are kept."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.library import FileQuery, Library, export_csv, run_jobs
from desktop.library._sql import MAX_QUERY_WORDS, fts_query
from desktop.library.errors import NothingToSearchError
from desktop.library.export import neutralise_cell
from tests.conftest import write_tone
from tests.library.fakes import FakeCaptioner

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    folder = tmp_path / "sounds"
    folder.mkdir()
    for i, name in enumerate(("dog bark", "rain", "door", "thunder", "bird")):
        write_tone(folder / f"{name}.wav", seconds=0.05, freq=200.0 + 50 * i)
    db = tmp_path / "lib.db"
    with Library.open(db) as lib:
        lib.add_root(folder)
        lib.scan()
        lib.enqueue("uncaptioned")
        run_jobs(lib, FakeCaptioner())
    return db


@pytest.mark.parametrize("text", ["***", "-", "(", "🙂", "\udcff", " ' \" ", "——"])
def test_a_search_without_words_says_so(small: Path, text: str) -> None:
    with Library.open(small) as lib:
        with pytest.raises(NothingToSearchError):
            lib.count_files(FileQuery(text=text))
        with pytest.raises(NothingToSearchError):
            export_csv(lib, io.StringIO(), query=FileQuery(text=text))


def test_long_pastes_are_cut_and_repeats_count_once() -> None:
    assert fts_query("dog " * 5000) == '"dog"*'
    words = " ".join(f"w{i}" for i in range(5000))
    assert (fts_query(words) or "").count('"') == 2 * MAX_QUERY_WORDS


def _cli(*args: str, db: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", "--db", str(db), *args],
        capture_output=True,
        env=env,
        timeout=120,
    )


def test_cli_hostile_queries_are_errors_not_matches(small: Path, tmp_path: Path) -> None:
    for query in ("***", b"\xff".decode("utf-8", "surrogateescape")):
        proc = _cli("search", query, db=small)
        assert proc.returncode == 2 and b"nothing to search for" in proc.stderr, proc.stderr
        assert b"Traceback" not in proc.stderr
    out = tmp_path / "out.csv"
    proc = _cli("export", str(out), "--query", "***", db=small)
    assert proc.returncode == 2 and not out.exists()  # never "every row"
    proc = _cli("search", "zzz-nothing-like-it", db=small)
    assert proc.returncode == 1 and b"no matches" in proc.stderr  # nothing found is not an error


def test_export_dash_writes_csv_to_stdout_and_logs_have_no_carriage_returns(small: Path) -> None:
    proc = _cli("export", "-", db=small)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout.decode("utf-8"))))
    assert sorted(r["Filename"] for r in rows) == [
        "bird.wav",
        "dog bark.wav",
        "door.wav",
        "rain.wav",
        "thunder.wav",
    ]
    assert not Path("-").exists()
    proc = _cli("library", "scan", db=small)  # stderr is a pipe here, as in `2>log`
    assert proc.returncode == 0 and b"\r" not in proc.stderr


def test_formula_guard_sees_through_leading_spaces() -> None:
    for cell in (" =1+1.wav", "\t=cmd", "  +1", " @SUM(A1)", "-2+3", "=x"):
        assert neutralise_cell(cell).startswith("'"), cell
    for cell in ("dog.wav", "a=b.wav", "1-2.wav", ""):
        assert neutralise_cell(cell) == cell


def test_a_killed_export_leaves_at_most_one_hidden_file_which_the_next_reuses(
    small: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.csv"
    stale = [tmp_path / f".out.csv.{i}.part" for i in range(3)]  # an older Earmark's leftovers
    for path in stale:
        path.write_text("half an export")
    (tmp_path / ".out.csv.earmark.part").write_text("left by a killed export")
    with Library.open(small) as lib:
        assert export_csv(lib, out) == 5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.csv")] == []


def test_a_caption_typed_after_asking_for_a_new_one_is_kept(small: Path) -> None:
    with Library.open(small) as lib:
        row = lib.list_files()[0]
        lib.set_user_caption(row.id, "first words", [])
        assert lib.enqueue([row.id], force=True) == 1  # "caption again", confirmed
        lib.set_user_caption(row.id, "newer words, typed while it waited", [])
        run_jobs(lib, FakeCaptioner())
        shown = lib.get_file(row.id)
        assert shown is not None and shown.caption == "newer words, typed while it waited"
        assert len(lib.caption_history(row.id)) == 4  # model, first, newer, the new model one
        # Without a newer edit, the confirmed replacement does replace.
        lib.enqueue([row.id], force=True)
        run_jobs(lib, FakeCaptioner())
        replaced = lib.get_file(row.id)
        assert replaced is not None and replaced.caption_source == "model"


def test_pipes_and_mislabelled_files_get_messages_in_plain_words(tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    os.mkfifo(folder / "pipe.wav")
    (folder / "random.mp3").write_bytes(os.urandom(20000))
    with Library.open(tmp_path / "lib.db") as lib:
        lib.add_root(folder)
        report = lib.scan()  # returns: the pipe is never opened
        assert report.errors == 2
        errors = {r.name: r.error or "" for r in lib.broken_files()}
    assert "named pipe" in errors["pipe.wav"] and "no such file" not in errors["pipe.wav"]
    assert "not a sound format Earmark can read" in errors["random.mp3"]
    assert "pipe?" not in errors["random.mp3"]


def test_a_damaged_mp3_does_not_flood_the_terminal(tmp_path: Path) -> None:
    import random

    import numpy as np
    import soundfile as sf

    folder = tmp_path / "mp3"
    folder.mkdir()
    good = folder / "good.mp3"
    t = np.arange(48000 * 3) / 48000
    sf.write(good, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 48000)
    data = bytearray(good.read_bytes())
    rng = random.Random(1)
    for _ in range(200):
        data[rng.randrange(2000, len(data))] = rng.randrange(256)
    (folder / "damaged.mp3").write_bytes(bytes(data))
    proc = _cli("library", "add", str(folder), db=tmp_path / "lib.db")
    assert proc.returncode == 0, proc.stderr
    assert b"MPEG-Header" not in proc.stderr and b"resync" not in proc.stderr, proc.stderr
    assert len(proc.stderr.splitlines()) <= 3  # the summary's own lines at most
