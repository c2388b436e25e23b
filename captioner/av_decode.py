"""Fallback decoder for every format FFmpeg reads, through PyAV (its wheel bundles FFmpeg).

soundfile stays the first reader (exact frame counts and seeking); this module covers what
libsndfile cannot open: M4A/MP4 (AAC, ALAC), ADTS ``.aac``, CAF-ALAC, WavPack, WMA, AC3, MP2,
Monkey's Audio, TTA and the rest.

Positions are in frames of the decoded stream, frame 0 being the first decoded sample (after
the decoder drops encoder delay, as FFmpeg does for MP3, AAC-in-MP4 and Opus).

Seek accuracy: FFmpeg seeks to a keyframe at or before the target; :meth:`AvSoundFile.read`
then decodes forward and drops samples before the target, so a read starting at frame ``n``
returns frame ``n`` exactly wherever the container has timestamps (MP4, Ogg, Matroska, CAF,
WavPack, ASF, FLAC). For raw streams whose timestamps after a seek are estimates (ADTS AAC,
MP3, MP2, AC3, DTS) reads decode from the start instead, so they are exact too but cost time
proportional to the position. Reads in ascending order (what the window reader does) continue
decoding without seeking when the next span is close ahead.

Frame counts come from the container's duration and are estimates (``frames_exact`` False):
an encoder's padding or a missing duration can make the real count differ by up to a few
thousand frames. :meth:`AvSoundFile.count_frames` decodes everything for an exact count.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from captioner.audio import open_regular
from captioner.errors import AudioDecodeError

__all__ = ["AvProbe", "AvSoundFile", "open_av", "probe_av"]

log = logging.getLogger(__name__)

#: Containers whose timestamps after a seek are estimates: read them sequentially.
_RAW_FORMATS = frozenset({"aac", "mp3", "mp2", "ac3", "eac3", "dts", "truehd", "adts", "loas"})
#: A read this close ahead of the decoder's position continues decoding instead of seeking.
_FORWARD_FRAMES_S = 1.0
_MAX_CHANNELS = 1024
_MAX_RATE = 1 << 22


@dataclass(frozen=True)
class AvProbe:
    """What a scan records about a file FFmpeg reads.

    Attributes:
        duration_s: Length in seconds (from the container; an estimate).
        sample_rate: Hz.
        channels: Channel count.
        frames: Estimated frames (``duration_s * sample_rate``), or ``None`` when unknown.
        frames_exact: Always ``False`` here: PyAV counts are container estimates.
        codec: FFmpeg's short codec name (``"aac"``, ``"alac"``, ``"wavpack"``, ``"wmav2"``).
        codec_long: FFmpeg's long codec name.
        container: FFmpeg's demuxer name (``"mov,mp4,m4a,3gp,3g2,mj2"``, ``"caf"``, ``"wv"``).
        container_long: FFmpeg's long demuxer name.
        bit_depth: Bits per sample for lossless codecs that say so, else ``None``.
        bit_rate: Bits per second when known, else ``None``.
    """

    duration_s: float | None
    sample_rate: int
    channels: int
    frames: int | None
    frames_exact: bool
    codec: str
    codec_long: str
    container: str
    container_long: str
    bit_depth: int | None = None
    bit_rate: int | None = None


def _av() -> Any:
    try:
        import av
    except ImportError:  # pragma: no cover - av is a dependency
        raise AudioDecodeError(
            "PyAV is not installed, so only formats libsndfile reads can be opened "
            "(install the 'av' package)"
        ) from None
    av.logging.set_level(av.logging.PANIC)  # FFmpeg's own warnings go to stderr otherwise
    return av


def _errors(av: Any) -> tuple[type[BaseException], ...]:
    return (av.FFmpegError, OSError, ValueError, IndexError, RuntimeError, EOFError, MemoryError)


def _to_float32(frame: Any) -> np.ndarray:
    """A decoded frame -> float32 ``(samples, channels)``, scaled like libsndfile does
    (integer PCM divided by 2**(bits-1)), so lossless decodes match soundfile bit for bit."""
    arr = frame.to_ndarray()
    fmt = frame.format.name
    channels = len(frame.layout.channels) if frame.layout else 1
    if frame.format.is_planar:
        data = arr.T  # (channels, samples) -> (samples, channels)
    else:
        data = arr.reshape(-1, channels)
    if fmt.startswith("u8"):
        out = (data.astype(np.float32) - 128.0) / 128.0
    elif fmt.startswith("s16"):
        out = data.astype(np.float32) / 32768.0
    elif fmt.startswith("s32"):
        out = (data.astype(np.float64) / 2147483648.0).astype(np.float32)
    elif fmt.startswith("s64"):
        out = (data.astype(np.float64) / 9223372036854775808.0).astype(np.float32)
    else:  # flt, fltp, dbl, dblp
        out = data.astype(np.float32, copy=False)
    return np.ascontiguousarray(out)


class AvSoundFile:
    """A sound file decoded by FFmpeg, with the part of ``soundfile.SoundFile``'s interface
    the engine's window reader uses (``frames``, ``samplerate``, ``channels``, ``read``).

    Not thread-safe: one owner. Use as a context manager or call :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Open ``path`` (regular files only) and decode its first frame.

        Raises:
            AudioDecodeError: Not a regular file, no audio stream, or not decodable.
        """
        self.name = os.path.basename(os.fspath(path))
        self._av = _av()
        self._file, _ = open_regular(path)
        try:
            self._container = self._av.open(self._file, mode="r")
        except _errors(self._av) as exc:
            self._file.close()
            raise AudioDecodeError(f"{self.name}: not a readable audio file ({exc})") from None
        try:
            streams = self._container.streams.audio
            if not streams:
                raise AudioDecodeError(f"{self.name}: no audio stream")
            self._stream = streams[0]
            ctx = self._stream.codec_context
            self.samplerate = int(ctx.sample_rate or 0)
            self.channels = int(ctx.channels or 0)
            if not 0 < self.samplerate <= _MAX_RATE or not 0 < self.channels <= _MAX_CHANNELS:
                raise AudioDecodeError(f"{self.name}: invalid sample rate or channel count")
            self.container_name = str(self._container.format.name)
            self.codec_name = str(ctx.name)
            tb = self._stream.time_base
            # Raw streams have estimated timestamps after a seek, and a time base coarser
            # than one sample (ASF's milliseconds) cannot place a frame exactly.
            self._sequential = self.container_name in _RAW_FORMATS or (
                tb is None or tb > Fraction(1, self.samplerate)
            )
            self._buffer = np.zeros((0, self.channels), np.float32)
            self._buffer_start = 0
            self._frames_iter: Any = None
            self._first_pts: int | None = None
            self._restart()
            self.frames = self._estimate_frames()
            self.frames_exact = False
        except AudioDecodeError:
            self.close()
            raise
        except _errors(self._av) as exc:
            self.close()
            raise AudioDecodeError(f"{self.name}: could not decode audio ({exc})") from None

    # -- positions ----------------------------------------------------------------------

    def _estimate_frames(self) -> int:
        stream = self._stream
        if stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
        elif self._container.duration is not None:
            seconds = self._container.duration / 1_000_000
        else:
            return 0
        return max(0, round(seconds * self.samplerate))

    def _pts_to_frame(self, pts: int | None) -> int | None:
        if pts is None or self._first_pts is None or self._stream.time_base is None:
            return None
        return round(Fraction(pts - self._first_pts) * self._stream.time_base * self.samplerate)

    def _restart(self) -> None:
        """Decode from the very start; frame 0 is the first decoded sample.

        The demuxer is reopened rather than seeked to 0: after a seek FFmpeg no longer drops
        the encoder delay (Opus pre-skip), so the first samples would differ from a fresh open.
        """
        if self._frames_iter is not None:
            self._container.close()
            self._file.seek(0)
            self._container = self._av.open(self._file, mode="r")
            self._stream = self._container.streams.audio[0]
        self._frames_iter = self._container.decode(self._stream)
        self._buffer = np.zeros((0, self.channels), np.float32)
        self._buffer_start = 0
        first = self._next_frame()
        if first is None:
            raise AudioDecodeError(f"{self.name}: no audio samples")
        pts, data = first
        if self._first_pts is None:
            self._first_pts = pts if pts is not None else 0
        self._buffer = data

    def _next_frame(self) -> tuple[int | None, np.ndarray] | None:
        try:
            return self._decode_next()
        except _errors(self._av) as exc:
            if self._first_pts is None:
                raise
            # A truncated or damaged tail: end the stream there, like soundfile does.
            log.info("%s: decoding stopped early (%s)", self.name, exc)
            self._frames_iter = iter(())
            return None

    def _decode_next(self) -> tuple[int | None, np.ndarray] | None:
        for frame in self._frames_iter:
            if frame.samples == 0:
                continue
            data = _to_float32(frame)
            if data.shape[1] != self.channels:
                # A stream whose layout changes mid-file: keep the first channels, pad the rest.
                fixed = np.zeros((data.shape[0], self.channels), np.float32)
                n = min(self.channels, data.shape[1])
                fixed[:, :n] = data[:, :n]
                data = fixed
            return frame.pts, data
        return None

    def _seek(self, start: int) -> None:
        """Position the decoder at or before ``start``."""
        if self._sequential or start <= 0:
            self._restart()
            return
        seconds = max(0.0, start / self.samplerate - 0.5)  # preroll for codecs that need it
        tb = self._stream.time_base
        target = int(seconds / tb) + (self._first_pts or 0) if tb else 0
        self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        self._frames_iter = self._container.decode(self._stream)
        got = self._next_frame()
        position = None if got is None else self._pts_to_frame(got[0])
        if got is None or position is None or position > start:
            self._restart()  # no timestamps, or landed past the target: decode from the start
            return
        self._buffer, self._buffer_start = got[1], position

    # -- reading ------------------------------------------------------------------------

    def read(self, start: int, frames: int) -> np.ndarray:
        """Decode ``frames`` frames from frame ``start`` -> float32 ``(n, channels)``.

        Fewer frames come back at the end of the stream (``n`` may be 0).

        Raises:
            AudioDecodeError: The stream cannot be decoded.
        """
        if frames <= 0:
            return np.zeros((0, self.channels), np.float32)
        start = max(0, int(start))
        try:
            buffered_end = self._buffer_start + self._buffer.shape[0]
            ahead = start - buffered_end
            if start < self._buffer_start or ahead > _FORWARD_FRAMES_S * self.samplerate:
                self._seek(start)
            parts: list[np.ndarray] = []
            need = frames
            pos = start
            while need > 0:
                end = self._buffer_start + self._buffer.shape[0]
                if self._buffer_start <= pos < end:
                    piece = self._buffer[pos - self._buffer_start : pos - self._buffer_start + need]
                    parts.append(piece)
                    pos += piece.shape[0]
                    need -= piece.shape[0]
                    continue
                got = self._next_frame()
                if got is None:
                    break
                self._buffer_start = end
                self._buffer = got[1]
        except _errors(self._av) as exc:
            raise AudioDecodeError(f"{self.name}: could not decode audio ({exc})") from None
        if not parts:
            return np.zeros((0, self.channels), np.float32)
        return np.concatenate(parts, axis=0)

    def count_frames(self) -> int:
        """Decode the whole stream and return the exact frame count (sets ``frames`` and
        ``frames_exact``). Costs a full decode.

        Raises:
            AudioDecodeError: The stream cannot be decoded.
        """
        try:
            self._restart()
            total = self._buffer.shape[0]
            while (got := self._next_frame()) is not None:
                total += got[1].shape[0]
                self._buffer_start += self._buffer.shape[0]
                self._buffer = got[1]
        except _errors(self._av) as exc:
            raise AudioDecodeError(f"{self.name}: could not decode audio ({exc})") from None
        self.frames, self.frames_exact = total, True
        return total

    def close(self) -> None:
        """Release the file."""
        container = getattr(self, "_container", None)
        if container is not None:
            try:
                container.close()
            except Exception:  # pragma: no cover - closing a broken demuxer
                log.debug("closing %s failed", self.name, exc_info=True)
        self._file.close()

    def __enter__(self) -> AvSoundFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_av(path: str | os.PathLike[str]) -> AvSoundFile:
    """Open a sound file with FFmpeg (see :class:`AvSoundFile`).

    Raises:
        AudioDecodeError: Not a regular file, not audio, or not decodable.
    """
    return AvSoundFile(path)


def probe_av(path: str | os.PathLike[str]) -> AvProbe:
    """Header facts for a scan; checks that the first frame decodes.

    Raises:
        AudioDecodeError: Not a regular file, not audio, or not decodable.
    """
    with AvSoundFile(path) as f:
        ctx = f._stream.codec_context
        frames = f.frames or None
        depth = int(getattr(ctx, "bits_per_raw_sample", 0) or 0) or None
        rate = int(ctx.bit_rate or 0) or int(f._container.bit_rate or 0) or None
        codec_long = str(getattr(ctx.codec, "long_name", "") or ctx.name)
        return AvProbe(
            duration_s=None if frames is None else frames / f.samplerate,
            sample_rate=f.samplerate,
            channels=f.channels,
            frames=frames,
            frames_exact=False,
            codec=f.codec_name,
            codec_long=codec_long,
            container=f.container_name,
            container_long=str(f._container.format.long_name),
            bit_depth=depth,
            bit_rate=rate,
        )
