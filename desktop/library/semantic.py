"""Similarity search over stored audio embeddings, per model.

Two back ends behind one :class:`EmbeddingIndex`:

- given a ``folder`` (``desktop.library.vectors.vectors_folder(db)``), the on-disk vector index
  (``desktop.library.vectors``): memory-mapped, approximate above a size, caught up from the
  change log before each search; what a large library needs;
- without one, the original in-memory matrix: reading a million 512-d vectors out of SQLite
  takes seconds, scoring them with numpy takes a fraction of that, so each model's vectors are
  loaded once into a float32 matrix and kept in step incrementally: rows added since the last
  load (by rowid) are appended; a deletion or a replaced vector triggers a reload.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from desktop.library.vectors import VectorIndex, VectorIndexConfig

__all__ = ["EmbeddingIndex", "rrf_fuse"]

log = logging.getLogger(__name__)

#: Rows scored per numpy call: bounds the temporary score buffer and keeps caches warm.
_BLOCK = 131072


@dataclass
class _Matrix:
    ids: np.ndarray  # int64 file ids, one per row
    vectors: np.ndarray  # float32 (n, dim), unit rows
    max_rowid: int
    count: int


class EmbeddingIndex:
    """Cosine-similarity search over ``embeddings`` rows of one connection, per model."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        folder: Path | None = None,
        config: VectorIndexConfig | None = None,
    ) -> None:
        """Search ``conn``'s embeddings; with ``folder``, through the on-disk vector index.

        Args:
            conn: The library connection (used from its own thread only).
            folder: Where vector indexes live (see ``vectors_folder``); ``None``: in memory.
            config: Vector index parameters (with ``folder`` only).
        """
        self._conn = conn
        self._cache: dict[str, _Matrix] = {}
        self._stamps: dict[str, tuple[int, int]] = {}
        self._folder = folder
        self._config = config
        self._vectors: dict[str, VectorIndex] = {}

    def invalidate(self) -> None:
        """Drop every cached matrix and close mapped vector indexes (after bulk deletes)."""
        self._cache.clear()
        self._stamps.clear()
        for index in self._vectors.values():
            index.close()
        self._vectors.clear()

    def _vector_index(self, model_id: str) -> VectorIndex | None:
        index = self._vectors.get(model_id)
        if index is None:
            row = self._conn.execute(
                "SELECT dim FROM embeddings WHERE model_id = ? GROUP BY dim "
                "ORDER BY count(*) DESC LIMIT 1",
                (model_id,),
            ).fetchone()
            if row is None:
                return None
            index = VectorIndex.open(self._folder, model_id, int(row[0]), self._config)
            self._vectors[model_id] = index
        index.sync(self._conn)
        return index

    def matrix(self, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """``(file_ids, vectors)`` for a model, refreshed from the database if it changed."""
        # data_version moves when another connection commits, total_changes when this one
        # writes: if neither moved, the cached matrix is current without touching the table.
        stamp = (
            self._conn.execute("PRAGMA data_version").fetchone()[0],
            self._conn.total_changes,
        )
        cached = self._cache.get(model_id)
        if cached is not None and self._stamps.get(model_id) == stamp:
            return cached.ids, cached.vectors
        self._stamps[model_id] = stamp
        max_rowid, count = self._conn.execute(
            "SELECT coalesce(max(id), 0), count(*) FROM embeddings WHERE model_id = ?",
            (model_id,),
        ).fetchone()
        if cached is not None and cached.max_rowid == max_rowid and cached.count == count:
            return cached.ids, cached.vectors
        if cached is not None and max_rowid > cached.max_rowid:
            ids, vectors, new_max, seen = self._load(model_id, cached.max_rowid)
            replaced = bool(np.isin(ids, cached.ids).any()) if ids.size else False
            same_dim = bool(cached.ids.size) and vectors.shape[1] == cached.vectors.shape[1]
            if not replaced and same_dim and cached.count + seen == count:
                cached = _Matrix(
                    np.concatenate([cached.ids, ids]),
                    np.concatenate([cached.vectors, vectors]),
                    new_max,
                    count,
                )
                self._cache[model_id] = cached
                return cached.ids, cached.vectors
        ids, vectors, new_max, seen = self._load(model_id, 0)
        self._cache[model_id] = _Matrix(ids, vectors, new_max, seen)
        return ids, vectors

    def _load(self, model_id: str, after_rowid: int) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Vectors with rowid > ``after_rowid``: ``(file_ids, vectors, max_rowid, rows_seen)``.

        Fills a preallocated matrix block by block, so peak memory stays near the matrix size.
        """
        conn = self._conn
        dims = conn.execute(
            "SELECT dim, count(*), max(id) FROM embeddings WHERE model_id = ? AND id > ? "
            "GROUP BY dim ORDER BY count(*) DESC",
            (model_id, after_rowid),
        ).fetchall()
        if not dims:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32), after_rowid, 0
        if len(dims) > 1:
            log.warning(
                "model %s has embeddings of several sizes; using %d-d", model_id, dims[0][0]
            )
        dim, n = int(dims[0][0]), int(dims[0][1])
        seen = sum(int(row[1]) for row in dims)
        max_rowid = max(int(row[2]) for row in dims)
        ids = np.empty(n, dtype=np.int64)
        vectors = np.empty((n, dim), dtype=np.float32)
        cur = conn.execute(
            "SELECT file_id, vector FROM embeddings WHERE model_id = ? AND id > ? AND dim = ? "
            "ORDER BY id",
            (model_id, after_rowid, dim),
        )
        filled = 0
        while batch := cur.fetchmany(8192):
            m = min(len(batch), n - filled)  # rows added meanwhile are picked up next time
            ids[filled : filled + m] = [row[0] for row in batch[:m]]
            block = np.frombuffer(b"".join(row[1] for row in batch[:m]), dtype=np.float32)
            vectors[filled : filled + m] = block.reshape(m, dim)
            filled += m
            if filled >= n:
                break
        ids, vectors = ids[:filled], vectors[:filled]
        # Stored vectors should be unit already; normalising again makes dot = cosine anyway.
        for start in range(0, filled, _BLOCK):
            part = vectors[start : start + _BLOCK]
            part /= np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-12)
        return ids, vectors, max_rowid, seen

    def search(
        self,
        model_id: str,
        query: np.ndarray,
        k: int,
        exclude: int | None = None,
        allowed: Collection[int] | None = None,
    ) -> list[tuple[int, float]]:
        """The ``k`` files most similar to ``query`` as ``(file_id, cosine)``, best first.

        Args:
            model_id: Embedding model.
            query: Query vector.
            k: Most results.
            exclude: A file never returned.
            allowed: Only these files may be returned.

        Raises:
            ValueError: ``query``'s size differs from the stored vectors'.
        """
        if self._folder is not None:
            index = self._vector_index(model_id)
            if index is None:
                return []
            return index.search(query, k, exclude=exclude, allowed=allowed)
        ids, vectors = self.matrix(model_id)
        if ids.size == 0 or k <= 0:
            return []
        q = np.asarray(query, dtype=np.float32).reshape(-1)
        if q.size != vectors.shape[1]:
            raise ValueError(
                f"query embedding has {q.size} dimensions, stored ones have {vectors.shape[1]}"
            )
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        scores = np.empty(ids.size, dtype=np.float32)
        for start in range(0, ids.size, _BLOCK):
            np.dot(vectors[start : start + _BLOCK], q, out=scores[start : start + _BLOCK])
        if exclude is not None:
            scores[ids == exclude] = -np.inf
        if allowed is not None:
            scores[~np.isin(ids, np.fromiter(allowed, dtype=np.int64))] = -np.inf
        k = min(k, ids.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]


def rrf_fuse(rankings: list[list[int]], k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion: ``score(d) = sum 1 / (k + rank)`` over the rankings.

    Args:
        rankings: Lists of ids, best first.
        k: Damping constant (60 in Cormack et al. 2009).
    """
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
