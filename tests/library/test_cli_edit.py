"""The command line does what the app does: describe, history, restore, similar, remove."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.library import Library, run_jobs
from tests.library.fakes import FakeCaptioner


@pytest.fixture
def db(sound_tree: Path, tmp_path: Path) -> str:
    path = str(tmp_path / "lib.db")
    assert main(["--db", path, "library", "add", str(sound_tree)]) == 0
    with Library.open(path) as lib:
        lib.enqueue("uncaptioned")
        run_jobs(lib, FakeCaptioner())
    return path


def test_describe_history_restore(
    db: str, sound_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dog = str(sound_tree / "dog bark.wav")
    capsys.readouterr()
    assert (
        main(
            [
                "--db",
                db,
                "library",
                "describe",
                dog,
                "a small dog, twice",
                "--keywords",
                "dog, bark",
            ]
        )
        == 0
    )
    assert "saved as caption" in capsys.readouterr().out
    assert main(["--db", db, "library", "history", dog, "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [h["source"] for h in history] == ["user", "model"] and history[0]["current"]
    assert history[0]["keywords"] == ["dog", "bark"]
    assert main(["--db", db, "library", "restore", dog, str(history[1]["id"])]) == 0
    with Library.open(db) as lib:
        row = lib.get_file(lib.file_id_for_path(dog) or -1)
        assert row is not None and row.caption_source == "model"
    assert main(["--db", db, "library", "restore", dog, "999999"]) == 2
    assert "not one of this file's" in capsys.readouterr().err


def test_similar_lists_scores(
    db: str, sound_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--db", db, "similar", str(sound_tree / "dog bark.wav"), "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and all(-1.0 <= h["score"] <= 1.0 for h in hits)
    assert str(sound_tree / "dog bark.wav") not in [h["path"] for h in hits]


def test_remove_says_what_is_lost_and_needs_yes_without_a_terminal(
    db: str, sound_tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dog = str(sound_tree / "dog bark.wav")
    main(["--db", db, "library", "describe", dog, "mine"])
    capsys.readouterr()
    assert main(["--db", db, "library", "remove", dog]) == 2  # not a terminal: refuses
    err = capsys.readouterr().err
    assert "1 of them written by you" in err and "--yes" in err
    assert main(["--db", db, "library", "remove", dog, "--yes"]) == 0
    assert Path(dog).exists()  # the file on disk stays
    assert main(["--db", db, "library", "remove", str(sound_tree), "--yes"]) == 0
    with Library.open(db) as lib:
        assert lib.roots() == [] and lib.count_files() == 0
