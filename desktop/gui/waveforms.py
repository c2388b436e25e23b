"""Waveform overviews: computed off the GUI thread and cached on disk (no widgets here).

The file is opened with :func:`captioner.audio.open_sound_file`, which refuses anything that
is not a regular file on the opened descriptor: a FIFO listed in the table must never block a
pool thread (and with it the app's exit). An overview is ``(buckets, 2)`` float32 of per-bucket (min, max) of the mono mix, so a ten-minute
file becomes a few kilobytes. Overviews are cached in ``<data dir>/waveforms`` keyed by path,
size and mtime (an edited file gets a fresh one) and in a small in-memory LRU.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from captioner.audio import open_sound_file

log = logging.getLogger(__name__)

__all__ = ["OVERVIEW_BUCKETS", "WaveformCache", "compute_overview"]

OVERVIEW_BUCKETS = 800
# Frames read per block: bounds memory for long multi-channel files.
_BLOCK_FRAMES = 1 << 18


def compute_overview(path: str | os.PathLike[str], buckets: int = OVERVIEW_BUCKETS) -> np.ndarray:
    """Read ``path`` once and return per-bucket (min, max) of its mono mix.

    Args:
        path: A regular file soundfile can read.
        buckets: Number of columns in the overview (fewer for very short files).

    Returns:
        float32 array ``(n, 2)`` with ``n <= buckets``; ``(0, 2)`` for an empty file.

    Raises:
        captioner.errors.AudioDecodeError: Not a regular file, or not readable as audio.
        RuntimeError / OSError: Reading failed part-way.
    """
    with open_sound_file(path) as f:
        frames = f.frames
        if frames <= 0:
            return np.zeros((0, 2), dtype=np.float32)
        per_bucket = max(1, math.ceil(frames / buckets))
        n = math.ceil(frames / per_bucket)
        out = np.zeros((n, 2), dtype=np.float32)
        # Read whole buckets per block so no bucket straddles two reads.
        block = max(per_bucket, (_BLOCK_FRAMES // per_bucket) * per_bucket)
        index = 0
        for chunk in f.blocks(blocksize=block, dtype="float32", always_2d=True):
            mono = chunk.mean(axis=1)
            whole = (len(mono) // per_bucket) * per_bucket
            if whole:
                grid = mono[:whole].reshape(-1, per_bucket)
                k = grid.shape[0]
                out[index : index + k, 0] = grid.min(axis=1)
                out[index : index + k, 1] = grid.max(axis=1)
                index += k
            if whole < len(mono):
                tail = mono[whole:]
                out[index] = (tail.min(), tail.max())
                index += 1
        out = out[:index]
    np.nan_to_num(out, copy=False)
    return np.clip(out, -1.0, 1.0)


class WaveformCache:
    """Overviews by file, in memory (LRU) and on disk; safe to call from pool threads."""

    def __init__(self, folder: Path, memory_items: int = 256) -> None:
        self.folder = folder
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memory_items = memory_items
        self._lock = threading.Lock()

    @staticmethod
    def key(path: str | os.PathLike[str]) -> str:
        """Cache key of a file: its path, size and mtime, hashed."""
        st = os.stat(path)
        raw = f"{os.fspath(path)}\0{st.st_size}\0{st.st_mtime_ns}".encode()
        return hashlib.sha1(raw).hexdigest()

    def peek(self, path: str | os.PathLike[str]) -> np.ndarray | None:
        """Return a cached overview from memory only (cheap enough for the GUI thread)."""
        try:
            key = self.key(path)
        except OSError:
            return None
        with self._lock:
            found = self._memory.get(key)
            if found is not None:
                self._memory.move_to_end(key)
            return found

    def get(self, path: str | os.PathLike[str]) -> np.ndarray:
        """Return the overview of ``path``, computing and storing it if needed (blocking I/O)."""
        key = self.key(path)
        with self._lock:
            found = self._memory.get(key)
        if found is not None:
            return found
        disk = self.folder / f"{key}.npy"
        overview: np.ndarray | None = None
        if disk.is_file():
            try:
                overview = np.load(disk, allow_pickle=False)
            except (OSError, ValueError):
                log.info("discarding unreadable waveform cache %s", disk)
        if overview is None:
            overview = compute_overview(path)
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                tmp = disk.with_name(disk.stem + f".{os.getpid()}.tmp.npy")
                np.save(tmp, overview, allow_pickle=False)
                os.replace(tmp, disk)  # atomic: a reader never sees half a file
            except OSError as exc:
                log.info("cannot cache waveform: %s", exc)
        with self._lock:
            self._memory[key] = overview
            while len(self._memory) > self._memory_items:
                self._memory.popitem(last=False)
        return overview
