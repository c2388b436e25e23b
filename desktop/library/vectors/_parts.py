"""The searchable parts of a generation: an exact flat matrix, or an HNSW graph (usearch).

Both answer the same three questions over a fixed set of file ids sorted ascending: the best
``count`` matches of a query (optionally skipping some positions), the vectors of given
positions, and how many there are. Both are opened memory-mapped: nothing is read up front but
usearch's walk over its node headers (0.3-0.9 s cold at 1M), pages come in as searches touch
them (helped by read-ahead).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np

__all__ = [
    "AnnPart",
    "FlatPart",
    "Part",
    "exact_top",
    "new_graph",
    "usearch_version",
    "write_ann",
    "write_npy",
]

log = logging.getLogger(__name__)

#: Rows scored per numpy call in exact search: bounds the temporary buffer.
_BLOCK = 65536


class Part(Protocol):
    """A searchable, immutable set of vectors of the files in ``file_ids`` (sorted)."""

    file_ids: np.ndarray

    def top(
        self, q: np.ndarray, count: int, dead: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``count`` ``(file_ids, cosines)`` best first (approximate for ANN).

        ``dead`` marks positions to leave out; a part that cannot skip them itself returns
        them and the caller filters (over-fetching to make up).
        """
        ...

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        """float32 vectors of these positions (in ``file_ids``)."""
        ...

    def close(self) -> None:
        """Release the mapping."""
        ...


def exact_top(
    vectors: np.ndarray, q: np.ndarray, count: int, dead: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top ``count`` rows of ``vectors @ q``, rows with ``dead[i]`` skipped."""
    n = len(vectors)
    if n == 0 or count <= 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    scores = np.empty(n, dtype=np.float32)
    for start in range(0, n, _BLOCK):
        np.dot(vectors[start : start + _BLOCK], q, out=scores[start : start + _BLOCK])
    if dead is not None:
        scores[dead] = -np.inf
    count = min(count, n)
    top = np.argpartition(-scores, count - 1)[:count]
    top = top[np.argsort(-scores[top], kind="stable")]
    top = top[np.isfinite(scores[top])]
    return top.astype(np.int64), scores[top]


def write_npy(path: Path, array: np.ndarray) -> None:
    """Write an array as ``.npy`` and flush it to disk (the manifest commits it later)."""
    with path.open("wb") as f:
        np.save(f, np.ascontiguousarray(array), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


class FlatPart:
    """Exact search over a float32 matrix (small libraries), memory-mapped when from a file."""

    def __init__(self, file_ids: np.ndarray, vectors: np.ndarray) -> None:
        self.file_ids = file_ids
        self._vectors = vectors

    @classmethod
    def from_file(cls, file_ids: np.ndarray, path: Path, dim: int) -> FlatPart:
        """Map a ``.npy`` matrix written by :func:`write_npy`.

        Raises:
            ValueError: The file does not hold ``len(file_ids)`` float32 ``dim``-vectors.
        """
        vectors = np.load(path, mmap_mode="r", allow_pickle=False)
        if vectors.shape != (file_ids.size, dim) or vectors.dtype != np.float32:
            raise ValueError(f"vector part has shape {vectors.shape}, expected {dim}-d")
        return cls(file_ids, vectors)

    def top(
        self, q: np.ndarray, count: int, dead: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact best ``count`` files, ``dead`` positions skipped."""
        top, scores = exact_top(self._vectors, q, count, dead)
        return self.file_ids[top], scores

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        """float32 vectors of these positions."""
        return np.asarray(self._vectors[positions], dtype=np.float32)

    def close(self) -> None:
        """Drop the mapping (numpy unmaps when the last reference goes)."""
        self._vectors = np.zeros((0, 0), np.float32)


def _read_ahead(path: Path) -> None:
    """Ask the OS to page the file in (asynchronously), so early searches do not each wait
    for random disk reads (1.2 s for the first query at 1M on a cold cache otherwise)."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            advise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        finally:
            os.close(fd)
    except OSError as exc:
        log.debug("no read-ahead for %s: %s", path, exc)


def usearch_version() -> str:
    """The installed usearch version (recorded in manifests)."""
    from importlib.metadata import version

    return f"usearch {version('usearch')}"


class AnnPart:
    """HNSW search over a usearch index whose keys are the file ids (mapped from a file, or
    in memory right after a build)."""

    def __init__(self, file_ids: np.ndarray, graph: Any, dim: int, expansion_search: int) -> None:
        self.file_ids = file_ids
        self._index: Any = graph
        self._ef = expansion_search
        self._dim = dim

    @classmethod
    def from_file(
        cls, file_ids: np.ndarray, path: Path, dim: int, expansion_search: int
    ) -> AnnPart:
        """Memory-map a saved graph (``view``: nothing is read until searches touch it).

        Raises:
            ValueError: The file is not a usearch index of ``len(file_ids)`` ``dim``-vectors.
        """
        from usearch.index import Index

        meta = Index.metadata(str(path))
        if (
            not meta
            or int(meta["dimensions"]) != dim
            or int(meta["count_present"]) != file_ids.size
        ):
            raise ValueError("graph part does not match the generation's keys")
        graph = Index.restore(str(path), view=True)
        _read_ahead(path)
        return cls(file_ids, graph, dim, expansion_search)

    def mutable_copy(self) -> Any:
        """An in-memory copy of the graph that can take additions and removals."""
        return self._index.copy()

    def top(
        self, q: np.ndarray, count: int, dead: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Approximate best ``count`` files (graph search, one thread); ``dead`` is not
        applied here (usearch's Python API has no filter): the caller filters."""
        count = min(count, self.file_ids.size)
        if count <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        # The beam must be at least as wide as the result list.
        self._index.expansion_search = max(self._ef, count)
        matches = self._index.search(q, count, threads=1)
        keys = np.asarray(matches.keys, dtype=np.int64)
        # Inner-product "distance" is 1 - dot; vectors are unit, so 1 - distance is the cosine.
        return keys, (1.0 - np.asarray(matches.distances, dtype=np.float32))

    def vectors(self, positions: np.ndarray) -> np.ndarray:
        """Vectors of these positions, decoded from the stored (half or int8) precision."""
        if positions.size == 0:
            return np.zeros((0, self._dim), np.float32)
        got = self._index.get(self.file_ids[positions].astype(np.uint64), dtype="f32")
        return np.stack([np.asarray(v, dtype=np.float32).reshape(-1) for v in got])

    def close(self) -> None:
        """Unmap the graph."""
        self._index = None


def new_graph(dim: int, dtype: str, connectivity: int, expansion_add: int) -> Any:
    """An empty in-memory usearch index with Earmark's parameters (inner product)."""
    from usearch.index import Index

    return Index(
        ndim=dim,
        metric="ip",
        dtype=dtype,
        connectivity=connectivity,
        expansion_add=expansion_add,
    )


def write_ann(path: Path, graph: Any) -> None:
    """Save a usearch index and flush it to disk."""
    graph.save(str(path))
    with path.open("rb+") as f:
        os.fsync(f.fileno())
