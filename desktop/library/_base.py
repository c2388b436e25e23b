"""Connection handling and row mapping shared by the parts of :class:`~desktop.library.Library`."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from desktop.library.types import FileRow

__all__ = ["FILE_COLUMNS", "LibraryBase", "file_row", "now"]

log = logging.getLogger(__name__)

#: The columns :func:`file_row` expects, in order, selected from ``files AS f``.
FILE_COLUMNS = (
    "f.id, f.root_id, f.path, f.folder, f.name, f.ext, f.size, f.mtime, f.duration_s, "
    "f.sample_rate, f.channels, f.bit_depth, f.format, f.subtype, f.status, f.error, "
    "f.caption, f.keywords, f.caption_source, f.caption_model, f.captioned_at"
)

#: Keywords of the current caption are stored in ``files.keywords`` joined by newlines
#: (keywords themselves may hold commas, e.g. AudioSet's "Male speech, man speaking").
KEYWORD_SEPARATOR = "\n"


def now() -> float:
    """Unix time, the one clock every timestamp in the database uses."""
    return time.time()


def split_keywords(stored: str | None) -> tuple[str, ...]:
    """Keywords from their stored form."""
    return tuple(k for k in (stored or "").split(KEYWORD_SEPARATOR) if k)


def file_row(row: tuple[Any, ...], score: float | None = None) -> FileRow:
    """Build a :class:`FileRow` from a row selected with :data:`FILE_COLUMNS`."""
    return FileRow(
        id=row[0],
        root_id=row[1],
        path=row[2],
        folder=row[3],
        name=row[4],
        ext=row[5],
        size=row[6],
        mtime=row[7],
        duration_s=row[8],
        sample_rate=row[9],
        channels=row[10],
        bit_depth=row[11],
        format=row[12],
        subtype=row[13],
        status=row[14],
        error=row[15],
        caption=row[16],
        keywords=split_keywords(row[17]),
        caption_source=row[18],
        caption_model=row[19],
        captioned_at=row[20],
        score=score,
    )


class LibraryBase:
    """Owns the connection; the mixins of ``Library`` build on :meth:`_txn`."""

    _conn: sqlite3.Connection

    @contextmanager
    def _txn(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): all or nothing. Nests as a no-op."""
        conn = self._conn
        if conn.in_transaction:
            yield conn
            return
        # IMMEDIATE takes the write lock up front, so two writers wait (busy_timeout)
        # instead of failing half-way with SQLITE_BUSY on lock upgrade.
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
