"""Waveform overviews: computed off the GUI thread, cached on disk, painted by a small widget.

An overview is ``(buckets, 2)`` float32 of per-bucket (min, max) of the mono mix, so a ten-minute
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
import soundfile as sf
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

log = logging.getLogger(__name__)

__all__ = ["OVERVIEW_BUCKETS", "WaveformCache", "WaveformView", "compute_overview"]

OVERVIEW_BUCKETS = 800
# Frames read per block: bounds memory for long multi-channel files.
_BLOCK_FRAMES = 1 << 18


def compute_overview(path: str | os.PathLike[str], buckets: int = OVERVIEW_BUCKETS) -> np.ndarray:
    """Read ``path`` once and return per-bucket (min, max) of its mono mix.

    Args:
        path: Any file soundfile can read.
        buckets: Number of columns in the overview (fewer for very short files).

    Returns:
        float32 array ``(n, 2)`` with ``n <= buckets``; ``(0, 2)`` for an empty file.

    Raises:
        RuntimeError / sf.LibsndfileError / OSError: When the file cannot be read.
    """
    with sf.SoundFile(str(path)) as f:
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


class WaveformView(QWidget):
    """Paints an overview as a mirrored filled shape with a centre line and a playhead."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._overview: np.ndarray | None = None
        self._message = "No file selected"
        self._playhead: float | None = None
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_overview(self, overview: np.ndarray | None, message: str = "") -> None:
        """Show an overview, or a message (``"Loading…"``, an error) when it is ``None``."""
        self._overview = overview
        self._message = message
        self._playhead = None
        self.update()

    def overview(self) -> np.ndarray | None:
        """The overview on show, if any."""
        return self._overview

    def set_playhead(self, fraction: float | None) -> None:
        """Move the playhead to ``fraction`` of the file (``None`` hides it)."""
        self._playhead = fraction
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#15181d"))
        painter.drawRoundedRect(rect, 6, 6)
        mid = rect.center().y()
        painter.setPen(QPen(QColor("#2b313a"), 1))
        painter.drawLine(QPointF(rect.left() + 6, mid), QPointF(rect.right() - 6, mid))
        data = self._overview
        if data is None or len(data) == 0:
            painter.setPen(QColor("#7d8590"))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self._message or "No audio")
            painter.end()
            return
        inner = rect.adjusted(8, 8, -8, -8)
        half = inner.height() / 2
        n = len(data)
        xs = [inner.left() + inner.width() * (i + 0.5) / n for i in range(n)]
        path = QPainterPath()
        path.moveTo(xs[0], mid - float(data[0, 1]) * half)
        for x, value in zip(xs[1:], data[1:, 1]):
            path.lineTo(x, mid - float(value) * half)
        for x, value in zip(reversed(xs), reversed(data[:, 0])):
            path.lineTo(x, mid - float(value) * half)
        path.closeSubpath()
        gradient = QLinearGradient(0, inner.top(), 0, inner.bottom())
        gradient.setColorAt(0.0, QColor("#f2a541"))
        gradient.setColorAt(0.5, QColor("#e0713a"))
        gradient.setColorAt(1.0, QColor("#f2a541"))
        painter.setPen(QPen(QColor("#f6c177"), 0.8))
        painter.setBrush(gradient)
        painter.drawPath(path)
        if self._playhead is not None:
            x = inner.left() + inner.width() * min(max(self._playhead, 0.0), 1.0)
            painter.setPen(QPen(QColor("#e6edf3"), 1.5))
            painter.drawLine(QPointF(x, rect.top() + 4), QPointF(x, rect.bottom() - 4))
        painter.end()
