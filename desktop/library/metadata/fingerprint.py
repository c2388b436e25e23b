"""Audio-payload identity: a retag-proof fingerprint for move detection, and a full-decode digest
that proves a write left the audio alone.

Both hash decoded samples (soundfile first, PyAV for what libsndfile cannot read), so they do
not change when tags, chunks or their order change, and a WAV and a FLAC of the same samples
agree.
"""

from __future__ import annotations

import hashlib
import logging
import os
import struct
from typing import Protocol

import numpy as np
import soundfile as sf

from captioner.audio import open_sound_file
from captioner.av_decode import open_av
from captioner.errors import AudioDecodeError

__all__ = [
    "FINGERPRINT_VERSION",
    "SoundFileDecoder",
    "audio_digest",
    "decoder_fingerprint",
    "fingerprint_spans",
    "open_decoder",
    "payload_fingerprint",
]

log = logging.getLogger(__name__)

#: Prefix of every fingerprint; bump it when the recipe changes so old values never match.
FINGERPRINT_VERSION = "p1"
#: Windows hashed per file, and frames per window: 8 x 2048 frames is ~0.4 s of a 44.1 kHz
#: file, spread over the whole length (the first and last window sit 1/16 of the length in from
#: each end, so files that only differ in their middle still differ in some window).
WINDOWS = 8
WINDOW_FRAMES = 2048
_BLOCK = 1 << 16


class _Decoder(Protocol):
    frames: int
    samplerate: int
    channels: int

    def read_span(self, start: int, frames: int) -> np.ndarray: ...

    def close(self) -> None: ...


class SoundFileDecoder:
    """A decoder over an open soundfile handle (exact seeks)."""

    def __init__(self, handle: sf.SoundFile) -> None:
        self._f = handle
        self.frames = int(handle.frames)
        self.samplerate = int(handle.samplerate)
        self.channels = int(handle.channels)
        self._pos = 0

    def read_span(self, start: int, frames: int) -> np.ndarray:
        try:
            if start != self._pos:  # a seek can cost a re-decode (MP3): only when needed
                self._f.seek(start)
            block = self._f.read(frames, dtype="float32", always_2d=True)
            self._pos = start + block.shape[0]
            return block
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioDecodeError(f"could not decode audio ({exc})") from None

    def close(self) -> None:
        self._f.close()


class _AvDecoder:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._f = open_av(path)
        self.frames = int(self._f.frames)
        self.samplerate = int(self._f.samplerate)
        self.channels = int(self._f.channels)

    def read_span(self, start: int, frames: int) -> np.ndarray:
        return self._f.read(start, frames)

    def close(self) -> None:
        self._f.close()


def open_decoder(path: str | os.PathLike[str]) -> _Decoder:
    """soundfile when libsndfile reads the file (exact), else PyAV.

    Raises:
        AudioDecodeError: Neither can decode it (or it is not a regular file).
    """
    try:
        return SoundFileDecoder(open_sound_file(path))
    except AudioDecodeError as first:
        if "not a regular file" in str(first) or "no such file" in str(first):
            raise
        try:
            return _AvDecoder(path)
        except AudioDecodeError:
            raise first from None


def fingerprint_spans(frames: int) -> list[tuple[int, int]]:
    """The ``(start, frames)`` windows a fingerprint hashes for a stream of ``frames``."""
    if frames <= WINDOWS * WINDOW_FRAMES:
        return [(0, frames)]
    spans = []
    for k in range(WINDOWS):
        centre = (2 * k + 1) * frames // (2 * WINDOWS)
        spans.append((max(0, centre - WINDOW_FRAMES // 2), WINDOW_FRAMES))
    return spans


def payload_fingerprint(path: str | os.PathLike[str]) -> str | None:
    """A fingerprint of the audio itself: unchanged by retagging, chunk reordering or a
    lossless container change; different for different sounds of the same size.

    The hash covers frame count, sample rate, channel count and the decoded float32 samples
    of :data:`WINDOWS` evenly spaced windows (the whole stream when it is short). Decoding
    is deterministic for a given decoder build; an upgrade of a lossy decoder (MP3, AAC)
    could in principle change the last bits, so keep a byte-level fingerprint beside it.

    Returns:
        ``"p1:<32 hex digits>"``, or ``None`` when the file cannot be decoded.
    """
    try:
        dec = open_decoder(path)
    except AudioDecodeError as exc:
        log.debug("no payload fingerprint for %s: %s", path, exc)
        return None
    try:
        return decoder_fingerprint(dec)
    finally:
        dec.close()


def decoder_fingerprint(dec: _Decoder) -> str | None:
    """:func:`payload_fingerprint` of an open decoder (the caller closes it); ``None`` when
    the audio cannot be decoded."""
    try:
        if dec.frames <= 0:
            return None
        digest = hashlib.blake2b(digest_size=16, person=b"earmark-pfp")
        digest.update(struct.pack("<QII", dec.frames, dec.samplerate, dec.channels))
        for start, frames in fingerprint_spans(dec.frames):
            block = dec.read_span(start, frames)
            digest.update(struct.pack("<QI", start, block.shape[0]))
            digest.update(np.ascontiguousarray(block, dtype="<f4").tobytes())
        return f"{FINGERPRINT_VERSION}:{digest.hexdigest()}"
    except AudioDecodeError as exc:
        log.debug("no payload fingerprint: %s", exc)
        return None


def audio_digest(path: str | os.PathLike[str]) -> str:
    """A hash of every decoded sample (plus rate and channels): equal before and after a tag
    write exactly when the write left the audio alone. Costs a full decode.

    Raises:
        AudioDecodeError: The file cannot be decoded.
    """
    dec = open_decoder(path)
    try:
        digest = hashlib.blake2b(digest_size=20, person=b"earmark-aud")
        digest.update(struct.pack("<II", dec.samplerate, dec.channels))
        pos = 0
        total = 0
        while True:
            block = dec.read_span(pos, _BLOCK)
            if block.shape[0] == 0:
                break
            digest.update(np.ascontiguousarray(block, dtype="<f4").tobytes())
            pos += block.shape[0]
            total += block.shape[0]
        digest.update(struct.pack("<Q", total))
        return f"a1:{digest.hexdigest()}"
    finally:
        dec.close()
