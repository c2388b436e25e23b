"""Opening, WAL mode, versioned migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop.library import FileQuery, Library
from desktop.library.errors import NewerLibraryError
from desktop.library.schema import MIGRATIONS, SCHEMA_VERSION, _split


def test_open_creates_wal_database_and_is_reopenable(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "folder" / "lib.db"
    with Library.open(db) as lib:
        assert lib.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert lib.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert lib.integrity_check() == "ok"
    with Library.open(db) as again:
        assert again.count_files() == 0
    lib.close()  # closing twice is harmless


def test_upgrade_from_v1_keeps_data(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db, isolation_level=None)
    for statement in _split(MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO roots(id, path, added_at) VALUES (1, '/r', 0)")
    conn.execute(
        "INSERT INTO files(root_id, path, folder, name, ext, status, duration_s) "
        "VALUES (1, '/r/a.wav', '/r', 'a.wav', 'wav', 'ok', 2.0)"
    )
    conn.close()
    with Library.open(db) as lib:
        assert lib.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        names = {
            row[0]
            for row in lib.connection.execute("SELECT name FROM sqlite_master WHERE type='index'")
        }
        assert "files_duration_visible" in names and "files_duration" not in names
        assert "files_tree" in names and "files_root_folder" not in names
        assert [r.name for r in lib.list_files(FileQuery(sort="duration_s"))] == ["a.wav"]
        assert [h.file.name for h in lib.search("a")] == ["a.wav"]


def test_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "future.db"
    Library.open(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(NewerLibraryError, match="newer Earmark"):
        Library.open(db)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
    conn.close()
