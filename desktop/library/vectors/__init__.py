"""Approximate-nearest-neighbour search over stored audio embeddings, on disk beside the library.

Layout: ``<database>.vectors/<hash of model id>.json`` (the manifest) naming the current
generation's parts ``<hash>.<generation>.keys.npy`` (file id and ``embeddings.id`` per vector)
and either ``.vectors.npy`` (exact: a float32 matrix, below ``exact_below`` vectors) or
``.graph.usearch`` (an HNSW graph over half-precision vectors). See ``index.py`` for the
in-memory delta, ``_files.py`` for atomic replacement and ``_table.py`` for the change log.

Why usearch (measured by ``benchmarks/bench_vectors.py``, results in
``benchmarks/results/vectors.json``; summary in docs/ARCHITECTURE.md "Vector index"): of the
three candidates it alone maps the whole index, graph included, read-only from disk (open in
0.05 s at 200k, 0.3-0.9 s cold at 1M where its view walks the node headers, against 13 s to
load today's matrix; faiss-cpu reads its HNSW graph into RAM, hnswlib the whole index), it
removes vectors in place (faiss's HNSW cannot), adds 2x faster than faiss, stores half
precision with the same recall as float32, and is the smallest wheel. What it lacks is a
filtered search in its Python API, so ``allowed`` subsets are served by over-fetching (see
``VectorIndex.search``), and its int8 storage uses a fixed scale that caps recall near 0.95.
"""

from __future__ import annotations

from pathlib import Path

from desktop.library.vectors.index import (
    BuildCancelledError,
    Progress,
    QueryVectorError,
    SyncReport,
    VectorIndex,
    VectorIndexConfig,
    VectorIndexError,
)

__all__ = [
    "BuildCancelledError",
    "Progress",
    "QueryVectorError",
    "SyncReport",
    "VectorIndex",
    "VectorIndexConfig",
    "VectorIndexError",
    "vectors_folder",
]


def vectors_folder(database: str | Path) -> Path | None:
    """Where a library's vector indexes live: ``<database path>.vectors`` (``None`` for
    an in-memory database)."""
    if str(database) == ":memory:":
        return None
    path = Path(database).resolve()
    return path.with_name(path.name + ".vectors")
