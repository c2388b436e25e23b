"""``earmark library write-tags``: captions go into the files, independent readers see them,
the audio never changes, and ``--undo`` gives the files back."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.library import Library, run_jobs
from tests.library.fakes import FakeCaptioner
from tests.metadata.conftest import decoded_md5, exiftool_text, make_sound


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", ["wav", "flac", "mp3", "m4a"])
def test_write_then_undo_through_the_cli(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "lib"
    path = make_sound(folder, kind, "door slam")
    db = str(tmp_path / "lib.db")
    assert main(["--db", db, "library", "add", str(folder)]) == 0
    with Library.open(db) as lib:
        (row,) = lib.list_files()
        lib.set_user_caption(row.id, "a heavy oak door slams shut", ["door", "slam", "oak"])
    before, audio = _digest(path), decoded_md5(path)
    capsys.readouterr()

    assert main(["--db", db, "library", "write-tags", "--dry-run"]) == 0
    assert "would change" in capsys.readouterr().out
    assert _digest(path) == before  # a dry run touches nothing

    assert main(["--db", db, "library", "write-tags"]) == 0
    assert "written" in capsys.readouterr().out
    assert decoded_md5(path) == audio  # the audio is the same samples
    report = exiftool_text(path)
    assert "a heavy oak door slams shut" in report and "oak" in report
    with Library.open(db) as lib:
        (again,) = lib.list_files()
        assert again.id == row.id and again.caption == "a heavy oak door slams shut"
        assert again.caption_source == "user"  # reading back its own words changes nothing
        assert lib.search("slams") and lib.file_metadata(row.id).description

    assert main(["--db", db, "library", "write-tags"]) == 0
    assert "already up to date" in capsys.readouterr().out  # the second write is a no-op

    assert main(["--db", db, "library", "write-tags", "--undo"]) == 0
    assert "undone" in capsys.readouterr().out
    assert decoded_md5(path) == audio
    if kind == "wav":
        assert _digest(path) == before  # byte for byte
    assert "a heavy oak door slams shut" not in exiftool_text(path)
    assert main(["--db", db, "library", "write-tags", "--undo"]) == 0
    assert "nothing to undo" in capsys.readouterr().out


def test_writing_a_model_caption_and_a_path_outside_the_library(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "lib"
    make_sound(folder, "wav", "rain")
    db = str(tmp_path / "lib.db")
    assert main(["--db", db, "library", "add", str(folder)]) == 0
    with Library.open(db) as lib:
        lib.enqueue("uncaptioned")
        run_jobs(lib, FakeCaptioner())
    capsys.readouterr()
    assert main(["--db", db, "library", "write-tags", str(tmp_path / "elsewhere.wav")]) == 2
    assert "not in the library" in capsys.readouterr().err
    assert main(["--db", db, "library", "write-tags", str(folder / "rain.wav")]) == 0
    assert "a rain." in exiftool_text(folder / "rain.wav")
