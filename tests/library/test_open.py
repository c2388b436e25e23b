"""Opening refuses anything that is not a healthy Earmark library, and changes nothing in it."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.library import Library
from desktop.library.errors import (
    DiskFullError,
    LibraryCorruptError,
    LibraryNotFoundError,
    LibraryReadOnlyError,
    NewerLibraryError,
    NotALibraryError,
)
from desktop.library.repair import check_library, repair_library
from desktop.library.schema import SCHEMA_VERSION
from tests.conftest import write_tone


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _library(tmp_path: Path, n: int = 300) -> Path:
    folder = tmp_path / "sounds"
    folder.mkdir()
    for i in range(n):
        write_tone(folder / f"rain {i:03d}.wav", seconds=0.02, freq=100.0 + i)
    db = tmp_path / "lib.db"
    with Library.open(db) as lib:
        lib.add_root(folder)
        lib.scan()
        for row in lib.list_files(limit=n)[:50]:
            lib.set_user_caption(row.id, f"words for {row.name}", ["mine"])
        lib.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db


def _corrupt_a_middle_page(db: Path, table: str = "files") -> None:
    """Overwrite one leaf page in the middle of ``table`` (SQLite's dbstat says which)."""
    conn = sqlite3.connect(db)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    leaves = [
        r[0]
        for r in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
            (table,),
        )
    ]
    conn.close()
    assert len(leaves) >= 3, leaves
    with open(db, "r+b") as handle:
        handle.seek(page_size * (leaves[len(leaves) // 2] - 1))
        handle.write(b"\xa5" * page_size)


def test_a_corrupt_inner_page_is_refused_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _library(tmp_path)
    _corrupt_a_middle_page(db)
    before = _digest(db)
    with pytest.raises(LibraryCorruptError, match="is damaged"):
        Library.open(db)
    folder = tmp_path / "more"
    folder.mkdir()
    write_tone(folder / "x.wav")
    assert main(["--db", str(db), "library", "add", str(folder)]) == 2
    assert "is damaged" in capsys.readouterr().err
    assert main(["--db", str(db), "library", "stats"]) == 2
    assert _digest(db) == before
    assert main(["--db", str(db), "library", "check"]) == 1
    report = check_library(db)
    assert not report.ok and report.problems
    repaired = tmp_path / "repaired.db"
    assert main(["--db", str(db), "library", "repair", str(repaired)]) in (0, 1)
    assert _digest(db) == before
    with Library.open(repaired) as lib:
        assert lib.integrity_check() == "ok"
        kept = lib.connection.execute(
            "SELECT count(*) FROM files WHERE caption_source = 'user'"
        ).fetchone()[0]
        assert 0 < lib.count_files() < 300  # the damaged page's files are lost, no others
        captioned = lib.connection.execute(
            "SELECT count(*) FROM files WHERE caption_id IS NOT NULL"
        ).fetchone()[0]
        assert kept == captioned > 0  # the captions of every file that survived came along


def test_repair_of_a_healthy_library_copies_everything(tmp_path: Path) -> None:
    db = _library(tmp_path, 40)
    report = repair_library(db, tmp_path / "copy.db")
    assert report.complete and report.copied["files"] == 40 and report.copied["captions"] == 40
    with Library.open(tmp_path / "copy.db") as lib, Library.open(db) as original:
        assert lib.search("words") and len(lib.search("words", limit=100)) == 40
        assert [r.caption for r in lib.list_files(limit=100)] == [
            r.caption for r in original.list_files(limit=100)
        ]


def test_an_empty_file_is_not_a_new_library(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    db.write_bytes(b"")
    with pytest.raises(NotALibraryError, match="empty file"):
        Library.open(db)
    assert db.read_bytes() == b""


def test_another_programs_database_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "photos.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT)")
    conn.commit()
    conn.close()
    before = _digest(db)
    with pytest.raises(NotALibraryError, match="another program"):
        Library.open(db)
    assert _digest(db) == before
    conn = sqlite3.connect(db)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    conn.close()
    assert tables == ["photos"]


def test_a_newer_library_in_rollback_mode_is_refused_before_anything_changes(
    tmp_path: Path,
) -> None:
    db = tmp_path / "future.db"
    Library.open(db).close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = _digest(db)
    with pytest.raises(NewerLibraryError):
        Library.open(db)
    assert _digest(db) == before
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_a_mistyped_path_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "no such folder" / "librray.db"
    with pytest.raises(LibraryNotFoundError):
        Library.open(typo, create=False)
    for args in (["library", "stats"], ["library", "scan"], ["search", "rain"], ["export", "-"]):
        assert main(["--db", str(typo), *args]) == 2, args
        assert "no library at" in capsys.readouterr().err
    assert not typo.parent.exists()


def test_a_read_only_library_still_answers_questions(tmp_path: Path) -> None:
    db = _library(tmp_path, 5)
    with Library.open(db, readonly=True) as lib:
        assert lib.count_files() == 5 and lib.search("rain")
        with pytest.raises(LibraryReadOnlyError, match="read-only"):
            lib.set_user_caption(lib.list_files()[0].id, "x")


def _mount(args: list[str]) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def read_only_view(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """``(folder, read-only view of it)``: a read-only bind mount (needs mount rights)."""
    source, view = tmp_path / "library", tmp_path / "view"
    source.mkdir()
    view.mkdir()
    if not (_mount(["--bind", str(source), str(view)])):
        pytest.skip("cannot bind-mount here")
    try:
        if not _mount(["-o", "remount,ro,bind", str(view)]):
            pytest.skip("cannot remount read-only here")
        yield source, view
    finally:
        subprocess.run(["umount", "-l", str(view)], capture_output=True)


def test_a_library_on_read_only_media_still_answers_questions(
    read_only_view: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    source, view = read_only_view
    db = _library(source, 5)
    ro = view / db.name
    for args in (["library", "stats"], ["search", "rain"], ["export", "-"], ["library", "errors"]):
        assert main(["--db", str(ro), *args]) == 0, (args, capsys.readouterr().err)
    capsys.readouterr()
    assert main(["--db", str(ro), "library", "scan"]) == 2
    assert "read-only" in capsys.readouterr().err
    with Library.open(ro, readonly=True) as lib:
        assert lib.count_files() == 5 and len(lib.search("rain")) == 5


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs (needs mount rights)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _mount(["-t", "tmpfs", "-o", "size=3m", "tmpfs", str(disk)]):
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def test_a_disk_that_fills_gives_messages_not_tracebacks(
    tiny_disk: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    for i in range(40):
        write_tone(sounds / f"dog {i:02d}.wav", seconds=0.02, freq=150.0 + 9 * i)
    db = tiny_disk / "lib.db"
    assert main(["--db", str(db), "library", "add", str(sounds)]) == 0
    filler = _fill(tiny_disk)
    more = tmp_path / "more"
    more.mkdir()
    for i in range(400):
        write_tone(more / f"{'long name ' * 8}{i:03d}.wav", seconds=0.02, freq=300.0 + i)
    capsys.readouterr()
    assert main(["--db", str(db), "library", "add", str(more)]) == 2
    err = capsys.readouterr().err
    assert "disk" in err and "full" in err and "Traceback" not in err
    assert main(["--db", str(db), "export", str(tiny_disk / "out.csv")]) == 2
    assert "full" in capsys.readouterr().err
    assert not list(tiny_disk.glob(".out.csv*"))  # no half-written export left behind
    filler.unlink()
    assert main(["--db", str(db), "library", "add", str(more)]) == 0  # the same command again
    with Library.open(db) as lib:
        assert lib.integrity_check() == "ok" and lib.count_files() == 440


def test_a_full_disk_is_a_message_and_nothing_is_half_written(tmp_path: Path) -> None:
    db = _library(tmp_path, 5)
    with Library.open(db) as lib:
        row = lib.list_files()[0]
        pages = lib.connection.execute("PRAGMA page_count").fetchone()[0]
        lib.connection.execute(f"PRAGMA max_page_count = {pages}")  # no room to grow
        with pytest.raises(DiskFullError, match="disk holding the library"):
            lib.set_user_caption(row.id, "words " * 20000, ["x"] * 50)
        assert lib.get_file(row.id) == row  # nothing half written
        lib.connection.execute("PRAGMA max_page_count = 1073741823")
        lib.set_user_caption(row.id, "fits now")
        assert lib.current_caption(row.id) is not None


def test_opening_never_drops_this_process_locks_on_the_library(tmp_path: Path) -> None:
    """Closing any descriptor of a file drops all of a process's POSIX locks on it, SQLite's
    too. If opening a library read its header through a descriptor of its own, another
    process closing its connection would take ours for gone and delete the WAL under them."""
    db = _library(tmp_path, 3)
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1]); c.execute('SELECT count(*) FROM files').fetchone()\n"
            "print('open', flush=True); sys.stdin.readline(); c.close()\n",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    with Library.open(db) as first:
        first.set_user_caption(first.list_files()[0].id, "kept in the WAL for now")
        assert other.stdout is not None and other.stdout.readline().strip() == "open"
        Library.open(db).close()  # a second connection of this process comes and goes
        assert other.stdin is not None
        other.stdin.write("\n")
        other.stdin.flush()
        other.wait(timeout=30)
        assert Path(str(db) + "-wal").exists() and Path(str(db) + "-shm").exists()
        with Library.open(db) as again:  # a fresh connection still reads everything
            assert again.search("kept") and again.integrity_check() == "ok"
        assert first.search("kept")
