"""Safe file access for metadata: non-blocking open of regular files only, bounded reads for
third-party parsers, and the atomic replace every write goes through."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from typing import BinaryIO

from captioner.audio import open_regular as _open_regular
from captioner.errors import AudioDecodeError
from desktop.library.metadata.types import MetadataError, MetadataWriteError

log = logging.getLogger(__name__)

#: One ``read()`` by a third-party parser (mutagen) may ask for at most this much: a tag
#: claiming more is refused rather than allocated. Cover art of a few MiB fits easily.
MAX_SINGLE_READ = 64 << 20
#: Bytes a third-party parser may read from one file in total while reading tags.
MAX_TOTAL_READ = 256 << 20
_COPY_BLOCK = 1 << 20


def open_regular(path: str | os.PathLike[str]) -> tuple[BinaryIO, os.stat_result]:
    """:func:`captioner.audio.open_regular` (a FIFO put where a sound was never blocks the
    caller), with its refusal as a :class:`MetadataError`.

    Raises:
        MetadataError: Missing, unreadable, or not a regular file.
    """
    try:
        return _open_regular(path)
    except AudioDecodeError as exc:
        raise MetadataError(str(exc)) from None


class BoundedReader(io.RawIOBase):
    """A read-only view of a file that refuses huge reads.

    A hostile tag can claim a size of gigabytes; a parser that trusts it would allocate that
    much. Reads larger than ``max_single`` or past ``max_total`` raise ``OSError``, which the
    caller reports as an unreadable tag.
    """

    def __init__(
        self,
        raw: BinaryIO,
        max_single: int = MAX_SINGLE_READ,
        max_total: int = MAX_TOTAL_READ,
    ) -> None:
        super().__init__()
        self._raw = raw
        self._max_single = max_single
        self._left = max_total
        self.name = getattr(raw, "name", "")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = os.fstat(self._raw.fileno()).st_size - self._raw.tell()
        if size > self._max_single or size > self._left:
            raise OSError(f"refused to read {size} bytes at once (tag claims an absurd size)")
        data = self._raw.read(size)
        self._left -= len(data)
        return data

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def read_at(handle: BinaryIO, offset: int, size: int) -> bytes:
    """``size`` bytes at ``offset`` (fewer at the end of the file)."""
    handle.seek(offset)
    return handle.read(size)


def copy_range(src: BinaryIO, dst: BinaryIO, offset: int, size: int) -> int:
    """Copy ``size`` bytes from ``src`` at ``offset`` to ``dst``; returns bytes copied."""
    src.seek(offset)
    left = size
    while left > 0:
        block = src.read(min(_COPY_BLOCK, left))
        if not block:
            break
        dst.write(block)
        left -= len(block)
    return size - left


def _fsync_dir(folder: str) -> None:
    # A rename is durable only once its folder is synced; not every platform allows it.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _copy_xattrs(src: str, dst: str) -> None:
    if not hasattr(os, "listxattr"):
        return
    with contextlib.suppress(OSError):
        for key in os.listxattr(src):
            with contextlib.suppress(OSError):
                os.setxattr(dst, key, os.getxattr(src, key))


def resolve_target(path: str | os.PathLike[str]) -> tuple[str, os.stat_result]:
    """The real file a write must replace, and its stat; refuses what cannot be replaced
    safely (missing, not regular, several hard links, read-only folder).

    A symlink is followed, so the link stays a link and its target gets the new content.

    Raises:
        MetadataWriteError: The file cannot be replaced safely.
    """
    name = os.path.basename(os.fspath(path))
    real = os.path.realpath(os.fspath(path))
    try:
        st = os.stat(real)
    except OSError as exc:
        raise MetadataWriteError(f"{name}: cannot access file ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise MetadataWriteError(f"{name}: not a regular file; not written")
    if st.st_nlink > 1:
        raise MetadataWriteError(
            f"{name}: the file has {st.st_nlink} hard links; writing would split them into "
            "different files, so it was not written (copy it to break the links first)"
        )
    folder = os.path.dirname(real) or "."
    if not os.access(folder, os.W_OK | os.X_OK):
        raise MetadataWriteError(
            f"{name}: its folder is not writable, so the file cannot be replaced safely"
        )
    return real, st


@contextlib.contextmanager
def atomic_replace(
    real: str, original: os.stat_result, *, keep_mtime: bool
) -> Iterator[tuple[BinaryIO, str, Callable[[], None]]]:
    """Write a new version of ``real`` beside it and swap it in atomically.

    Yields ``(temp_handle, temp_path, commit)``. The caller writes the new content (or edits
    ``temp_path`` with another library after closing nothing), verifies it, then calls
    ``commit()``: the temp file is fsynced, given the original's mode, owner (when allowed),
    extended attributes and optionally mtime, and renamed over ``real`` after checking the
    original was not changed meanwhile. Without ``commit()`` (an exception, a failed check)
    the temp file is removed and the original is untouched.

    Raises:
        MetadataWriteError: The temp file cannot be created, the disk is full, or the
            original changed while it was being written.
    """
    folder = os.path.dirname(real) or "."
    name = os.path.basename(real)
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".earmark-tmp", dir=folder)
    except OSError as exc:
        raise MetadataWriteError(
            f"{name}: cannot create a temporary file beside it ({exc.strerror or exc})"
        ) from None
    handle = os.fdopen(fd, "w+b")
    committed = False

    def commit() -> None:
        nonlocal committed
        try:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            os.chmod(temp, stat.S_IMODE(original.st_mode))
            if hasattr(os, "chown"):
                with contextlib.suppress(OSError):
                    os.chown(temp, original.st_uid, original.st_gid)
            _copy_xattrs(real, temp)
            if keep_mtime:
                os.utime(temp, ns=(original.st_atime_ns, original.st_mtime_ns))
            now = os.stat(real)
            if (now.st_ino, now.st_size, now.st_mtime_ns) != (
                original.st_ino,
                original.st_size,
                original.st_mtime_ns,
            ):
                raise MetadataWriteError(
                    f"{name}: the file changed while Earmark was writing it; not replaced "
                    "(try again)"
                )
            os.replace(temp, real)
        except MetadataWriteError:
            raise
        except OSError as exc:
            raise MetadataWriteError(
                f"{name}: could not write the new version ({exc.strerror or exc}); "
                "the file is unchanged"
            ) from None
        committed = True
        _fsync_dir(folder)

    try:
        yield handle, temp, commit
    finally:
        if not handle.closed:
            handle.close()
        if not committed:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def copy_whole(src: BinaryIO, dst: BinaryIO) -> None:
    """Copy a whole file object into another, from the start."""
    src.seek(0)
    shutil.copyfileobj(src, dst, _COPY_BLOCK)
