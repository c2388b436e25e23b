"""desktop.app: a populated screenshot, and a broken database refused without damage."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage

from desktop import app


def test_screenshot_of_a_populated_library_shows_the_search(
    qtbot, library_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "shot.png"
    assert app.main(["--db", str(library_db), "--search", "snare", "--screenshot", str(out)]) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == app.SCREENSHOT_SIZE


def test_unreadable_database_is_refused_and_left_alone(tmp_path: Path, capsys) -> None:
    db = tmp_path / "not-a-library.db"
    junk = b"this is not an SQLite database, it is someone's notes" * 20
    db.write_bytes(junk)
    out = tmp_path / "shot.png"
    assert app.main(["--db", str(db), "--screenshot", str(out)]) == 1
    assert "Cannot open the library" in capsys.readouterr().err
    assert db.read_bytes() == junk
    assert not out.exists()
