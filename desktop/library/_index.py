"""The index stage's results: audio embeddings and keyword tags stored before any caption, so a
library is searchable by description in minutes; the part of ``Library`` the index loop writes
and the caption loop reuses."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import numpy as np

from captioner.types import AudioIndex, KeywordScore
from desktop.library._base import LibraryBase, now
from desktop.library.errors import InvalidCaptionError, UnknownFileError

__all__ = ["IndexMixin"]

log = logging.getLogger(__name__)


def _vector(embedding: np.ndarray) -> np.ndarray:
    vector = np.asarray(embedding, dtype=np.float32).reshape(-1)
    if vector.size == 0 or not np.all(np.isfinite(vector)):
        raise InvalidCaptionError("audio embedding must be a non-empty finite vector")
    return vector


class IndexMixin(LibraryBase):
    """Store, reuse and queue index results."""

    def save_index(
        self,
        file_id: int,
        result: AudioIndex,
        *,
        embedding_model_id: str,
        job_id: int | None = None,
    ) -> None:
        """Store an index result (embedding, tags, job state) in one transaction.

        Raises:
            UnknownFileError: No such file (removed meanwhile).
            InvalidCaptionError: The embedding is not a finite 1-d vector.
        """
        vector = _vector(result.audio_embedding)
        with self._txn() as conn:
            if conn.execute("SELECT 1 FROM files WHERE id = ?", (file_id,)).fetchone() is None:
                raise UnknownFileError(
                    f"the file (id {file_id}) is no longer in the library; it was removed meanwhile"
                )
            self._store_embedding(conn, file_id, embedding_model_id, vector, result.policy_key)
            self._store_tags(conn, file_id, embedding_model_id, result.tags)
            self._finish_job(conn, file_id, result.duration_s, job_id)

    def stored_index(
        self, file_ids: Sequence[int], model_id: str, policy_key: str
    ) -> dict[int, AudioIndex]:
        """Index results a caption can reuse: same model, same window configuration."""
        ids = json.dumps([int(i) for i in file_ids])
        tags: dict[int, list[KeywordScore]] = {}
        for file_id, keyword, score in self._conn.execute(
            "SELECT file_id, keyword, score FROM file_tags WHERE model_id = ? "
            "AND file_id IN (SELECT value FROM json_each(?)) ORDER BY file_id, position",
            (model_id, ids),
        ):
            tags.setdefault(int(file_id), []).append(KeywordScore(str(keyword), float(score)))
        out: dict[int, AudioIndex] = {}
        for file_id, vector, duration in self._conn.execute(
            "SELECT e.file_id, e.vector, f.duration_s FROM embeddings e "
            "JOIN files f ON f.id = e.file_id WHERE e.model_id = ? AND e.policy = ? "
            "AND e.file_id IN (SELECT value FROM json_each(?))",
            (model_id, policy_key, ids),
        ):
            out[int(file_id)] = AudioIndex(
                audio_embedding=np.frombuffer(vector, dtype=np.float32).copy(),
                tags=tags.get(int(file_id), []),
                window_policy="stored",
                policy_key=policy_key,
                duration_s=duration,
            )
        return out

    def tags_of(self, file_id: int, model_id: str | None = None) -> list[tuple[str, float]]:
        """The file's index tags with scores, best first (of the newest model by default)."""
        model_id = model_id or self._newest_model(file_id)
        if model_id is None:
            return []
        return [
            (str(k), float(s))
            for k, s in self._conn.execute(
                "SELECT keyword, score FROM file_tags WHERE file_id = ? AND model_id = ? "
                "ORDER BY position",
                (file_id, model_id),
            )
        ]

    def enqueue_unindexed(self, model_id: str, policy_key: str | None = None) -> int:
        """Queue an index job for every readable file that has no embedding of ``model_id``
        (computed with ``policy_key``, when given); returns how many were queued."""
        stamp = now()
        with self._txn() as conn:
            cur = conn.execute(
                "INSERT INTO jobs(file_id, state, kind, created_at, updated_at) "
                "SELECT f.id, 'queued', 'index', ?, ? FROM files f WHERE f.status = 'ok' "
                "AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.file_id = f.id "
                "AND e.model_id = ? AND (? IS NULL OR e.policy = ?)) "
                "AND NOT EXISTS (SELECT 1 FROM jobs p WHERE p.file_id = f.id "
                "AND p.kind = 'index' AND p.state IN ('queued', 'running')) "
                "ORDER BY f.folder, f.name",
                (stamp, stamp, model_id, policy_key, policy_key),
            )
            return max(cur.rowcount, 0)

    def indexed_count(self, model_id: str) -> int:
        """Files that are not missing and have an embedding of ``model_id``."""
        return int(
            self._conn.execute(
                "SELECT count(*) FROM embeddings e JOIN files f ON f.id = e.file_id "
                "WHERE e.model_id = ? AND f.status != 'missing'",
                (model_id,),
            ).fetchone()[0]
        )
