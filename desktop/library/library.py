"""The :class:`Library`: the one place with SQL. Open one per thread."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections import OrderedDict
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from desktop.library._base import FILE_COLUMNS, file_row
from desktop.library._captions import CaptionsMixin
from desktop.library._connection import (
    connect,
    file_size,
    is_writable_location,
    translate_os_error,
)
from desktop.library._edits import EditsMixin
from desktop.library._index import IndexMixin
from desktop.library._meta import MetaMixin
from desktop.library._query import QueryMixin
from desktop.library._queue import QueueMixin
from desktop.library._roots import RootsMixin
from desktop.library._runs import RunLock
from desktop.library.errors import (
    LibraryCorruptError,
    LibraryError,
    LibraryNotFoundError,
    LibraryReadOnlyError,
    NewerLibraryError,
    NotALibraryError,
)
from desktop.library.schema import APPLICATION_ID, SCHEMA_VERSION, migrate
from desktop.library.semantic import EmbeddingIndex
from desktop.library.types import FileRow

__all__ = ["QUICK_CHECK_MAX_BYTES", "Library"]

log = logging.getLogger(__name__)

#: Libraries up to this size get ``PRAGMA quick_check`` every time they are opened (about
#: 0.3 s at this size here, 1.2 s per GB); bigger ones when asked (``check="full"``, the
#: GUI's background check, ``earmark library check``).
QUICK_CHECK_MAX_BYTES = 256 * 1024 * 1024

#: Tables every Earmark library has: how an old library without an application id is told
#: apart from another program's database.
_EARMARK_TABLES = frozenset({"roots", "files", "captions", "jobs", "embeddings"})

Check = Literal["auto", "full", "none"]


class Library(RootsMixin, CaptionsMixin, IndexMixin, QueueMixin, QueryMixin, MetaMixin, EditsMixin):
    """A sound library stored in one SQLite database (WAL mode).

    A ``Library`` wraps one connection and must only be used from the thread that opened it;
    open another one (same path) per thread. Usable as a context manager.

    Example:
        >>> with Library.open(":memory:") as lib:
        ...     lib.count_files()
        0
    """

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        readonly: bool = False,
        check: Check = "auto",
    ) -> None:
        """Open the library at ``path``; see :meth:`open`."""
        self._path = str(path) if str(path) == ":memory:" else os.path.abspath(os.fspath(path))
        self._readonly = readonly
        conn = self._connect(create=create, readonly=readonly)
        try:
            self._inspect(conn)
            if check == "full" or (check == "auto" and self._small_enough_to_check()):
                problems = _quick_check(conn)
                if problems:
                    raise LibraryCorruptError(
                        f"the library file {self._path} is damaged (SQLite: "
                        f"{'; '.join(problems[:3])}); it was not changed. Run `earmark library "
                        "check` for details and `earmark library repair NEW.db` to copy "
                        "everything readable into a new library"
                    )
            if readonly:
                conn.execute("PRAGMA query_only = ON")
            else:
                if self._path != ":memory:":
                    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                    if str(mode).lower() != "wal":
                        log.warning(
                            "could not switch %s to WAL (journal_mode=%s)", self._path, mode
                        )
                # FULL: a committed caption survives a power cut, not only a process crash.
                conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._run = RunLock(self._path)
        self._index = EmbeddingIndex(conn)
        self._ranked_cache = OrderedDict()
        self._last_page = None
        self._embedder = None
        self._embed_model = None
        self._closed = False

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        create: bool = True,
        readonly: bool = False,
        check: Check = "auto",
    ) -> Library:
        """Open the library at ``path``, refusing anything that is not a healthy library.

        Nothing is changed in a file that is refused: not an SQLite file, an empty file,
        another program's database, a damaged file, or a library of a newer Earmark.

        Args:
            path: Database file, or ``":memory:"`` for a throwaway library (tests).
            create: Create a new library when ``path`` does not exist (else refuse).
            readonly: Open for reading only (commands that only read; read-only media).
                Implies ``create=False``.
            check: ``"auto"``: ``PRAGMA quick_check`` for libraries up to
                :data:`QUICK_CHECK_MAX_BYTES`; ``"full"``: always; ``"none"``: never (the
                caller checks in the background with :meth:`quick_check`).

        Raises:
            LibraryNotFoundError: No file at ``path`` and not ``create``.
            NotALibraryError: The file is not an Earmark library.
            NewerLibraryError: Written by a newer Earmark.
            LibraryCorruptError: SQLite reports damage.
            LibraryReadOnlyError: A writable open of a read-only file, folder or medium, or
                a read-only open of a library that first needs an upgrade.
            LibraryError: Any other reason the file cannot be opened.
        """
        return cls(path, create=create, readonly=readonly, check=check)

    def _connect(self, *, create: bool, readonly: bool) -> sqlite3.Connection:
        path = self._path
        if path == ":memory:":
            return connect(path)
        size = file_size(path)  # (SQLite itself tells an SQLite file from anything else)
        if size is None:
            if readonly or not create:
                raise LibraryNotFoundError(
                    f"no library at {path} (check the path; `earmark library add DIR` creates one)"
                )
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise translate_os_error(exc, str(Path(path).parent)) from exc
        elif size == 0:
            raise NotALibraryError(
                f"{path} is an empty file, not an Earmark library; choose another file or "
                "delete this one"
            )
        if not readonly:
            try:
                conn = connect(path)
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return conn
            except LibraryError as exc:
                if not is_writable_location(path):
                    raise LibraryReadOnlyError(
                        f"the library {path} is read-only (read-only media, or a file or folder "
                        "you cannot write): Earmark can search and export it, not change it"
                    ) from exc
                raise
        try:
            conn = connect(path, readonly=True)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except LibraryError:
            # A WAL library on read-only media: the shared-memory file cannot be created.
            # Nobody can write there either, so SQLite may treat the file as immutable.
            log.info("opening %s as immutable (read-only medium)", path)
            return connect(path, readonly=True, immutable=True)

    def _inspect(self, conn: sqlite3.Connection) -> None:
        """Refuse another program's database or a newer library before changing anything."""
        app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {
            str(row[0])
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        if app_id not in (0, APPLICATION_ID):
            raise NotALibraryError(
                f"{self._path} is another program's database (application id {app_id:#x}); "
                "Earmark left it untouched"
            )
        if app_id == 0 and tables and not (version >= 1 and tables >= _EARMARK_TABLES):
            shown = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "")
            raise NotALibraryError(
                f"{self._path} is another program's SQLite database (tables: {shown}); "
                "Earmark left it untouched"
            )
        if version > SCHEMA_VERSION:
            raise NewerLibraryError(
                f"{self._path} was written by a newer Earmark (schema {version}, this version "
                f"knows {SCHEMA_VERSION}); it was left untouched: please upgrade Earmark"
            )
        if self._readonly and version < SCHEMA_VERSION:
            raise LibraryReadOnlyError(
                f"{self._path} was written by an older Earmark and must be upgraded once, "
                "which needs write access; open it once where it can be written"
            )

    def _small_enough_to_check(self) -> bool:
        if self._path == ":memory:":
            return False
        try:
            return os.path.getsize(self._path) <= QUICK_CHECK_MAX_BYTES
        except OSError:
            return False

    def quick_check(self) -> list[str]:
        """``PRAGMA quick_check``: ``[]`` for a healthy library, else SQLite's problems.

        Reads the whole file (about 1 s per GB); safe on any thread with its own Library.
        """
        return _quick_check(self._conn)

    @property
    def path(self) -> str:
        """The database path (``":memory:"`` for in-memory libraries)."""
        return self._path

    @property
    def readonly(self) -> bool:
        """Whether this library was opened for reading only."""
        return self._readonly

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection (read-only uses: benchmarks, integrity checks)."""
        return self._conn

    def close(self) -> None:
        """Close the connection; the object is unusable afterwards. Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._index.invalidate()
            self._conn.close()
            self._run.release()

    def __enter__(self) -> Library:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` result: ``"ok"`` for a healthy database."""
        return "; ".join(str(row[0]) for row in self._conn.execute("PRAGMA integrity_check"))

    # -- overview ----------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts for ``earmark library stats``: files by status, captioned, queue, roots."""
        by_status = dict(self._conn.execute("SELECT status, count(*) FROM files GROUP BY status"))
        captioned = self._conn.execute(
            "SELECT count(*), sum(caption_source = 'user'), sum(caption_source = 'file') FROM files "
            "WHERE caption_id IS NOT NULL AND status != 'missing'"
        ).fetchone()
        queue = self.queue_counts()
        return {
            "database": self._path,
            "roots": len(self._conn.execute("SELECT id FROM roots").fetchall()),
            "files": int(by_status.get("ok", 0)) + int(by_status.get("error", 0)),
            "ok": int(by_status.get("ok", 0)),
            "errors": int(by_status.get("error", 0)),
            "missing": int(by_status.get("missing", 0)),
            "captioned": int(captioned[0] or 0),
            "user_captions": int(captioned[1] or 0),
            "file_captions": int(captioned[2] or 0),
            "embeddings": dict(self.embedding_models()),
            "queue": {
                "queued": queue.queued,
                "running": queue.running,
                "done": queue.done,
                "failed": queue.failed,
                "cancelled": queue.cancelled,
            },
        }

    def broken_files(self, limit: int | None = None) -> list[FileRow]:
        """Files with ``status == "error"``, with their messages, by path."""
        return [
            file_row(row)
            for row in self._conn.execute(
                f"SELECT {FILE_COLUMNS} FROM files f WHERE f.status = 'error' "
                "ORDER BY f.path LIMIT ?",
                (-1 if limit is None else limit,),
            )
        ]


def _quick_check(conn: sqlite3.Connection) -> list[str]:
    try:
        rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
    except LibraryCorruptError as exc:
        return [str(exc.__cause__ or exc)]
    return [] if rows == ["ok"] else rows
