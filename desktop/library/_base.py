"""Connection handling and row mapping shared by the parts of :class:`~desktop.library.Library`."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from captioner.types import KeywordScore
from desktop.library._connection import begin_immediate
from desktop.library.errors import LibraryError, UnknownFileError
from desktop.library.types import FileRow

__all__ = ["FILE_COLUMNS", "LibraryBase", "file_row", "now", "rollback"]

log = logging.getLogger(__name__)

#: The columns :func:`file_row` expects, in order, selected from ``files AS f``.
FILE_COLUMNS = (
    "f.id, f.root_id, f.path, f.folder, f.name, f.ext, f.size, f.mtime, f.duration_s, "
    "f.sample_rate, f.channels, f.bit_depth, f.format, f.subtype, f.status, f.error, "
    "f.caption, f.keywords, f.caption_source, f.caption_model, f.captioned_at"
)

#: Caption sources that re-captioning never replaces without the person's say-so: their own
#: words, and the description the file itself carries.
PROTECTED_SOURCES = ("user", "file")

#: Keywords of the current caption are stored in ``files.keywords`` joined by newlines
#: (keywords themselves may hold commas, e.g. AudioSet's "Male speech, man speaking").
KEYWORD_SEPARATOR = "\n"


def clean_keyword(keyword: str) -> str:
    """A keyword on one line with single spaces (newlines separate stored keywords)."""
    # Newlines separate keywords in files.keywords; collapse any whitespace run to a space.
    return " ".join(str(keyword).split())


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
    _lock_wait: Callable[[float], None] | None = None
    _write_patience: float | None = None

    def set_write_patience(self, seconds: float | None) -> None:
        """How long a write keeps retrying while another program holds the lock before it
        raises :class:`LibraryBusyError` (``None``: the default, two minutes; ``0``: once,
        for callers that retry and tell the user themselves)."""
        self._write_patience = seconds

    def set_lock_wait_callback(self, callback: Callable[[float], None] | None) -> None:
        """Call ``callback(seconds_waited)`` while a write waits for another program's lock
        (e.g. to show "waiting for the library…"); ``None`` to stop."""
        self._lock_wait = callback

    def _insert_caption(
        self,
        conn: sqlite3.Connection,
        file_id: int,
        text: str,
        source: str,
        clap: str | None,
        llm: str | None,
        params: dict[str, Any],
        keywords: Sequence[tuple[str, float]],
    ) -> int:
        cur = conn.execute(
            "INSERT INTO captions(file_id, text, source, clap, llm, params, created_at, current) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            (file_id, text, source, clap, llm, json.dumps(params, default=str), now()),
        )
        caption_id = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT INTO caption_keywords(caption_id, position, keyword, score) "
            "VALUES (?, ?, ?, ?)",
            [(caption_id, i, k, s) for i, (k, s) in enumerate(keywords)],
        )
        return caption_id

    def _make_current(
        self,
        conn: sqlite3.Connection,
        file_id: int,
        caption_id: int,
        text: str,
        keywords: Sequence[str],
        source: str,
        model: str | None,
        at: float | None = None,
    ) -> None:
        """Make ``caption_id`` the file's current caption and copy it into ``files``."""
        conn.execute(
            "UPDATE captions SET current = (id = ?) WHERE file_id = ? AND (current = 1 OR id = ?)",
            (caption_id, file_id, caption_id),
        )
        conn.execute(
            "UPDATE files SET caption_id = ?, caption = ?, keywords = ?, caption_source = ?, "
            "caption_model = ?, captioned_at = ? WHERE id = ?",
            (
                caption_id,
                text,
                KEYWORD_SEPARATOR.join(keywords),
                source,
                model,
                now() if at is None else at,
                file_id,
            ),
        )

    def _adopt_caption(self, conn: sqlite3.Connection, file_id: int, caption_id: int) -> None:
        """Make an existing caption of the file current (as stored: text, keywords, time).

        Raises:
            UnknownFileError: The caption is not one of the file's.
        """
        row = conn.execute(
            "SELECT text, source, clap, llm, created_at FROM captions WHERE id = ? AND file_id = ?",
            (caption_id, file_id),
        ).fetchone()
        if row is None:
            raise UnknownFileError(f"caption {caption_id} is not a caption of file {file_id}")
        text, source, clap, llm, created = row
        keywords = [
            str(row[0])
            for row in conn.execute(
                "SELECT keyword FROM caption_keywords WHERE caption_id = ? ORDER BY position",
                (caption_id,),
            )
        ]
        model = None if source in PROTECTED_SOURCES else f"{clap} | {llm}"
        self._make_current(conn, file_id, caption_id, text, keywords, source, model, created)

    def _store_embedding(
        self,
        conn: sqlite3.Connection,
        file_id: int,
        model_id: str,
        vector: np.ndarray,
        policy_key: str | None,
    ) -> None:
        # DELETE + INSERT (not an upsert) gives the vector a new rowid, which is how the
        # semantic index notices a changed embedding without rereading everything.
        conn.execute(
            "DELETE FROM embeddings WHERE file_id = ? AND model_id = ?", (file_id, model_id)
        )
        conn.execute(
            "INSERT INTO embeddings(file_id, model_id, dim, vector, policy) VALUES (?, ?, ?, ?, ?)",
            (file_id, model_id, int(vector.size), vector.tobytes(), policy_key or None),
        )

    def _store_tags(
        self,
        conn: sqlite3.Connection,
        file_id: int,
        model_id: str,
        tags: Sequence[KeywordScore],
    ) -> None:
        if not tags:
            return
        cleaned = [
            (clean_keyword(t.keyword), float(t.score)) for t in tags if clean_keyword(t.keyword)
        ]
        conn.execute(
            "DELETE FROM file_tags WHERE file_id = ? AND model_id = ?", (file_id, model_id)
        )
        conn.executemany(
            "INSERT INTO file_tags(file_id, model_id, position, keyword, score) "
            "VALUES (?, ?, ?, ?, ?)",
            [(file_id, model_id, i, k, s) for i, (k, s) in enumerate(cleaned)],
        )
        conn.execute(
            "UPDATE files SET tags_text = ? WHERE id = ?",
            ("\n".join(k for k, _ in cleaned), file_id),
        )

    def _finish_job(
        self,
        conn: sqlite3.Connection,
        file_id: int,
        duration_s: float | None,
        job_id: int | None,
    ) -> None:
        """What every stored result does besides itself: fill in a duration the header did
        not give, and mark its job done (in the same transaction)."""
        if duration_s is not None:
            conn.execute(
                "UPDATE files SET duration_s = ? WHERE id = ? AND duration_s IS NULL",
                (duration_s, file_id),
            )
        if job_id is not None:
            conn.execute(
                "UPDATE jobs SET state = 'done', error = NULL, updated_at = ? WHERE id = ?",
                (now(), job_id),
            )

    def _newest_model(self, file_id: int) -> str | None:
        """The audio model of the file's newest embedding, or ``None``."""
        row = self._conn.execute(
            "SELECT model_id FROM embeddings WHERE file_id = ? ORDER BY id DESC LIMIT 1",
            (file_id,),
        ).fetchone()
        return None if row is None else str(row[0])

    @contextmanager
    def _txn(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): all or nothing. Nests as a no-op."""
        conn = self._conn
        if conn.in_transaction:
            yield conn
            return
        # IMMEDIATE takes the write lock up front, so two writers wait (busy timeout, then
        # retries with backoff) instead of failing half-way with SQLITE_BUSY on lock upgrade.
        begin_immediate(conn, patience_s=self._write_patience, on_wait=self._lock_wait)
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            rollback(conn)
            raise


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back the open transaction, if any, without masking the error being handled."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except (sqlite3.Error, LibraryError) as exc:  # the original error matters more
            log.warning("rollback failed: %s", exc)
