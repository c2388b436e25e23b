"""The vector index's configuration, report and errors (shared by its modules)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from desktop.library.errors import LibraryError

__all__ = [
    "BuildCancelledError",
    "Progress",
    "QueryVectorError",
    "SyncReport",
    "VectorIndexConfig",
    "VectorIndexError",
]

#: ``progress(done, total)`` during a (re)build; returning ``False`` cancels it.
Progress = Callable[[int, int], bool]


class VectorIndexError(LibraryError):
    """The vector index cannot be used (database too old, query of the wrong size)."""


class QueryVectorError(VectorIndexError, ValueError):
    """The search vector does not fit the index (another size: another model)."""


class BuildCancelledError(VectorIndexError):
    """A (re)build was cancelled through its progress callback; the old state is kept."""


@dataclass(frozen=True)
class VectorIndexConfig:
    """How the index is built and searched (defaults chosen by ``benchmarks/bench_vectors.py``).

    Attributes:
        exact_below: Below this many vectors the index is an exact flat matrix (no graph):
            exact search is then about as fast, needs no build, and is never wrong.
        delta_max: Changes (added + replaced + deleted) kept in memory before they are
            written into a new generation.
        rebuild_fraction: Deletions since the graph was built, as a fraction of it, past which
            the graph is rebuilt from the table instead of patched (HNSW degrades with holes:
            at 1M, 4% removed and re-added cost 1.5 points of recall@10).
        dtype: Stored precision of graph vectors: ``"f16"`` (scores within ~1e-3 of float32)
            or ``"i8"`` (a quarter of float32; coarser scores, lower recall).
        connectivity: HNSW graph degree ("M").
        expansion_add: Beam width while inserting ("efConstruction").
        expansion_search: Beam width while searching ("ef"): recall vs latency. At 1M
            clustered: 64 gave recall@10 0.962 (fresh graph) / 0.948 (patched), 128 gave
            0.978 / 0.964; 96 keeps a patched graph above 0.95.
        exact_subset_max: An ``allowed`` subset at most this large is searched exactly.
        max_fetch: Most graph results fetched to make up for filtered ones before falling
            back to exact search over the allowed subset.
        threads: Build threads (0: all cores). Searches use one thread each.
    """

    exact_below: int = 20_000
    delta_max: int = 8192
    rebuild_fraction: float = 0.1
    dtype: str = "f16"
    connectivity: int = 16
    expansion_add: int = 128
    expansion_search: int = 96
    exact_subset_max: int = 1024
    max_fetch: int = 4096
    threads: int = 0


@dataclass
class SyncReport:
    """What :meth:`VectorIndex.sync` did.

    Attributes:
        changed: Files whose embedding was added, replaced or deleted since the last sync.
        rebuilt: Why the index was rebuilt from the whole table (``""``: it was not).
        written: Whether a new generation was written to disk.
        seconds: Wall time.
    """

    changed: int = 0
    rebuilt: str = ""
    written: bool = False
    seconds: float = 0.0
