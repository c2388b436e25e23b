"""Audio input: decode, mix to mono, resample, and cut into model windows.

Only the samples that end up in a model window are read and resampled, so a ten-minute
192 kHz 8-channel file costs a few windows of memory, not the whole file.
"""

from __future__ import annotations

import logging
import math
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from captioner.errors import AudioDecodeError
from captioner.types import AudioSource

log = logging.getLogger(__name__)

__all__ = ["AudioWindows", "load_windows", "open_sound_file", "plan_windows"]

# Frames read per block when mixing a segment down; bounds the temporary multi-channel buffer.
_BLOCK_FRAMES = 1 << 16


def open_sound_file(path: str | os.PathLike[str]) -> sf.SoundFile:
    """Open a sound file for reading, refusing anything that is not a regular file.

    The check is made on the opened descriptor (``fstat``), not on the path, so a file that
    was replaced by a FIFO, a device or a socket after it was scanned is refused instead of
    blocking the caller forever; the open itself is non-blocking for the same reason.

    Raises:
        AudioDecodeError: Not a regular file, cannot be opened, or not readable as audio.
    """
    name = os.path.basename(os.fspath(path))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(os.fspath(path), flags | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise AudioDecodeError(f"{name}: no such file") from None
    except OSError as exc:
        raise AudioDecodeError(f"{name}: cannot open file ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = "a folder" if stat.S_ISDIR(mode) else "a pipe, device or socket"
            raise AudioDecodeError(f"{name}: not a regular file ({kind}); not opened")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        # libsndfile closes a descriptor it was given when opening fails, so it gets a
        # duplicate it owns either way; the original is always closed here.
        try:
            handle = sf.SoundFile(os.dup(fd), closefd=True)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            message = getattr(exc, "error_string", None) or str(exc)
            raise AudioDecodeError(f"{name}: not a readable audio file ({message})") from None
    finally:
        os.close(fd)
    return handle


@dataclass
class AudioWindows:
    """Model-ready windows of one clip.

    Attributes:
        windows: float32 array ``(n_windows, window_samples)`` at the model rate, each window
            zero-padded on the right when the audio is shorter than the model window.
        policy: Provenance string: ``"pad"``, ``"single"``, ``"random-crop"``, ``"first"`` or
            ``"mean-of-<n>x<seconds>s"``.
        duration_s: Length of the whole decoded audio in seconds.
    """

    windows: np.ndarray
    policy: str
    duration_s: float


def plan_windows(
    total_frames: int,
    sample_rate: int,
    window_seconds: float,
    policy: str,
    max_windows: int,
    seed: int,
) -> tuple[list[tuple[int, int]], str]:
    """Choose which source frames become model windows.

    Args:
        total_frames: Frames in the source.
        sample_rate: Source sample rate.
        window_seconds: Model window length.
        policy: ``"mean"``, ``"random-crop"`` or ``"first"``.
        max_windows: Most windows for ``"mean"``.
        seed: Seed of the random crop.

    Returns:
        ``([(start, frames), ...], policy_string)`` in source frames.
    """
    win = max(1, round(window_seconds * sample_rate))
    if total_frames <= win:
        return [(0, total_frames)], "pad"
    if policy == "first":
        return [(0, win)], "first"
    if policy == "random-crop":
        # The paper's one seeded crop: the same file always gives the same crop.
        start = int(np.random.default_rng(seed).integers(0, total_frames - win + 1))
        return [(start, win)], "random-crop"
    count = min(max_windows, math.ceil(total_frames / win))
    if count == 1:
        return [(0, win)], "single"
    # Evenly spaced, first at the start and last flush with the end, so the whole file is sampled.
    starts = np.linspace(0, total_frames - win, count).round().astype(np.int64)
    return [(int(s), win) for s in starts], f"mean-of-{count}x{window_seconds:g}s"


def load_windows(
    source: AudioSource,
    *,
    target_rate: int,
    window_seconds: float,
    policy: str = "mean",
    max_windows: int = 8,
    seed: int = 4182,
) -> AudioWindows:
    """Decode ``source`` into model windows at ``target_rate``.

    Args:
        source: A path, or ``(samples, sample_rate)`` with samples ``(n,)`` or ``(n, channels)``.
        target_rate: The audio model's sample rate.
        window_seconds: The audio model's window.
        policy: Window policy for long audio (see :func:`plan_windows`).
        max_windows: Most windows for the ``mean`` policy.
        seed: Seed of the random crop policy.

    Raises:
        AudioDecodeError: Unreadable, empty, non-finite or otherwise unusable audio.
    """
    if isinstance(source, tuple):
        reader: _Reader = _ArrayReader(*source)
    else:
        reader = _FileReader(Path(os.fspath(source)))
    try:
        if reader.frames <= 0:
            raise AudioDecodeError(f"{reader.name}: no audio samples")
        spans, policy_name = plan_windows(
            reader.frames, reader.rate, window_seconds, policy, max_windows, seed
        )
        win_out = max(1, round(window_seconds * target_rate))
        out = np.zeros((len(spans), win_out), dtype=np.float32)
        filled = 0
        for start, frames in spans:
            mono = reader.read_mono(start, frames)
            if mono.size == 0:
                # A truncated file can promise frames it does not hold; skip windows past the
                # real end instead of failing the whole clip.
                continue
            if not np.isfinite(mono).all():
                raise AudioDecodeError(f"{reader.name}: audio contains NaN or infinite samples")
            if reader.rate != target_rate:
                mono = soxr.resample(mono, reader.rate, target_rate).astype(np.float32, copy=False)
            n = min(win_out, mono.shape[0])
            out[filled, :n] = mono[:n]
            filled += 1
        if filled == 0:
            raise AudioDecodeError(f"{reader.name}: no audio samples")
        return AudioWindows(out[:filled], policy_name, reader.frames / reader.rate)
    finally:
        reader.close()


class _Reader:
    name: str
    frames: int
    rate: int

    def read_mono(self, start: int, frames: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release the source."""


class _ArrayReader(_Reader):
    def __init__(self, samples: np.ndarray, rate: int) -> None:
        self.name = "audio array"
        arr = np.asarray(samples)
        if arr.ndim not in (1, 2) or not np.issubdtype(arr.dtype, np.number):
            raise AudioDecodeError(
                "audio array must be numeric with shape (n,) or (n, channels), "
                f"got {arr.dtype} {arr.shape}"
            )
        if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
            raise AudioDecodeError(f"sample rate must be a positive integer, got {rate!r}")
        self._data = arr
        self.frames = int(arr.shape[0]) if arr.ndim == 1 or arr.shape[1] > 0 else 0
        self.rate = int(rate)

    def read_mono(self, start: int, frames: int) -> np.ndarray:
        seg = self._data[start : start + frames]
        # Integer PCM (e.g. int16 from a recorder) is scaled to [-1, 1] like soundfile does.
        scale = float(-np.iinfo(seg.dtype).min) if np.issubdtype(seg.dtype, np.integer) else 1.0
        if seg.ndim == 2:
            seg = seg.mean(axis=1, dtype=np.float64)
        out = np.asarray(seg, dtype=np.float32)
        return out / np.float32(scale) if scale != 1.0 else out


class _FileReader(_Reader):
    def __init__(self, path: Path) -> None:
        self.name = path.name
        self._file = open_sound_file(path)
        self.frames = int(self._file.frames)
        self.rate = int(self._file.samplerate)
        self._channels = int(self._file.channels)
        if self.rate <= 0 or self._channels <= 0:
            self._file.close()
            raise AudioDecodeError(f"{path.name}: invalid sample rate or channel count")

    def read_mono(self, start: int, frames: int) -> np.ndarray:
        out = np.empty(frames, dtype=np.float32)
        got = 0
        try:
            self._file.seek(start)
            while got < frames:
                block = self._file.read(
                    min(_BLOCK_FRAMES, frames - got), dtype="float32", always_2d=True
                )
                if block.shape[0] == 0:
                    break  # truncated file: the header promised more than the data holds
                n = block.shape[0]
                out[got : got + n] = block[:, 0] if self._channels == 1 else block.mean(axis=1)
                got += n
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioDecodeError(f"{self.name}: could not decode audio ({exc})") from None
        if got < frames:
            log.info("%s: read %d of %d frames (truncated file?)", self.name, got, frames)
        return out[:got]

    def close(self) -> None:
        self._file.close()
