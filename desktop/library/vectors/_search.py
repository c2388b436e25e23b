"""Searching the state of a :class:`~desktop.library.vectors.index.VectorIndex`: the in-memory
delta (exact), the generation (exact or graph, with dead and filtered files skipped), and the
id-array helpers both use."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from desktop.library.vectors._config import VectorIndexConfig
from desktop.library.vectors._parts import Part, exact_top

__all__ = ["Delta", "as_ids", "positions", "search_delta", "search_part", "sorted_unique"]

_EMPTY = (np.zeros(0, np.int64), np.zeros(0, np.float32))


@dataclass
class Delta:
    """Vectors changed since the generation: file id -> (embeddings rowid, unit vector)."""

    rows: dict[int, tuple[int, np.ndarray]] = field(default_factory=dict)
    _cache: tuple[np.ndarray, np.ndarray] | None = None

    def put(self, file_id: int, rowid: int, vector: np.ndarray) -> None:
        self.rows[file_id] = (rowid, vector)
        self._cache = None

    def drop(self, file_id: int) -> None:
        if self.rows.pop(file_id, None) is not None:
            self._cache = None

    def matrix(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """``(file_ids, vectors)`` of the delta as arrays (cached until it changes)."""
        if self._cache is None:
            ids = np.fromiter(self.rows.keys(), dtype=np.int64, count=len(self.rows))
            vectors = (
                np.stack([v for _, v in self.rows.values()])
                if self.rows
                else np.zeros((0, dim), np.float32)
            )
            self._cache = (ids, vectors)
        return self._cache


def search_delta(
    delta: Delta,
    dim: int,
    q: np.ndarray,
    count: int,
    allow: np.ndarray | None,
    excluded: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact best ``count`` of the delta: ``(file_ids, cosines)``."""
    ids, vectors = delta.matrix(dim)
    if ids.size == 0:
        return ids, np.zeros(0, np.float32)
    skip = np.isin(ids, excluded)
    if allow is not None:
        skip |= ~np.isin(ids, allow)
    top, scores = exact_top(vectors, q, count, skip)
    return ids[top], scores


def search_part(
    part: Part | None,
    kind: str,
    dead: np.ndarray,
    dead_count: int,
    config: VectorIndexConfig,
    q: np.ndarray,
    count: int,
    allow: np.ndarray | None,
    excluded: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``count`` of the generation, dead, excluded and non-allowed files skipped."""
    if part is None or part.file_ids.size == 0:
        return _EMPTY
    ids = part.file_ids
    skip = dead.copy() if (dead_count or excluded.size) else None
    if excluded.size:
        assert skip is not None
        skip[positions(ids, excluded)] = True
    if allow is not None:
        pos = positions(ids, allow)
        if skip is not None:
            pos = pos[~skip[pos]]
        if pos.size == 0:
            return _EMPTY
        # Over-fetching needs about count / selectivity graph results; past max_fetch
        # (or for a small subset) scoring the subset exactly is cheaper.
        fetch = count * ids.size / pos.size * 2.0 + 16
        if kind == "exact" or pos.size <= config.exact_subset_max or fetch > config.max_fetch:
            top, scores = exact_top(part.vectors(pos), q, count)
            return ids[pos[top]], scores
        keep = np.zeros(ids.size, bool)
        keep[pos] = True
        skip = ~keep
        live = int(pos.size)
    else:
        live = int(ids.size - (0 if skip is None else int(skip.sum())))
        if live <= 0:
            return _EMPTY
    if kind == "exact":
        return part.top(q, count, skip)
    return _overfetch(part, config, q, count, skip, live)


def _overfetch(
    part: Part,
    config: VectorIndexConfig,
    q: np.ndarray,
    count: int,
    skip: np.ndarray | None,
    live: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Graph results with skipped files filtered out, fetching more until enough."""
    ids = part.file_ids
    n = ids.size
    fetch = count if skip is None else min(n, int(count * n / max(live, 1) * 2.0) + 16)
    while True:
        got, scores = part.top(q, fetch)
        if skip is not None and got.size:
            keep = ~skip[np.searchsorted(ids, got)]
            got, scores = got[keep], scores[keep]
        if got.size >= min(count, live) or fetch >= n:
            return got[:count], scores[:count]
        if fetch >= config.max_fetch:
            # The graph keeps returning filtered files: score the survivors exactly.
            assert skip is not None
            pos = np.flatnonzero(~skip)
            top, exact = exact_top(part.vectors(pos), q, count)
            return ids[pos[top]], exact
        fetch = min(n, fetch * 4, max(config.max_fetch, count))


def as_ids(values: int | Collection[int] | np.ndarray | None) -> np.ndarray:
    if values is None:
        return np.zeros(0, np.int64)
    if isinstance(values, (int, np.integer)):
        return np.array([int(values)], dtype=np.int64)
    if isinstance(values, np.ndarray):
        return values.astype(np.int64, copy=False).reshape(-1)
    return np.fromiter(values, dtype=np.int64, count=len(values))


def sorted_unique(ids: np.ndarray) -> np.ndarray:
    """``np.unique`` without the sort when the ids already ascend (a folder's, say)."""
    if ids.size < 2 or bool(np.all(ids[1:] > ids[:-1])):
        return ids
    return np.unique(ids)


def positions(sorted_ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Positions in ``sorted_ids`` of the ``wanted`` ids that are present."""
    if sorted_ids.size == 0 or wanted.size == 0:
        return np.zeros(0, np.int64)
    pos = np.searchsorted(sorted_ids, wanted)
    inside = pos < sorted_ids.size
    inside[inside] = sorted_ids[pos[inside]] == wanted[inside]
    return pos[inside].astype(np.int64)
