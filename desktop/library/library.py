"""The :class:`Library`: the one place with SQL. Open one per thread."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections import OrderedDict
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlite_utils

from desktop.library._base import FILE_COLUMNS, file_row
from desktop.library._captions import CaptionsMixin
from desktop.library._edits import EditsMixin
from desktop.library._query import QueryMixin
from desktop.library._queue import QueueMixin
from desktop.library._roots import RootsMixin
from desktop.library.schema import migrate
from desktop.library.semantic import EmbeddingIndex
from desktop.library.types import FileRow

__all__ = ["Library"]

log = logging.getLogger(__name__)

#: How long a writer waits for another connection's write transaction before giving up.
_BUSY_TIMEOUT_MS = 30_000


class Library(RootsMixin, CaptionsMixin, QueueMixin, QueryMixin, EditsMixin):
    """A sound library stored in one SQLite database (WAL mode).

    A ``Library`` wraps one connection and must only be used from the thread that opened it;
    open another one (same path) per thread. Usable as a context manager.

    Example:
        >>> with Library.open(":memory:") as lib:
        ...     lib.count_files()
        0
    """

    def __init__(self, path: str | Path) -> None:
        """Open (creating and migrating if needed) the database at ``path``."""
        self._path = str(path) if str(path) == ":memory:" else os.path.abspath(os.fspath(path))
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: every write goes through an explicit BEGIN IMMEDIATE (see _txn).
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=_BUSY_TIMEOUT_MS / 1000)
        try:
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            if self._path != ":memory:":
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    log.warning("could not switch %s to WAL (journal_mode=%s)", self._path, mode)
            # FULL: a committed caption survives a power cut, not only a process crash.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self.db = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
        self._index = EmbeddingIndex(conn)
        self._ranked_cache = OrderedDict()
        self._last_page = None
        self._embedder = None
        self._embed_model = None
        self._closed = False

    @classmethod
    def open(cls, path: str | Path) -> Library:
        """Open (creating and migrating if needed) the library at ``path``.

        Args:
            path: Database file, or ``":memory:"`` for a throwaway library (tests).
        """
        return cls(path)

    @property
    def path(self) -> str:
        """The database path (``":memory:"`` for in-memory libraries)."""
        return self._path

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
            "SELECT count(*), sum(caption_source = 'user') FROM files "
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
