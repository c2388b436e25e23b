"""Scanning: good and broken files, odd names, incremental rescans, moves, missing files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from desktop.library import FileQuery, Library, ScanProgress, scanning
from tests.conftest import write_tone
from tests.library.fakes import GOOD


def test_scan_records_good_and_broken_files(lib: Library, sound_tree: Path) -> None:
    root_id = lib.add_root(sound_tree)
    seen: list[ScanProgress] = []
    report = lib.scan(progress=seen.append)

    rows = {Path(r.path).relative_to(sound_tree).as_posix(): r for r in lib.list_files(limit=100)}
    ok = {name for name, r in rows.items() if r.status == "ok"}
    errors = {name: r.error for name, r in rows.items() if r.status == "error"}
    assert ok == set(GOOD) | {"truncated.wav"}
    assert set(errors) == {
        "empty.wav",
        "header only.wav",
        "not audio.wav",
        "self loop.wav",
        "dangling.wav",
    }
    assert "empty" in errors["empty.wav"]
    assert "not readable as audio" in errors["not audio.wav"]
    assert errors["self loop.wav"] == "symlink loop"
    assert "no audio data" in errors["header only.wav"]
    assert report.seen == len(rows) and report.added == len(rows)
    assert report.errors == 5
    assert any("symlink loop" in p.message for p in report.problems)  # Foley/loop back
    assert len(seen) == report.seen and seen[-1].seen == report.seen

    dog = rows["dog bark.wav"]
    assert dog.format == "WAV" and dog.subtype == "PCM_16" and dog.bit_depth == 16
    assert dog.sample_rate == 16000 and dog.channels == 1
    assert dog.duration_s == pytest.approx(0.25)
    assert rows["stereo wind.aiff"].channels == 2
    assert rows["truncated.wav"].duration_s is not None and rows["truncated.wav"].duration_s < 0.25
    assert rows["Foley/line\nbreak thunder.wav"].folder == str(sound_tree / "Foley")

    (info,) = lib.roots()
    assert (info.id, info.files, info.errors, info.captioned) == (root_id, len(rows), 5, 0)
    folders = {f.folder: f.files for f in lib.folders(root_id)}
    assert folders == {str(sound_tree): len(rows) - 3, str(sound_tree / "Foley"): 3}
    assert {r.path for r in lib.broken_files()} == {str(sound_tree / n) for n in errors}


def test_rescan_is_incremental(lib: Library, sound_tree: Path) -> None:
    lib.add_root(sound_tree)
    first = lib.scan()
    again = lib.scan()
    assert again.added == 0 and again.missing == 0
    assert again.unchanged == first.seen - first.errors  # error files are re-checked
    write_tone(sound_tree / "dog bark.wav", seconds=2.0)
    os.utime(sound_tree / "dog bark.wav", (1, 1))
    third = lib.scan()
    assert third.updated == 1 + first.errors
    dog = lib.get_file(lib.file_id_for_path(sound_tree / "dog bark.wav") or -1)
    assert dog is not None and dog.duration_s == pytest.approx(2.0)


def test_moved_file_keeps_caption_and_vanished_is_missing(lib: Library, sound_tree: Path) -> None:
    lib.add_root(sound_tree)
    lib.scan()
    old_id = lib.file_id_for_path(sound_tree / "rain on roof.flac")
    assert old_id is not None
    lib.set_user_caption(old_id, "rain drumming on a tin roof", ["rain", "roof"])
    (sound_tree / "Weather").mkdir()
    shutil.move(str(sound_tree / "rain on roof.flac"), sound_tree / "Weather" / "rain moved.flac")
    (sound_tree / "dog bark.wav").unlink()

    report = lib.scan()
    assert report.moved == 1 and report.missing == 1 and report.added == 0
    moved = lib.get_file(old_id)
    assert moved is not None
    assert moved.path == str(sound_tree / "Weather" / "rain moved.flac")
    assert moved.status == "ok" and moved.caption == "rain drumming on a tin roof"
    assert lib.file_id_for_path(sound_tree / "rain on roof.flac") is None
    hits = lib.search("tin roof")
    assert [h.file.id for h in hits] == [old_id]

    gone = lib.list_files(FileQuery(statuses=("missing",)))
    assert [r.name for r in gone] == ["dog bark.wav"]
    assert lib.count_files() == report.seen  # missing files are hidden by default
    # It comes back: same row, ok again.
    write_tone(sound_tree / "dog bark.wav", seconds=0.25, freq=220.0)
    lib.scan()
    assert lib.list_files(FileQuery(statuses=("missing",))) == []


def test_move_across_roots_after_missing(lib: Library, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write_tone(a / "bell.wav", freq=880.0)
    lib.add_root(a)
    lib.scan()
    file_id = lib.file_id_for_path(a / "bell.wav")
    assert file_id is not None
    lib.set_user_caption(file_id, "a bell rings")
    shutil.move(str(a / "bell.wav"), b / "bell.wav")
    assert lib.scan().missing == 1
    lib.add_root(b)
    assert lib.scan().moved == 1
    row = lib.get_file(file_id)
    assert row is not None and row.path == str(b / "bell.wav") and row.caption == "a bell rings"


def test_unreadable_file_is_recorded(
    lib: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    write_tone(folder / "fine.wav")
    locked = write_tone(folder / "locked.wav")
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads anything: make the read fail the way EACCES does
        real = scanning.fingerprint

        def deny(path: str, size: int) -> str:
            if path.endswith("locked.wav"):
                raise PermissionError(13, "Permission denied")
            return real(path, size)

        monkeypatch.setattr(scanning, "fingerprint", deny)
    lib.add_root(folder)
    report = lib.scan()
    assert report.seen == 2 and report.errors == 1
    row = lib.get_file(lib.file_id_for_path(locked) or -1)
    assert row is not None and row.status == "error"
    assert row.error == "cannot read file: Permission denied"


def test_cancel_keeps_partial_work_and_marks_nothing_missing(lib: Library, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(12):
        write_tone(folder / f"t{i:02d}.wav", seconds=0.05, freq=300.0 + 10 * i)
    lib.add_root(folder)
    lib.scan()
    for i in range(6):
        (folder / f"t{i:02d}.wav").unlink()
    calls = iter(range(100))
    report = lib.scan(cancel=lambda: next(calls) >= 3)
    assert report.cancelled and report.seen == 3
    assert report.missing == 0 and lib.list_files(FileQuery(statuses=("missing",))) == []
    assert lib.scan().missing == 6


def test_add_paths_files_and_folders(lib: Library, sound_tree: Path, tmp_path: Path) -> None:
    (tmp_path / "loose").mkdir()
    single = write_tone(tmp_path / "loose" / "one.wav")
    ids = lib.add_paths([sound_tree / "Foley", single, tmp_path / "nothing.txt", single])
    rows = [r for r in (lib.get_file(i) for i in ids) if r]
    assert [r.name for r in rows[:3]] == [
        "door slam.wav",
        "line\nbreak thunder.wav",
        "ünïcödé bird 鳥.wav",
    ]
    assert rows[-1].name == "one.wav"
    # Foley/loop back links to the parent folder, which is outside this drop: followed once.
    assert all(r.path.startswith(str(sound_tree / "Foley")) for r in rows[:-1])
    assert any("loop back" in r.path for r in rows)
    assert {r.path for r in lib.roots()} == {str(sound_tree / "Foley"), str(tmp_path / "loose")}
    # Adding the parent absorbs the Foley root and keeps its file ids.
    parent = lib.add_root(sound_tree)
    lib.scan([parent])
    assert lib.file_id_for_path(sound_tree / "Foley" / "door slam.wav") == ids[0]
    assert {r.path for r in lib.roots()} == {str(sound_tree), str(tmp_path / "loose")}
    assert lib.add_root(sound_tree / "Foley") == parent
    with pytest.raises(NotADirectoryError):
        lib.add_root(tmp_path / "no such folder")


def test_remove_root_forgets_its_files(lib: Library, sound_tree: Path) -> None:
    root_id = lib.add_root(sound_tree)
    lib.scan()
    lib.enqueue("all")
    lib.remove_root(root_id)
    assert lib.count_files() == 0 and lib.roots() == [] and lib.queue_counts().queued == 0


def test_non_utf8_name_is_reported_not_fatal(lib: Library, tmp_path: Path) -> None:
    folder = tmp_path / "bytes"
    folder.mkdir()
    write_tone(folder / "ok.wav")
    try:
        with open(os.path.join(os.fsencode(folder), b"bad\xff.wav"), "wb") as handle:
            handle.write((folder / "ok.wav").read_bytes())
    except OSError:
        pytest.skip("file system refuses non-UTF-8 names")
    lib.add_root(folder)
    report = lib.scan()
    assert report.seen == 1
    assert any("UTF-8" in p.message for p in report.problems)
