"""Captions, their keywords and audio embeddings: the part of ``Library`` the job loop writes."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np

from captioner.types import Caption
from desktop.library._base import PROTECTED_SOURCES, LibraryBase, clean_keyword
from desktop.library.errors import InvalidCaptionError, UnknownFileError
from desktop.library.types import CaptionRecord

__all__ = ["CaptionsMixin"]

log = logging.getLogger(__name__)

_CAPTION_COLUMNS = "id, file_id, text, source, clap, llm, params, created_at, current"


class CaptionsMixin(LibraryBase):
    """Caption history, user edits, model results and embeddings."""

    def current_caption(self, file_id: int) -> CaptionRecord | None:
        """The caption the file shows, or ``None``."""
        row = self._conn.execute(
            f"SELECT {_CAPTION_COLUMNS} FROM captions WHERE file_id = ? AND current = 1 "
            "ORDER BY id DESC LIMIT 1",
            (file_id,),
        ).fetchone()
        return None if row is None else self._caption_record(row)

    def caption_history(self, file_id: int) -> list[CaptionRecord]:
        """Every caption the file ever had, newest first."""
        rows = self._conn.execute(
            f"SELECT {_CAPTION_COLUMNS} FROM captions WHERE file_id = ? "
            "ORDER BY created_at DESC, id DESC",
            (file_id,),
        ).fetchall()
        return [self._caption_record(row) for row in rows]

    def set_user_caption(
        self, file_id: int, text: str, keywords: Sequence[str] | None = None
    ) -> int:
        """Store a user's caption as current (kept in history); returns the caption id.

        Re-captioning never replaces a user caption unless the job was queued with
        ``force=True`` before the caption was written.

        Raises:
            UnknownFileError: No such file.
            ValueError: Empty text.
        """
        text = text.strip()
        if not text:
            raise InvalidCaptionError("a caption cannot be empty")
        cleaned = [k for k in dict.fromkeys(clean_keyword(k) for k in keywords or ()) if k]
        with self._txn() as conn:
            self._require_file(conn, file_id)
            caption_id = self._insert_caption(
                conn,
                file_id,
                text,
                "user",
                None,
                None,
                {},
                [(k, 1.0) for k in cleaned],
            )
            self._make_current(conn, file_id, caption_id, text, cleaned, "user", None)
        return caption_id

    def save_caption(
        self,
        file_id: int,
        caption: Caption,
        *,
        embedding_model_id: str,
        job_id: int | None = None,
        force: bool = False,
    ) -> int:
        """Store a model caption, its keywords, its embedding and the job state in one
        transaction; returns the caption id.

        The caption becomes current unless the file has a user caption that it may not
        replace, in which case it only goes into the history. It may replace a user caption
        only with ``force``, and then only the caption the job was queued to replace: a
        caption the user wrote after asking for a new one is newer than the request.

        Raises:
            UnknownFileError: No such file.
            ValueError: The embedding is not a finite 1-d vector.
        """
        vector = np.asarray(caption.audio_embedding, dtype=np.float32).reshape(-1)
        if vector.size == 0 or not np.all(np.isfinite(vector)):
            raise InvalidCaptionError("audio embedding must be a non-empty finite vector")
        prov = caption.provenance
        params: dict[str, Any] = {
            "params": prov.params,
            "window_policy": prov.window_policy,
            "device": prov.device,
            "dtype": prov.dtype,
            "vocabulary": prov.vocabulary,
            "preset": prov.preset,
            "version": prov.version,
            "timings": caption.timings,
        }
        keywords = [(clean_keyword(k.keyword), float(k.score)) for k in caption.keywords]
        with self._txn() as conn:
            source = self._require_file(conn, file_id)
            replaceable = source not in PROTECTED_SOURCES
            if not replaceable and force:
                replaceable = self._may_replace(conn, file_id, job_id)
            caption_id = self._insert_caption(
                conn, file_id, caption.text, "model", prov.clap, prov.llm, params, keywords
            )
            if replaceable:
                self._make_current(
                    conn,
                    file_id,
                    caption_id,
                    caption.text,
                    [k for k, _ in keywords],
                    "model",
                    f"{prov.clap} | {prov.llm}",
                )
            self._store_embedding(conn, file_id, embedding_model_id, vector, prov.policy_key)
            self._store_tags(conn, file_id, embedding_model_id, caption.tags)
            self._finish_job(conn, file_id, caption.duration_s, job_id)
        return caption_id

    def embedding(self, file_id: int, model_id: str | None = None) -> np.ndarray | None:
        """The stored audio embedding of a file (float32), or ``None``.

        Args:
            file_id: The file.
            model_id: Which model's embedding; ``None`` takes the newest of any model.
        """
        if model_id is None:
            row = self._conn.execute(
                "SELECT vector FROM embeddings WHERE file_id = ? ORDER BY id DESC LIMIT 1",
                (file_id,),
            ).fetchone()
        else:
            row = self._conn.execute(
                "SELECT vector FROM embeddings WHERE file_id = ? AND model_id = ?",
                (file_id, model_id),
            ).fetchone()
        return None if row is None else np.frombuffer(row[0], dtype=np.float32).copy()

    def embedding_models(self) -> list[tuple[str, int]]:
        """Embedding model ids with their embedding counts, most used first."""
        return [
            (str(row[0]), int(row[1]))
            for row in self._conn.execute(
                "SELECT model_id, count(*) FROM embeddings GROUP BY model_id "
                "ORDER BY count(*) DESC, model_id"
            )
        ]

    # -- helpers -----------------------------------------------------------------------------

    def _require_file(self, conn: sqlite3.Connection, file_id: int) -> str | None:
        """The file's current caption source; raises ``UnknownFileError`` if there is none."""
        row = conn.execute("SELECT caption_source FROM files WHERE id = ?", (file_id,)).fetchone()
        if row is None:
            raise UnknownFileError(
                f"the file (id {file_id}) is no longer in the library; it was removed meanwhile"
            )
        return None if row[0] is None else str(row[0])

    def _may_replace(self, conn: sqlite3.Connection, file_id: int, job_id: int | None) -> bool:
        """Whether a forced job may replace the file's current (user) caption: only the
        caption it was queued to replace (jobs without a job id: direct calls, always)."""
        if job_id is None:
            return True
        row = conn.execute(
            "SELECT j.replaces_caption_id, f.caption_id FROM jobs j JOIN files f "
            "ON f.id = j.file_id WHERE j.id = ?",
            (job_id,),
        ).fetchone()
        return row is not None and row[0] is not None and row[0] == row[1]

    def _caption_record(self, row: tuple[Any, ...]) -> CaptionRecord:
        keywords = tuple(
            (str(k), float(s))
            for k, s in self._conn.execute(
                "SELECT keyword, score FROM caption_keywords WHERE caption_id = ? "
                "ORDER BY position",
                (row[0],),
            )
        )
        try:
            params = json.loads(row[6]) if row[6] else {}
        except ValueError:
            params = {}
        return CaptionRecord(
            id=row[0],
            file_id=row[1],
            text=row[2],
            keywords=keywords,
            source=row[3],
            clap=row[4],
            llm=row[5],
            params=params,
            created_at=row[7],
            current=bool(row[8]),
        )
