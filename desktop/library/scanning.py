"""Finding audio files on disk and reading their headers (no SQL here).

The walk follows symlinked folders but never enters a folder twice (symlink loops), skips
hidden entries, and reports unreadable folders instead of stopping.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import logging
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from captioner.audio import open_regular, open_sound_file
from captioner.av_decode import probe_av
from captioner.errors import AudioDecodeError
from captioner.native_stderr import NOISY_EXTENSIONS, silenced_native_stderr
from desktop.library.metadata import FileMetadata, format_label, payload_fingerprint, read_metadata
from desktop.library.metadata.fingerprint import SoundFileDecoder, decoder_fingerprint
from desktop.library.types import ScanError

__all__ = [
    "AUDIO_EXTENSIONS",
    "FileInfo",
    "error_info",
    "fingerprint",
    "is_audio_name",
    "probe",
    "walk_audio",
]

log = logging.getLogger(__name__)

#: Extensions libsndfile reads (exact seeking: the first reader tried).
SNDFILE_EXTENSIONS = frozenset(
    {
        "wav",
        "wave",
        "bwf",
        "flac",
        "ogg",
        "oga",
        "opus",
        "mp3",
        "aif",
        "aiff",
        "aifc",
        "caf",
        "w64",
        "rf64",
        "au",
        "snd",
    }
)
#: Further extensions FFmpeg (PyAV) reads: AAC/ALAC in MP4, ADTS, WavPack, WMA, AC3, MP2 ...
AV_EXTENSIONS = frozenset(
    {
        "m4a",
        "mp4",
        "m4b",
        "aac",
        "adts",
        "wv",
        "wma",
        "asf",
        "ac3",
        "eac3",
        "mp2",
        "mpa",
        "ape",
        "tta",
        "mka",
        "webm",
        "amr",
        "dts",
        "spx",
        "mpc",
        "3gp",
    }
)
#: Extensions the scan registers.
AUDIO_EXTENSIONS = SNDFILE_EXTENSIONS | AV_EXTENSIONS

_BIT_DEPTHS = {
    "PCM_S8": 8,
    "PCM_U8": 8,
    "PCM_16": 16,
    "PCM_24": 24,
    "PCM_32": 32,
    "FLOAT": 32,
    "DOUBLE": 64,
    "ALAC_16": 16,
    "ALAC_20": 20,
    "ALAC_24": 24,
    "ALAC_32": 32,
}

#: Bytes read from each end of a file for its fingerprint: enough to tell sounds apart,
#: cheap enough for a million files.
_FINGERPRINT_CHUNK = 64 * 1024


def is_audio_name(name: str) -> bool:
    """Whether a file name has an audio extension (and is not a macOS ``._`` sidecar)."""
    if name.startswith("._"):
        return False
    _, dot, ext = name.rpartition(".")
    return bool(dot) and ext.lower() in AUDIO_EXTENSIONS


@dataclass(frozen=True)
class FileInfo:
    """What a scan records about one file; ``error`` set means it could not be read.

    ``fingerprint`` hashes the file's bytes (cheap; changes when tags are rewritten);
    ``audio_fp`` hashes decoded audio (:func:`~desktop.library.metadata.payload_fingerprint`:
    survives retagging; what moves are matched by). ``metadata`` is what the file says about
    itself (``None`` when it could not be read at all).
    """

    size: int | None
    mtime: float | None
    fingerprint: str | None = None
    audio_fp: str | None = None
    duration_s: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bit_depth: int | None = None
    format: str | None = None
    subtype: str | None = None
    error: str | None = None
    metadata: FileMetadata | None = None


def fingerprint(path: str, size: int) -> str:
    """A cheap content fingerprint: size plus a hash of the first and last 64 KiB."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(size.to_bytes(8, "little"))
    # Checked on the descriptor: a path swapped for a pipe since it was listed must not
    # hang the scan.
    try:
        handle, _ = open_regular(path)
    except AudioDecodeError as exc:
        raise OSError(errno.EINVAL, str(exc)) from None
    with handle:
        digest.update(handle.read(_FINGERPRINT_CHUNK))
        if size > 2 * _FINGERPRINT_CHUNK:
            handle.seek(-_FINGERPRINT_CHUNK, os.SEEK_END)
            digest.update(handle.read(_FINGERPRINT_CHUNK))
    return digest.hexdigest()


def _os_message(exc: OSError) -> str:
    """``OSError`` as a short message without the path (the table shows the path)."""
    return exc.strerror or type(exc).__name__


def probe(path: str, st: os.stat_result | None = None) -> FileInfo:
    """Stat a file and read its audio header; never raises for file problems.

    Args:
        path: The file.
        st: Its ``os.stat`` result when the caller has it already.
    """
    try:
        if st is None:
            st = os.stat(path)
    except OSError as exc:
        return FileInfo(size=None, mtime=None, error=f"cannot access file: {_os_message(exc)}")
    size, mtime = st.st_size, st.st_mtime
    if not stat.S_ISREG(st.st_mode):
        return FileInfo(size=size, mtime=mtime, error=_not_regular(st.st_mode))
    if size == 0:
        return FileInfo(size=size, mtime=mtime, error="empty file (0 bytes)")
    noisy = path.rpartition(".")[2].lower() in NOISY_EXTENSIONS
    with silenced_native_stderr(noisy):
        info = _probe_audio(path, size, mtime)
    if info.error and info.error.startswith("not a regular file"):
        return info
    meta = read_metadata(path)
    label = info.format
    if label is not None and "bext" in meta.chunks:
        label = format_label(info.format, info.subtype, has_bext=True) or label
    return dataclasses.replace(info, metadata=meta, format=label)


def _probe_audio(path: str, size: int, mtime: float) -> FileInfo:
    ext = path.rpartition(".")[2].lower()
    try:
        handle = open_sound_file(path)
    except AudioDecodeError as exc:
        fp = _fingerprint_or_none(path, size)
        if "not a regular file" not in str(exc):
            found = _probe_with_ffmpeg(path, size, mtime, fp)
            if found is not None:
                return found
        return FileInfo(size, mtime, fp, error=_decode_message(path, str(exc)))
    with handle:
        try:
            fp = fingerprint(path, size)
        except OSError as exc:
            return FileInfo(size=size, mtime=mtime, error=f"cannot read file: {_os_message(exc)}")
        frames = int(handle.frames)
        rate = int(handle.samplerate)
        base = FileInfo(
            size=size,
            mtime=mtime,
            fingerprint=fp,
            duration_s=frames / rate if rate > 0 and frames >= 0 else None,
            sample_rate=rate or None,
            channels=int(handle.channels) or None,
            bit_depth=_BIT_DEPTHS.get(handle.subtype),
            format=format_label(handle.format, handle.subtype, ext=ext) or handle.format,
            subtype=handle.subtype,
        )
        if frames <= 0 or rate <= 0:
            return FileInfo(**{**base.__dict__, "error": "no audio data (header only)"})
        audio_fp = decoder_fingerprint(SoundFileDecoder(handle))
        return FileInfo(**{**base.__dict__, "audio_fp": audio_fp})


def _probe_with_ffmpeg(path: str, size: int, mtime: float, fp: str | None) -> FileInfo | None:
    """What FFmpeg (PyAV) says of a file libsndfile cannot read; ``None`` if it cannot either."""
    try:
        found = probe_av(path)
    except AudioDecodeError as exc:
        log.debug("PyAV cannot read %s either: %s", path, exc)
        return None
    ext = path.rpartition(".")[2].lower()
    if found.frames is not None and found.frames <= 0:
        return FileInfo(size, mtime, fp, error="no audio data (header only)")
    return FileInfo(
        size=size,
        mtime=mtime,
        fingerprint=fp,
        audio_fp=payload_fingerprint(path),
        duration_s=found.duration_s,
        sample_rate=found.sample_rate or None,
        channels=found.channels or None,
        bit_depth=found.bit_depth,
        format=format_label(found.container, found.codec, ext=ext),
        subtype=found.codec.upper() if found.codec else None,
    )


def _fingerprint_or_none(path: str, size: int) -> str | None:
    try:
        return fingerprint(path, size)
    except OSError:
        return None


def _not_regular(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "not a regular file (a named pipe); Earmark never opens pipes"
    if stat.S_ISSOCK(mode):
        return "not a regular file (a socket)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "not a regular file (a device)"
    return "not a regular file"


#: libsndfile messages that mean "this is not audio we can read", in any wording.
_NOT_AUDIO_HINTS = ("format not recognised", "unknown format", "possibly a pipe", "not a valid")


def _decode_message(path: str, message: str) -> str:
    """A scan message for a file that did not open as audio, in the user's terms."""
    _, _, detail = message.partition(": ")
    lowered = detail.lower()
    ext = path.rpartition(".")[2].lower()
    if any(hint in lowered for hint in _NOT_AUDIO_HINTS):
        return (
            f"not readable as audio: the data is not a sound format Earmark can read "
            f"(the name says .{ext}; the file may be damaged or mislabelled)"
        )
    return f"not readable as audio: {detail or message}"


def walk_audio(
    root: str,
    on_problem: Callable[[ScanError], None],
    on_skipped: Callable[[str], None] | None = None,
) -> Iterator[tuple[str, os.stat_result | OSError]]:
    """Yield ``(path, stat or error)`` for every audio file under ``root``, depth first.

    Folders are visited in sorted order so scans are reproducible. Symlinked folders are
    followed once; a folder reached again (a loop) is reported via ``on_problem``. Other
    (non-hidden) files are passed to ``on_skipped`` by name, so a summary can say what was
    left out.
    """
    try:
        root_st = os.stat(root)
    except OSError as exc:
        on_problem(ScanError(root, f"cannot open folder: {_os_message(exc)}"))
        return
    visited = {(root_st.st_dev, root_st.st_ino)}
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            on_problem(ScanError(folder, f"cannot list folder: {_os_message(exc)}"))
            continue
        subfolders: list[str] = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            path = entry.path
            try:
                path.encode("utf-8")
            except UnicodeEncodeError:
                on_problem(ScanError(repr(path), "name is not valid UTF-8; rename it to add it"))
                continue
            try:
                is_dir = entry.is_dir()  # follows symlinks
            except OSError:
                is_dir = False
            if is_dir:
                try:
                    st = entry.stat()
                except OSError as exc:
                    on_problem(ScanError(path, f"cannot open folder: {_os_message(exc)}"))
                    continue
                key = (st.st_dev, st.st_ino)
                if key in visited:
                    on_problem(ScanError(path, "symlink loop: folder already scanned, skipped"))
                    continue
                visited.add(key)
                subfolders.append(path)
            elif is_audio_name(name):
                try:
                    yield path, entry.stat()
                except OSError as exc:  # broken symlink, symlink loop, permission
                    yield path, exc
            elif on_skipped is not None:
                on_skipped(name)
        stack.extend(reversed(subfolders))


def error_info(exc: OSError) -> FileInfo:
    """The :class:`FileInfo` of a file that could not even be stat'ed."""
    if exc.errno == errno.ELOOP:
        return FileInfo(size=None, mtime=None, error="symlink loop")
    return FileInfo(size=None, mtime=None, error=f"cannot access file: {_os_message(exc)}")
