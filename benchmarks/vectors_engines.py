"""The candidate ANN libraries behind one small interface, for ``bench_vectors.py --engines``.

Each candidate (usearch, faiss-cpu, hnswlib) is measured in a child process of its own, so peak
memory is its own: build from a ``.npy`` file, save, open in a fresh state (memory-mapped where
the library can), query one vector at a time over an ``ef`` sweep, then add and delete 10k.
A library that is not installed is reported as skipped, not failed.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ENGINES", "measure_engine"]

#: name -> (import name, dtype) of every configuration compared.
ENGINES: dict[str, tuple[str, str]] = {
    "usearch-f16": ("usearch", "f16"),
    "usearch-i8": ("usearch", "i8"),
    "faiss-hnsw-f16": ("faiss", "f16"),
    "faiss-hnsw-sq8": ("faiss", "i8"),
    "hnswlib-f32": ("hnswlib", "f32"),
}

M = 16  # graph degree, the same for all
EF_CONSTRUCTION = 128
EF_SWEEP = (32, 64, 128, 256)


def _rss() -> dict[str, float]:
    out: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("VmHWM:", "VmRSS:")):
                out[line.split(":")[0]] = round(int(line.split()[1]) / 2**20, 3)
    return out


def _reset_hwm() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


class _Usearch:
    def __init__(self, dim: int, dtype: str) -> None:
        from usearch.index import Index

        self.Index = Index
        self.dim, self.dtype = dim, dtype
        self.index: Any = None

    def build(self, x: np.ndarray, threads: int) -> None:
        self.index = self.Index(
            ndim=self.dim, metric="ip", dtype=self.dtype, connectivity=M,
            expansion_add=EF_CONSTRUCTION,
        )  # fmt: skip
        for start in range(0, len(x), 100_000):
            block = np.ascontiguousarray(x[start : start + 100_000])
            self.index.add(np.arange(start, start + len(block)), block, threads=threads)

    def save(self, path: Path) -> None:
        self.index.save(str(path))

    def open(self, path: Path) -> None:
        self.index = self.Index.restore(str(path), view=True)

    def load(self, path: Path) -> None:
        self.index = self.Index.restore(str(path), view=False)

    def set_ef(self, ef: int) -> None:
        self.index.expansion_search = ef

    def search(self, q: np.ndarray, k: int) -> np.ndarray:
        return np.asarray(self.index.search(q, k, threads=1).keys)

    def add(self, keys: np.ndarray, x: np.ndarray, threads: int) -> None:
        self.index.add(keys, x, threads=threads)

    def delete(self, keys: np.ndarray) -> None:
        self.index.remove(keys)


class _Faiss:
    def __init__(self, dim: int, dtype: str) -> None:
        import faiss

        self.faiss = faiss
        self.dim, self.dtype = dim, dtype
        self.index: Any = None

    def build(self, x: np.ndarray, threads: int) -> None:
        f = self.faiss
        f.omp_set_num_threads(threads)
        qt = f.ScalarQuantizer.QT_fp16 if self.dtype == "f16" else f.ScalarQuantizer.QT_8bit
        self.index = f.IndexHNSWSQ(self.dim, qt, M, f.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = EF_CONSTRUCTION
        if self.dtype != "f16":
            self.index.train(np.ascontiguousarray(x[:100_000]))
        for start in range(0, len(x), 100_000):
            self.index.add(np.ascontiguousarray(x[start : start + 100_000]))

    def save(self, path: Path) -> None:
        self.faiss.write_index(self.index, str(path))

    def open(self, path: Path) -> None:
        self.index = self.faiss.read_index(str(path), self.faiss.IO_FLAG_MMAP_IFC)

    def load(self, path: Path) -> None:
        self.index = self.faiss.read_index(str(path))

    def set_ef(self, ef: int) -> None:
        self.faiss.omp_set_num_threads(1)
        self.index.hnsw.efSearch = ef

    def search(self, q: np.ndarray, k: int) -> np.ndarray:
        return self.index.search(q[None, :], k)[1][0]

    def add(self, keys: np.ndarray, x: np.ndarray, threads: int) -> None:
        self.faiss.omp_set_num_threads(threads)
        self.index.add(x)  # positions, not keys: HNSW in faiss has sequential ids

    def delete(self, keys: np.ndarray) -> None:
        raise NotImplementedError("faiss HNSW indexes cannot remove vectors")


class _Hnswlib:
    def __init__(self, dim: int, dtype: str) -> None:
        import hnswlib

        self.hnswlib = hnswlib
        self.dim = dim
        self.index: Any = None
        self.n = 0

    def build(self, x: np.ndarray, threads: int) -> None:
        self.index = self.hnswlib.Index(space="ip", dim=self.dim)
        self.index.init_index(max_elements=len(x) + 20_000, M=M, ef_construction=EF_CONSTRUCTION)
        for start in range(0, len(x), 100_000):
            block = np.ascontiguousarray(x[start : start + 100_000])
            self.index.add_items(block, np.arange(start, start + len(block)), num_threads=threads)
        self.n = len(x)

    def save(self, path: Path) -> None:
        self.index.save_index(str(path))

    def open(self, path: Path) -> None:
        self.load(path)  # hnswlib has no memory-mapped open

    def load(self, path: Path) -> None:
        self.index = self.hnswlib.Index(space="ip", dim=self.dim)
        self.index.load_index(str(path), max_elements=0, allow_replace_deleted=False)
        self.index.resize_index(self.index.get_current_count() + 20_000)

    def set_ef(self, ef: int) -> None:
        self.index.set_ef(ef)
        self.index.set_num_threads(1)

    def search(self, q: np.ndarray, k: int) -> np.ndarray:
        return self.index.knn_query(q, k=k)[0][0]

    def add(self, keys: np.ndarray, x: np.ndarray, threads: int) -> None:
        self.index.add_items(x, keys, num_threads=threads)

    def delete(self, keys: np.ndarray) -> None:
        for key in keys:
            self.index.mark_deleted(int(key))


def _make(name: str, dim: int) -> Any:
    module, dtype = ENGINES[name]
    cls = {"usearch": _Usearch, "faiss": _Faiss, "hnswlib": _Hnswlib}[module]
    return cls(dim, dtype)


def _version(module: str) -> str:
    from importlib.metadata import version

    dist = {"faiss": "faiss-cpu"}.get(module, module)
    try:
        return version(dist)
    except Exception:
        return "unknown"


def measure_engine(
    name: str, data: Path, truth: Path, work: Path, threads: int, k: int = 10
) -> dict[str, Any]:
    """Build, save, open, query and update one candidate; called in a child process."""
    module = ENGINES[name][0]
    x = np.load(data, mmap_mode="r")
    t = np.load(truth)
    q, truth_ids = t["queries"], t["ids"]
    engine = _make(name, x.shape[1])
    out: dict[str, Any] = {"engine": name, "library_version": _version(module), "n": len(x)}
    added = x[-10_000:]  # the last 10k are held back and added incrementally
    base = x[:-10_000]
    _reset_hwm()
    t0 = time.perf_counter()
    engine.build(base, threads)
    out["build_s"] = round(time.perf_counter() - t0, 2)
    out["build_memory_gib"] = _rss()
    path = work / f"{name}.idx"
    t0 = time.perf_counter()
    engine.save(path)
    out["save_s"] = round(time.perf_counter() - t0, 2)
    out["file_gib"] = round(path.stat().st_size / 2**30, 3)
    engine.index = None
    gc.collect()
    # Drop the file from the page cache where allowed, so "open" is a cold open.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
    _reset_hwm()
    rss0 = _rss().get("VmRSS", 0.0)
    t0 = time.perf_counter()
    engine.open(path)
    out["open_s"] = round(time.perf_counter() - t0, 4)
    # Ground truth is over the base only (the added 10k come later).
    in_base = truth_ids
    sweep = []
    for ef in EF_SWEEP:
        engine.set_ef(ef)
        times, hits = [], 0
        for i, qi in enumerate(q):
            t0 = time.perf_counter()
            got = engine.search(qi, k)
            times.append(time.perf_counter() - t0)
            hits += len(set(int(g) for g in got) & set(int(v) for v in in_base[i]))
        sweep.append(
            {
                "ef": ef,
                "p50_ms": round(1000 * float(np.percentile(times, 50)), 3),
                "p95_ms": round(1000 * float(np.percentile(times, 95)), 3),
                "recall_at_10": round(hits / (k * len(q)), 4),
            }
        )
    out["queries"] = sweep
    out["search_memory_gib"] = {**_rss(), "rss_before_open": rss0}
    engine.index = None
    gc.collect()
    t0 = time.perf_counter()
    engine.load(path)
    out["load_into_ram_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    engine.add(np.arange(len(base), len(x)), np.ascontiguousarray(added), threads)
    out["add_10k_s"] = round(time.perf_counter() - t0, 2)
    try:
        t0 = time.perf_counter()
        engine.delete(np.arange(0, 10_000))
        out["delete_10k_s"] = round(time.perf_counter() - t0, 3)
    except NotImplementedError as exc:
        out["delete_10k_s"] = None
        out["delete_note"] = str(exc)
    with contextlib.suppress(OSError):
        path.unlink()
    return out


if __name__ == "__main__":  # child: python vectors_engines.py NAME DATA TRUTH WORK THREADS
    name, data, truth, work, threads = sys.argv[1:6]
    try:
        __import__(ENGINES[name][0])
    except ImportError as exc:
        print(json.dumps({"engine": name, "skipped": f"not installed: {exc}"}))
        sys.exit(0)
    result = measure_engine(name, Path(data), Path(truth), Path(work), int(threads))
    print(json.dumps(result))
