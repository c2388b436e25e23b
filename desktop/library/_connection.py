"""The library's SQLite connection: opening safely, and SQLite's errors in the user's words.

Every statement the library runs goes through :class:`LibraryConnection`, which turns the
errors that are the environment's fault (a lock held by another program, a full disk, a
read-only file, a damaged file) into :mod:`desktop.library.errors` with a message a person
can act on. Errors that are the library's own bugs stay ``sqlite3`` errors.

Write transactions start with ``BEGIN IMMEDIATE`` (see ``LibraryBase._txn``); when another
program keeps the write lock beyond SQLite's busy timeout, :func:`begin_immediate` keeps
trying with backoff for a bounded time before it gives up with :class:`LibraryBusyError`.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from desktop.library.errors import (
    DiskFullError,
    LibraryBusyError,
    LibraryCorruptError,
    LibraryError,
    LibraryReadOnlyError,
    NotALibraryError,
)

__all__ = [
    "BUSY_TIMEOUT_S",
    "LibraryConnection",
    "begin_immediate",
    "connect",
    "file_size",
    "translate",
    "translate_os_error",
]

log = logging.getLogger(__name__)

#: How long one statement waits for another connection's lock (SQLite's busy handler).
BUSY_TIMEOUT_S = 5.0
#: How long a writer keeps retrying ``BEGIN IMMEDIATE`` before giving up (with backoff).
WRITE_PATIENCE_S = 120.0

# Primary result codes (the low byte of an extended code).
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26


def _code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if isinstance(code, int):
        return code & 0xFF
    message = str(exc).lower()
    for needle, value in (
        ("database is locked", _SQLITE_BUSY),
        ("database table is locked", _SQLITE_LOCKED),
        ("readonly", _SQLITE_READONLY),
        ("read-only", _SQLITE_READONLY),
        ("disk i/o error", _SQLITE_IOERR),
        ("malformed", _SQLITE_CORRUPT),
        ("database or disk is full", _SQLITE_FULL),
        ("unable to open database", _SQLITE_CANTOPEN),
        ("file is not a database", _SQLITE_NOTADB),
    ):
        if needle in message:
            return value
    return None


def translate(exc: BaseException, path: str = "") -> LibraryError | None:
    """The :class:`LibraryError` for an ``sqlite3`` error caused by the environment.

    Returns ``None`` for errors that are not (a bad statement is a bug, not the user's).
    """
    if isinstance(exc, LibraryError):
        return exc
    if isinstance(exc, OSError):
        return translate_os_error(exc, path)
    if not isinstance(exc, sqlite3.Error):
        return None
    where = f" ({path})" if path and path != ":memory:" else ""
    code = _code(exc)
    if code == _SQLITE_IOERR and _disk_nearly_full(path):
        # A full disk often surfaces as an I/O error (growing the WAL or its index fails).
        code = _SQLITE_FULL
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return LibraryBusyError(
            f"the library{where} is locked by another program or another Earmark that is "
            "writing to it; close it or wait, then try again"
        )
    if code == _SQLITE_FULL:
        return DiskFullError(
            f"the disk holding the library{where} is full; nothing was lost, free some space "
            "and try again"
        )
    if code == _SQLITE_READONLY:
        return LibraryReadOnlyError(
            f"the library{where} is read-only (the file, its folder or the disk cannot be "
            "written); Earmark can still search and export it"
        )
    if code == _SQLITE_CORRUPT:
        return LibraryCorruptError(
            f"the library file{where} is damaged ({exc}); it was not changed. "
            "Run `earmark library check` for details and `earmark library repair` to copy "
            "everything readable into a new library"
        )
    if code == _SQLITE_NOTADB:
        return NotALibraryError(f"{path or 'this file'} is not an Earmark library (not SQLite)")
    if code == _SQLITE_IOERR:
        return LibraryError(
            f"the disk reported an error while reading or writing the library{where} ({exc}); "
            "check the disk or the network share, then try again"
        )
    if code == _SQLITE_CANTOPEN:
        return LibraryError(
            f"cannot open the library{where}: the file or its folder is not accessible"
        )
    return None


def _disk_nearly_full(path: str) -> bool:
    if not path or path == ":memory:":
        return False
    try:
        return shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free < 1024 * 1024
    except OSError:
        return False


def translate_os_error(exc: OSError, path: str = "") -> LibraryError:
    """The :class:`LibraryError` for an ``OSError`` met while writing library data or files."""
    where = f" {path}" if path else (f" {exc.filename}" if exc.filename else "")
    if exc.errno == errno.ENOSPC or exc.errno == getattr(errno, "EDQUOT", -1):
        return DiskFullError(f"the disk is full: cannot write{where}; free some space")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return LibraryReadOnlyError(f"cannot write{where}: {exc.strerror or 'permission denied'}")
    return LibraryError(f"cannot write{where}: {exc.strerror or exc}")


def _raise_translated(exc: sqlite3.Error, path: str) -> None:
    translated = translate(exc, path)
    if translated is not None:
        raise translated from exc
    raise exc


class _Cursor(sqlite3.Cursor):
    """A cursor whose every call raises :class:`LibraryError` for environment failures."""

    _library_path = ""

    def execute(self, sql: str, parameters: Any = (), /) -> _Cursor:
        try:
            super().execute(sql, parameters)
        except sqlite3.Error as exc:
            _raise_translated(exc, self._library_path)
        return self

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> _Cursor:
        try:
            super().executemany(sql, parameters)
        except sqlite3.Error as exc:
            _raise_translated(exc, self._library_path)
        return self

    def fetchone(self) -> Any:
        try:
            return super().fetchone()
        except sqlite3.Error as exc:
            _raise_translated(exc, self._library_path)
            raise  # unreachable; for type checkers

    def fetchmany(self, size: int | None = 1) -> list[Any]:
        try:
            return super().fetchmany(self.arraysize if size is None else size)
        except sqlite3.Error as exc:
            _raise_translated(exc, self._library_path)
            raise

    def fetchall(self) -> list[Any]:
        try:
            return super().fetchall()
        except sqlite3.Error as exc:
            _raise_translated(exc, self._library_path)
            raise

    def __next__(self) -> Any:
        try:
            return super().__next__()
        except sqlite3.Error as exc:
            _raise_translated(exc, self._library_path)
            raise


class LibraryConnection(sqlite3.Connection):
    """``sqlite3.Connection`` whose statements raise :mod:`desktop.library.errors`."""

    library_path = ""

    def cursor(self, factory: Any = None) -> Any:
        cur = super().cursor(factory or _Cursor)
        if isinstance(cur, _Cursor):
            cur._library_path = self.library_path
        return cur

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> Any:
        return self.cursor().executemany(sql, parameters)


def connect(path: str, *, readonly: bool = False, immutable: bool = False) -> LibraryConnection:
    """Open ``path`` in autocommit mode (writes use explicit transactions).

    Args:
        path: Database file or ``":memory:"``.
        readonly: Open with ``mode=ro``: nothing, not even the journal mode, can be changed.
        immutable: With ``readonly``: also promise SQLite that nobody writes the file (needed
            to read a WAL library on read-only media, where the shared-memory file cannot be
            created).
    """
    if path == ":memory:":
        target, uri = path, False
    else:
        target = Path(path).absolute().as_uri()
        if readonly:
            target += "?mode=ro" + ("&immutable=1" if immutable else "")
        uri = True
    try:
        conn = sqlite3.connect(
            target,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_S,
            uri=uri,
            factory=LibraryConnection,
            check_same_thread=True,
        )
    except sqlite3.Error as exc:
        _raise_translated(exc, path)
        raise
    assert isinstance(conn, LibraryConnection)
    conn.library_path = path
    return conn


def begin_immediate(
    conn: sqlite3.Connection,
    *,
    patience_s: float | None = None,
    on_wait: Callable[[float], None] | None = None,
) -> None:
    """``BEGIN IMMEDIATE``, retried with backoff while another program holds the write lock.

    Each attempt waits up to the busy timeout inside SQLite; between attempts the wait grows
    (0.1 s, 0.2 s … 2 s) until ``patience_s`` have passed.

    Args:
        conn: The connection (not in a transaction).
        patience_s: Give up after this long (default :data:`WRITE_PATIENCE_S`).
        on_wait: Called with the seconds waited so far before each retry (to tell the user).

    Raises:
        LibraryBusyError: The lock was not released in time.
    """
    if patience_s is None:
        patience_s = WRITE_PATIENCE_S
    started = time.monotonic()
    pause = 0.1
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except LibraryBusyError:
            waited = time.monotonic() - started
            if waited >= patience_s:
                raise
            if on_wait is not None:
                on_wait(waited)
            log.info("library write lock busy for %.0f s; retrying", waited)
            time.sleep(min(pause, max(0.0, patience_s - waited)))
            pause = min(pause * 2, 2.0)


def file_size(path: str) -> int | None:
    """The size of ``path`` in bytes, or ``None`` if it does not exist.

    Deliberately a ``stat``, never an ``open``: closing any descriptor of a file drops every
    POSIX lock this process holds on it, SQLite's included. Another process would then take
    our live connections for gone and, closing its own, delete the WAL under them.
    """
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise translate_os_error(exc, path) from exc


def is_writable_location(path: str) -> bool:
    """Whether the database and its folder look writable (WAL needs both)."""
    folder = os.path.dirname(path) or "."
    return os.access(folder, os.W_OK) and (not os.path.exists(path) or os.access(path, os.W_OK))
