"""Moved files keep their captions, and a caption never lands on a different sound."""

from __future__ import annotations

import os
import random
import shutil
import signal
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from desktop.library import FileQuery, Library
from tests.conftest import write_tone

SCAN_WORKER = Path(__file__).with_name("scan_worker.py")
ALL = FileQuery(statuses=("ok", "error", "missing"))


def _sounds(folder: Path, n: int, prefix: str = "s") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_tone(folder / f"{prefix}{i:03d}.wav", seconds=0.05, freq=100.0 + 7 * i)
        for i in range(n)
    ]


def _write_user_captions(lib: Library) -> dict[str, str]:
    """Give every file a caption a person wrote; returns audio fingerprint -> caption."""
    out = {}
    for row in lib.list_files(limit=100_000):
        text = f"my words for {row.name}"
        lib.set_user_caption(row.id, text, ["mine"])
        audio_fp = lib.connection.execute(
            "SELECT audio_fp FROM files WHERE id = ?", (row.id,)
        ).fetchone()[0]
        out[audio_fp] = text
    return out


def _kept(lib: Library, expected: dict[str, str]) -> int:
    """How many of the expected user captions sit on present files of the same sound."""
    kept = 0
    for audio_fp, caption, source in lib.connection.execute(
        "SELECT audio_fp, caption, caption_source FROM files WHERE status = 'ok'"
    ):
        if source == "user" and expected.get(audio_fp) == caption:
            kept += 1
    return kept


def test_move_into_a_root_scanned_first_keeps_user_captions(tmp_path: Path) -> None:
    dest, src = tmp_path / "aaa dest", tmp_path / "zzz src"  # dest sorts (and scans) first
    dest.mkdir()
    _sounds(src, 10)
    with Library.open(tmp_path / "lib.db") as lib:
        lib.add_root(dest)
        lib.add_root(src)
        lib.scan()
        expected = _write_user_captions(lib)
        for path in src.iterdir():
            shutil.move(str(path), dest / path.name)
        report = lib.scan()
        assert (report.moved, report.missing, report.added) == (10, 0, 0)
        assert _kept(lib, expected) == 10
        assert lib.count_files(ALL) == 10  # no missing leftovers, no duplicates


def test_different_sound_of_same_size_and_same_ends_takes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "sounds"
    folder.mkdir()
    rate, pad = 16000, 64 * 1024  # 64 KiB of silence at each end (16-bit mono: 32k frames)
    silence = np.zeros(pad // 2, np.float32)
    t = np.arange(rate) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    noise = np.random.default_rng(1).uniform(-0.3, 0.3, rate).astype(np.float32)
    old = folder / "take 1.wav"
    sf.write(old, np.concatenate([silence, tone, silence]), rate, subtype="PCM_16")
    with Library.open(tmp_path / "lib.db") as lib:
        lib.add_root(folder)
        lib.scan()
        (row,) = lib.list_files()
        lib.set_user_caption(row.id, "a clean 440 Hz tone", [])
        old.unlink()
        new = folder / "take 2.wav"
        sf.write(new, np.concatenate([silence, noise, silence]), rate, subtype="PCM_16")
        assert new.stat().st_size == row.size
        report = lib.scan()
        assert (report.moved, report.missing, report.added) == (0, 1, 1)
        fresh = lib.get_file(lib.file_id_for_path(new) or -1)
        assert fresh is not None and fresh.caption is None  # nobody's words on another sound
        stale = lib.get_file(row.id)
        assert stale is not None and stale.status == "missing"
        assert stale.caption == "a clean 440 Hz tone"  # kept with the missing row


def _add_info_chunk(path: Path, comment: str) -> None:
    """Retag a WAV the way a tagger does: a LIST/INFO chunk appended, RIFF size fixed."""
    text = comment.encode() + b"\x00"
    if len(text) % 2:
        text += b"\x00"
    sub = b"ICMT" + struct.pack("<I", len(text)) + text
    chunk = b"LIST" + struct.pack("<I", 4 + len(sub)) + b"INFO" + sub
    data = bytearray(path.read_bytes())
    data += chunk
    data[4:8] = struct.pack("<I", len(data) - 8)
    path.write_bytes(bytes(data))


def test_retag_then_move_keeps_the_caption(tmp_path: Path) -> None:
    src, dest = tmp_path / "src", tmp_path / "dest"
    (path,) = _sounds(src, 1)
    dest.mkdir()
    with Library.open(tmp_path / "lib.db") as lib:
        lib.add_root(tmp_path)
        lib.scan()
        (row,) = lib.list_files()
        lib.set_user_caption(row.id, "my description", ["mine"])
        before = sf.read(path)[0]
        _add_info_chunk(path, "retagged by another program " * 3000)  # > 64 KiB of tags
        assert np.array_equal(sf.read(path)[0], before)  # same audio, other bytes
        shutil.move(str(path), dest / "renamed.wav")
        report = lib.scan()
        assert (report.moved, report.missing, report.added) == (1, 0, 0)
        moved = lib.get_file(row.id)
        assert moved is not None and moved.path == str(dest / "renamed.wav")
        assert moved.caption == "my description" and moved.caption_source == "user"


def test_deleted_duplicate_is_missing_not_merged(tmp_path: Path) -> None:
    folder = tmp_path / "sounds"
    (a,) = _sounds(folder, 1, "a")
    b = folder / "b copy.wav"
    shutil.copy(a, b)
    with Library.open(tmp_path / "lib.db") as lib:
        lib.add_root(folder)
        lib.scan()
        ids = {r.name: r.id for r in lib.list_files()}
        lib.set_user_caption(ids["a000.wav"], "words on a", [])
        lib.set_user_caption(ids["b copy.wav"], "words on b", [])
        a.unlink()
        report = lib.scan()
        assert (report.moved, report.missing) == (0, 1)
        left = lib.get_file(ids["b copy.wav"])
        assert left is not None and left.caption == "words on b"
        gone = lib.get_file(ids["a000.wav"])
        assert gone is not None and gone.status == "missing" and gone.caption == "words on a"


def test_deleted_copy_nobody_captioned_leaves_no_missing_row(tmp_path: Path) -> None:
    folder = tmp_path / "sounds"
    (a,) = _sounds(folder, 1, "a")
    shutil.copy(a, folder / "b copy.wav")
    with Library.open(tmp_path / "lib.db") as lib:
        lib.add_root(folder)
        lib.scan()
        (folder / "b copy.wav").unlink()
        report = lib.scan()
        assert (report.moved, report.missing) == (1, 0)  # merged: it held nothing to lose
        assert [r.name for r in lib.list_files(ALL)] == ["a000.wav"]


def test_rows_from_before_audio_fingerprints_need_the_same_name(tmp_path: Path) -> None:
    folder = tmp_path / "sounds"
    paths = _sounds(folder, 2)
    with Library.open(tmp_path / "lib.db") as lib:
        lib.add_root(tmp_path)
        lib.scan()
        for row in lib.list_files():
            lib.set_user_caption(row.id, f"words {row.name}", [])
        lib.connection.execute("UPDATE files SET audio_fp = NULL")  # as schema 4 left them
        (tmp_path / "elsewhere").mkdir()
        shutil.move(str(paths[0]), tmp_path / "elsewhere" / paths[0].name)  # same name
        shutil.move(str(paths[1]), tmp_path / "elsewhere" / "other name.wav")
        # Each new path gets its audio fingerprint; the old rows have only byte fingerprints.
        report = lib.scan()
        assert (report.moved, report.missing, report.added) == (1, 1, 1)
        kept = lib.get_file(lib.file_id_for_path(tmp_path / "elsewhere" / paths[0].name) or -1)
        assert kept is not None and kept.caption == f"words {paths[0].name}"


def test_cancelled_scan_mid_move_then_full_scan_keeps_everything(tmp_path: Path) -> None:
    src = tmp_path / "zz old"
    _sounds(src, 60)
    with Library.open(tmp_path / "lib.db") as lib:
        lib.add_root(tmp_path)
        lib.scan()
        expected = _write_user_captions(lib)
        src.rename(tmp_path / "aa new")  # the new paths are walked first
        calls = iter(range(10_000))
        report = lib.scan(cancel=lambda: next(calls) >= 45)
        assert report.cancelled and report.added > 0  # new rows were committed
        lib.scan()
        assert _kept(lib, expected) == 60
        assert lib.count_files(ALL) == 60


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_9_at_random_points_of_scans_with_moves_keeps_every_user_caption(
    tmp_path: Path,
) -> None:
    n, rounds = 120, 5
    rng = random.Random(11)
    folders = [tmp_path / name for name in ("a", "m", "z")]
    _sounds(folders[2], n)
    for folder in folders[:2]:
        folder.mkdir(exist_ok=True)
    db = tmp_path / "lib.db"
    with Library.open(db) as lib:
        lib.add_root(tmp_path)
        lib.scan()
        expected = _write_user_captions(lib)
    killed = 0
    for _ in range(rounds):
        # Move a random half of the files to another folder, then scan and pull the plug.
        files = sorted(p for folder in folders for p in folder.glob("*.wav"))
        for path in rng.sample(files, n // 2):
            target = rng.choice([f for f in folders if f != path.parent])
            shutil.move(str(path), target / path.name)
        proc = subprocess.Popen(
            [sys.executable, str(SCAN_WORKER), str(db), "0.004"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        kill_at = rng.randint(1, n - 1)
        for line in proc.stdout:
            if line.startswith("seen") and int(line.split()[1]) >= kill_at:
                os.kill(proc.pid, signal.SIGKILL)
                killed += 1
                break
        proc.wait(timeout=60)
    assert killed == rounds
    with Library.open(db) as lib:
        lib.scan()
        assert lib.integrity_check() == "ok"
        assert _kept(lib, expected) == n  # every caption a person wrote, on its own sound
        assert lib.count_files(ALL) == n  # nothing duplicated, nothing left missing
