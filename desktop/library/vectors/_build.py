"""Building generations: from the whole table, or by folding a delta into the current one."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from desktop.library.vectors import _table
from desktop.library.vectors._files import (
    Manifest,
    model_key,
    new_generation,
    read_manifest,
    remove_stale,
    sampled_checksum,
    write_manifest,
)
from desktop.library.vectors._parts import (
    AnnPart,
    FlatPart,
    Part,
    new_graph,
    usearch_version,
    write_ann,
    write_npy,
)

if TYPE_CHECKING:
    from desktop.library.vectors._config import VectorIndexConfig

__all__ = ["Built", "from_table", "merged", "open_current", "reopen", "write"]

log = logging.getLogger(__name__)

#: Rows added to a graph per call while building (progress is reported between calls).
_BUILD_CHUNK = 16384


@dataclass
class Built:
    """A generation built in memory, not yet on disk.

    Attributes:
        kind: ``"exact"`` or ``"ann"``.
        file_ids: Sorted file ids.
        rowids: ``embeddings.id`` of each, aligned with ``file_ids``.
        vectors: ``exact``: float32 matrix aligned with ``file_ids``.
        graph: ``ann``: in-memory usearch index keyed by file id.
        part: A searchable part over the in-memory data.
    """

    kind: str
    file_ids: np.ndarray
    rowids: np.ndarray
    vectors: np.ndarray | None
    graph: Any
    part: Part


def _exact(file_ids: np.ndarray, rowids: np.ndarray, vectors: np.ndarray) -> Built:
    order = np.argsort(file_ids, kind="stable")
    ids, rows, vecs = file_ids[order], rowids[order], np.ascontiguousarray(vectors[order])
    return Built("exact", ids, rows, vecs, None, FlatPart(ids, vecs))


def _ann(
    blocks: Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]],
    total: int,
    dim: int,
    config: VectorIndexConfig,
    progress: Callable[[int, int], bool] | None,
) -> Built | None:
    """A graph over ``(file_ids, rowids, vectors)`` blocks; ``None`` if cancelled."""
    graph = new_graph(dim, config.dtype, config.connectivity, config.expansion_add)
    file_ids: list[np.ndarray] = []
    rowids: list[np.ndarray] = []
    done = 0
    t0 = time.perf_counter()
    for ids, rows, vectors in blocks:
        graph.add(ids.astype(np.uint64), vectors, threads=config.threads)
        file_ids.append(ids)
        rowids.append(rows)
        done += ids.size
        if progress is not None and progress(done, total) is False:
            return None
    log.info("vector graph of %d built in %.1f s", done, time.perf_counter() - t0)
    all_ids = np.concatenate(file_ids) if file_ids else np.zeros(0, np.int64)
    all_rows = np.concatenate(rowids) if rowids else np.zeros(0, np.int64)
    order = np.argsort(all_ids, kind="stable")
    ids, rows = all_ids[order], all_rows[order]
    return Built("ann", ids, rows, None, graph, AnnPart(ids, graph, dim, config.expansion_search))


def from_table(
    conn: sqlite3.Connection,
    model_id: str,
    dim: int,
    config: VectorIndexConfig,
    progress: Callable[[int, int], bool] | None,
) -> Built | None:
    """A generation holding every ``dim``-sized embedding of the model (inside a snapshot).

    Returns:
        The generation, or ``None`` when ``progress`` cancelled.
    """
    total = _table.count_rows(conn, model_id, dim)
    if total < config.exact_below:
        parts = list(_table.all_rows(conn, model_id, dim))
        if not parts:
            empty = np.zeros(0, np.int64)
            return _exact(empty, empty, np.zeros((0, dim), np.float32))
        return _exact(
            np.concatenate([p.file_ids for p in parts]),
            np.concatenate([p.rowids for p in parts]),
            np.concatenate([p.vectors for p in parts]),
        )
    blocks = (
        (rows.file_ids, rows.rowids, rows.vectors)
        for rows in _table.all_rows(conn, model_id, dim, chunk=_BUILD_CHUNK)
    )
    return _ann(blocks, total, dim, config, progress)


def merged(
    part: Part,
    kind: str,
    file_ids: np.ndarray,
    rowids: np.ndarray,
    dead: np.ndarray,
    delta: _table.Rows,
    dim: int,
    config: VectorIndexConfig,
) -> Built:
    """The current generation with dead positions dropped and the delta added."""
    live = np.flatnonzero(~dead)
    ids = np.concatenate([file_ids[live], delta.file_ids])
    rows = np.concatenate([rowids[live], delta.rowids])
    if kind == "exact":
        vectors = np.concatenate([part.vectors(live), delta.vectors])
        if ids.size < config.exact_below:
            return _exact(ids, rows, vectors)

        step = _BUILD_CHUNK
        blocks = (
            (ids[i : i + step], rows[i : i + step], vectors[i : i + step])
            for i in range(0, ids.size, step)
        )
        built = _ann(blocks, int(ids.size), dim, config, None)
        assert built is not None
        return built
    assert isinstance(part, AnnPart)
    graph = part.mutable_copy()
    gone = file_ids[dead]
    if gone.size:
        graph.remove(gone.astype(np.uint64))
    if delta.file_ids.size:
        graph.add(delta.file_ids.astype(np.uint64), delta.vectors, threads=config.threads)
    order = np.argsort(ids, kind="stable")
    ids, rows = ids[order], rows[order]
    return Built("ann", ids, rows, None, graph, AnnPart(ids, graph, dim, config.expansion_search))


def _part_name(model_id: str, generation: str, part: str) -> str:
    return f"{model_key(model_id)}.{generation}.{part}"


def write(
    folder: Path,
    model_id: str,
    dim: int,
    built: Built,
    seq: int,
    removed_since_build: int,
    config: VectorIndexConfig,
) -> tuple[str, dict[str, Path]]:
    """Write ``built`` as a new generation and make it current (hold ``file_lock``).

    Returns:
        The generation name and its part files by part name.
    """
    generation = new_generation(seq)
    files: dict[str, Path] = {"keys": folder / _part_name(model_id, generation, "keys.npy")}
    write_npy(files["keys"], np.stack([built.file_ids, built.rowids], axis=1).astype(np.int64))
    extra: dict[str, Any] = {"removed_since_build": removed_since_build}
    engine = ""
    if built.kind == "exact":
        assert built.vectors is not None
        files["vectors"] = folder / _part_name(model_id, generation, "vectors.npy")
        write_npy(files["vectors"], built.vectors.astype(np.float32))
    else:
        files["graph"] = folder / _part_name(model_id, generation, "graph.usearch")
        write_ann(files["graph"], built.graph)
        engine = usearch_version()
        extra.update(
            dtype=config.dtype,
            connectivity=config.connectivity,
            expansion_add=config.expansion_add,
        )
    parts = {}
    for name, path in files.items():
        size = path.stat().st_size
        parts[name] = {"file": path.name, "size": size, "crc": sampled_checksum(path, size)}
    write_manifest(
        folder,
        Manifest(
            model_id=model_id,
            dim=dim,
            kind=built.kind,
            generation=generation,
            parts=parts,
            count=int(built.file_ids.size),
            log_seq=seq,
            engine=engine,
            written_at=time.time(),
            extra=extra,
        ),
    )
    remove_stale(folder, model_id, keep=generation)
    return generation, files


def reopen(files: dict[str, Path], built: Built, dim: int, config: VectorIndexConfig) -> Part:
    """Map the generation just written, so its memory becomes page cache; the in-memory
    part if mapping fails."""
    try:
        if built.kind == "exact":
            return FlatPart.from_file(built.file_ids, files["vectors"], dim)
        return AnnPart.from_file(built.file_ids, files["graph"], dim, config.expansion_search)
    except (OSError, ValueError, RuntimeError) as exc:
        log.warning("serving the vector index from memory: %s", exc)
        return built.part


def open_current(
    folder: Path, model_id: str, dim: int, config: VectorIndexConfig
) -> tuple[tuple[Manifest, Part, np.ndarray] | None, str]:
    """Map the model's current generation: ``((manifest, part, keys), "")`` or
    ``(None, why it is unusable)`` (missing, another size, truncated, corrupt)."""
    manifest, why = read_manifest(folder, model_id)
    if manifest is None:
        return None, why
    if manifest.dim != dim or manifest.kind not in ("exact", "ann"):
        return None, f"index is {manifest.dim}-d {manifest.kind}, wanted {dim}-d"
    try:
        keys = np.load(folder / manifest.parts["keys"]["file"], mmap_mode="r", allow_pickle=False)
        if keys.shape != (manifest.count, 2) or keys.dtype != np.int64:
            raise ValueError(f"key part has shape {keys.shape}, expected {manifest.count}")
        file_ids = np.asarray(keys[:, 0])
        part: Part
        if manifest.kind == "exact":
            part = FlatPart.from_file(file_ids, folder / manifest.parts["vectors"]["file"], dim)
        else:
            path = folder / manifest.parts["graph"]["file"]
            part = AnnPart.from_file(file_ids, path, dim, config.expansion_search)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        log.warning("vector index of %s unusable, it will be rebuilt: %s", model_id, exc)
        return None, f"index files unreadable ({exc})"
    return (manifest, part, np.asarray(keys)), ""
