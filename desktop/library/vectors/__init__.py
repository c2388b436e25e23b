"""Approximate-nearest-neighbour search over stored audio embeddings, on disk beside the library.

Layout: ``<database>.vectors/<hash of model id>.json`` (the manifest) naming the current
generation's parts ``<hash>.<generation>.keys.npy`` (file id and ``embeddings.id`` per vector)
and either ``.vectors.npy`` (exact: a float32 matrix, below ``exact_below`` vectors) or
``.graph.usearch`` (an HNSW graph over half-precision vectors). See ``index.py`` for the
in-memory delta, ``_files.py`` for atomic replacement and ``_table.py`` for the change log.

Why usearch: see docs/ARCHITECTURE.md ("Vector index") and ``benchmarks/results/vectors.json``.
"""

from __future__ import annotations

from pathlib import Path

from desktop.library.vectors.index import (
    BuildCancelledError,
    Progress,
    SyncReport,
    VectorIndex,
    VectorIndexConfig,
    VectorIndexError,
)

__all__ = [
    "BuildCancelledError",
    "Progress",
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
