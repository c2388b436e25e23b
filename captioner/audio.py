"""Audio input: decode, mix to mono, resample, and cut into model windows.

Only the samples that end up in a model window are read, and they are mixed down and resampled
in blocks of :data:`_BLOCK_FRAMES` frames, so memory is bounded by the model's windows, not by
the file's length or the sample rate its header claims (a ten-minute 192 kHz 8-channel file, or
a header claiming 1.5 MHz, costs a few windows at the model rate). Rates above
:data:`MAX_SAMPLE_RATE` are refused.
"""

from __future__ import annotations

import logging
import math
import os
import random
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from captioner.errors import AudioDecodeError
from captioner.types import AudioSource

log = logging.getLogger(__name__)

__all__ = [
    "MAX_SAMPLE_RATE",
    "AudioWindows",
    "ReleasedCrops",
    "load_windows",
    "model_rate_length",
    "open_sound_file",
    "plan_windows",
    "source_length",
]

# Frames read per block when mixing a segment down and resampling it; bounds the temporary
# multi-channel buffer and the resampler's input whatever the file's rate.
_BLOCK_FRAMES = 1 << 16

#: Highest sample rate read: twice 768 kHz, the highest rate audio converters record (DXD-class
#: and ultrasonic recorders at 1 MHz fit). A header claiming more is damaged or hostile.
MAX_SAMPLE_RATE = 1_536_000

# Source frames of context resampled on each side of a released-code crop, so the resampler's
# start-up transient falls outside the crop (soxr's HQ filter is far shorter than 50 ms).
_CROP_MARGIN_SECONDS = 0.05


def open_regular(path: str | os.PathLike[str]) -> tuple[BinaryIO, os.stat_result]:
    """Open a file for reading in binary, refusing anything that is not a regular file.

    The check is made on the opened descriptor (``fstat``), not on the path, so a file that
    was replaced by a FIFO, a device or a socket after it was scanned is refused instead of
    blocking the caller forever; the open itself is non-blocking for the same reason. Every
    reader of sound files (soundfile, PyAV, the metadata readers) opens through here.

    Returns:
        The open file (blocking again) and its ``stat`` result.

    Raises:
        AudioDecodeError: Missing, cannot be opened, or not a regular file.
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
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a pipe, device or socket"
            raise AudioDecodeError(f"{name}: not a regular file ({kind}); not opened")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st
    except BaseException:
        os.close(fd)
        raise


def open_sound_file(path: str | os.PathLike[str]) -> sf.SoundFile:
    """Open a sound file with soundfile, through :func:`open_regular`.

    Raises:
        AudioDecodeError: Not a regular file, cannot be opened, or not readable as audio.
    """
    name = os.path.basename(os.fspath(path))
    handle, _ = open_regular(path)
    with handle:
        # libsndfile closes a descriptor it was given when opening fails, so it gets a
        # duplicate it owns either way; the original is always closed here.
        try:
            return sf.SoundFile(os.dup(handle.fileno()), closefd=True)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            message = getattr(exc, "error_string", None) or str(exc)
            raise AudioDecodeError(f"{name}: not a readable audio file ({message})") from None


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


def model_rate_length(frames: int, rate: int, target_rate: int) -> int:
    """Samples a whole file of ``frames`` at ``rate`` has once resampled to ``target_rate``.

    ``ceil(frames * target_rate / rate)``: the length librosa's resampler fixes its output to,
    which the released code's crop offsets are drawn against.
    """
    return -(-frames * target_rate // rate)


class ReleasedCrops:
    """The released ZerAuCap code's random crops: one seeded stream, drawn in captioning order.

    The released code seeds Python's ``random`` once (``random.seed(4182)``) and, for each clip
    longer than the model window, takes ``random.randint(0, n - window)`` at the model rate
    (after resampling the whole clip), in dataset order; shorter clips draw nothing.

    Args:
        seed: The stream's seed (4182 in the released code).
    """

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self.draws = 0

    def draw(self, model_samples: int, window: int) -> int | None:
        """Return the crop start for a clip of ``model_samples`` model-rate samples.

        Returns:
            The first sample of the crop, or None for a clip that fits the window (no draw).
        """
        if model_samples <= window:
            return None
        self.draws += 1
        return self._rng.randint(0, model_samples - window)


def source_length(source: AudioSource) -> tuple[int, int]:
    """Return ``(frames, sample_rate)`` of a path (from its header) or a ``(samples, rate)`` pair.

    Raises:
        AudioDecodeError: The file cannot be opened as audio, or its rate is unusable.
    """
    reader: _Reader = (
        _ArrayReader(*source) if isinstance(source, tuple) else _FileReader(Path(source))
    )
    try:
        return reader.frames, reader.rate
    finally:
        reader.close()


def load_windows(
    source: AudioSource,
    *,
    target_rate: int,
    window_seconds: float,
    policy: str = "mean",
    max_windows: int = 8,
    seed: int = 4182,
    crop_start: int | None = None,
) -> AudioWindows:
    """Decode ``source`` into model windows at ``target_rate``.

    Args:
        source: A path, or ``(samples, sample_rate)`` with samples ``(n,)`` or ``(n, channels)``.
        target_rate: The audio model's sample rate.
        window_seconds: The audio model's window.
        policy: Window policy for long audio (see :func:`plan_windows`; ``"released-crop"``
            takes its crop from ``crop_start``).
        max_windows: Most windows for the ``mean`` policy.
        seed: Seed of the random crop policy.
        crop_start: For ``"released-crop"``: the crop's first sample at the model rate, from
            :meth:`ReleasedCrops.draw` (None for a clip that fits one window).

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
        win_out = max(1, round(window_seconds * target_rate))
        if policy == "released-crop":
            window = _released_window(reader, target_rate, win_out, crop_start)
            name = "pad" if crop_start is None else "released-crop"
            return AudioWindows(window[None, :], name, reader.frames / reader.rate)
        spans, policy_name = plan_windows(
            reader.frames, reader.rate, window_seconds, policy, max_windows, seed
        )
        out = np.zeros((len(spans), win_out), dtype=np.float32)
        filled = 0
        for start, frames in spans:
            # A truncated file can promise frames it does not hold; windows past the real end
            # are skipped instead of failing the whole clip.
            if _resample_into(reader, start, frames, target_rate, out[filled]) > 0:
                filled += 1
        if filled == 0:
            raise AudioDecodeError(f"{reader.name}: no audio samples")
        return AudioWindows(out[:filled], policy_name, reader.frames / reader.rate)
    finally:
        reader.close()


def _resample_into(
    reader: _Reader,
    start: int,
    frames: int,
    target_rate: int,
    out: np.ndarray,
    *,
    skip: int = 0,
    flush: bool = True,
) -> int:
    """Read ``frames`` source frames from ``start``, mixed down, into ``out`` at ``target_rate``.

    Reading, mixing and resampling go block by block (soxr's stream gives the same samples as
    its one-shot call), so memory never holds more than a block of the source. The first
    ``skip`` output samples are dropped; at most ``out.size`` are kept.

    Returns:
        Source frames actually read (0 when ``start`` is past the real end of the data).
    """
    stream = None
    if reader.rate != target_rate:
        stream = soxr.ResampleStream(reader.rate, target_rate, 1, dtype="float32")
    got = 0
    written = 0

    def put(samples: np.ndarray) -> None:
        nonlocal skip, written
        if skip:
            cut = min(skip, samples.shape[0])
            samples, skip = samples[cut:], skip - cut
        n = min(out.size - written, samples.shape[0])
        out[written : written + n] = samples[:n]
        written += n

    for block in reader.iter_mono(start, frames):
        if not np.isfinite(block).all():
            raise AudioDecodeError(f"{reader.name}: audio contains NaN or infinite samples")
        got += block.shape[0]
        put(block if stream is None else stream.resample_chunk(block))
    if stream is not None and got and (flush or written < out.size):
        put(stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    return got


def _released_window(
    reader: _Reader, target_rate: int, win_out: int, crop_start: int | None
) -> np.ndarray:
    """The released code's model input: the whole clip resampled, then padded or cropped.

    Only the crop and a short margin on each side are resampled, from a source frame where the
    source and model sample grids meet, so the samples equal those of resampling the whole
    file (to float rounding) while memory stays one window.
    """
    out = np.zeros(win_out, dtype=np.float32)
    total = model_rate_length(reader.frames, reader.rate, target_rate)
    if crop_start is None or total <= win_out:
        if _resample_into(reader, 0, reader.frames, target_rate, out) == 0:
            raise AudioDecodeError(f"{reader.name}: no audio samples")
        return out
    if not 0 <= crop_start <= total - win_out:
        raise ValueError(f"crop start {crop_start} outside 0..{total - win_out}")
    g = math.gcd(reader.rate, target_rate)
    step_src, step_out = reader.rate // g, target_rate // g
    margin = math.ceil(_CROP_MARGIN_SECONDS * reader.rate)
    first_src = crop_start * reader.rate // target_rate
    aligned = max(0, (first_src - margin) // step_src) * step_src
    offset = crop_start - aligned // step_src * step_out
    end_src = min(reader.frames, -(-(crop_start + win_out) * reader.rate // target_rate) + margin)
    flush = end_src >= reader.frames  # only the file's true end flushes the resampler
    if (
        _resample_into(
            reader, aligned, end_src - aligned, target_rate, out, skip=offset, flush=flush
        )
        == 0
    ):
        raise AudioDecodeError(f"{reader.name}: no audio samples")
    return out


def _check_rate(name: str, rate: int) -> None:
    if rate > MAX_SAMPLE_RATE:
        raise AudioDecodeError(
            f"{name}: its header claims a sample rate of {rate:,} Hz, above the "
            f"{MAX_SAMPLE_RATE:,} Hz Earmark reads; the file is probably damaged (re-export it "
            "at a normal rate)"
        )


class _Reader:
    name: str
    frames: int
    rate: int

    def iter_mono(self, start: int, frames: int) -> Iterator[np.ndarray]:  # pragma: no cover
        """Yield float32 mono blocks of at most ``_BLOCK_FRAMES`` frames."""
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
        _check_rate(self.name, int(rate))
        self._data = arr
        self.frames = int(arr.shape[0]) if arr.ndim == 1 or arr.shape[1] > 0 else 0
        self.rate = int(rate)

    def iter_mono(self, start: int, frames: int) -> Iterator[np.ndarray]:
        end = min(start + frames, self.frames)
        # Integer PCM (e.g. int16 from a recorder) is scaled to [-1, 1] like soundfile does.
        dtype = self._data.dtype
        scale = float(-np.iinfo(dtype).min) if np.issubdtype(dtype, np.integer) else 1.0
        for pos in range(start, end, _BLOCK_FRAMES):
            seg = self._data[pos : min(end, pos + _BLOCK_FRAMES)]
            if seg.ndim == 2:
                seg = seg.mean(axis=1, dtype=np.float64)
            out = np.asarray(seg, dtype=np.float32)
            yield out / np.float32(scale) if scale != 1.0 else out


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
        try:
            _check_rate(self.name, self.rate)
        except AudioDecodeError:
            self._file.close()
            raise

    def iter_mono(self, start: int, frames: int) -> Iterator[np.ndarray]:
        got = 0
        try:
            self._file.seek(start)
            while got < frames:
                block = self._file.read(
                    min(_BLOCK_FRAMES, frames - got), dtype="float32", always_2d=True
                )
                if block.shape[0] == 0:
                    break  # truncated file: the header promised more than the data holds
                got += block.shape[0]
                yield (
                    np.ascontiguousarray(block[:, 0])
                    if self._channels == 1
                    else block.mean(axis=1, dtype=np.float32)
                )
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioDecodeError(f"{self.name}: could not decode audio ({exc})") from None
        if got < frames:
            log.info("%s: read %d of %d frames (truncated file?)", self.name, got, frames)

    def close(self) -> None:
        self._file.close()
