"""Benchmark the on-disk vector index (``desktop.library.vectors``) against exact search.

    python benchmarks/bench_vectors.py [--n 1000000] [--dim 512] [--kinds clustered,uniform]
                                       [--queries 200] [--work DIR] [--engines]
                                       [--out benchmarks/results/vectors.json]

Per data set (``clustered``: a Gaussian mixture on a low-dimensional manifold, like audio
embeddings; ``uniform``: random unit vectors, the worst case; see ``vectors_data.py``), all
through the real code on a real library database:

- build: ``VectorIndex.sync`` on a library whose ``embeddings`` table holds ``n`` vectors;
  time, peak RSS (VmHWM), file sizes;
- open: ``VectorIndex.open`` + first ``sync`` with the files evicted from the page cache;
- queries: held-out vectors one at a time, p50/p95 and recall@10 against exact search, for
  several beam widths; exact numpy search over the float32 matrix (today's semantic search)
  timed in the same run for the ratio; filtered search over random and contiguous subsets;
- incremental: 10k added, then 10k deleted, each caught up by ``sync`` (the in-memory delta)
  and folded by ``compact`` (a new generation), with recall measured afterwards;
- crossover: exact vs graph search (and graph build time) at sizes 1k-100k, which sets
  ``exact_below``.

``--engines`` also compares the candidate libraries (usearch, faiss-cpu, hnswlib) at
``--engines-n`` vectors, each in a child process (``vectors_engines.py``); only usearch is a
dependency, so install the others aside first, e.g. ``pip install --target /tmp/cand faiss-cpu
hnswlib`` and run with ``PYTHONPATH=/tmp/cand`` (one not importable is reported as skipped).
The 10M case is not run on the 2-core shared machine: the JSON records why, with the build
time and size projected from the 1M run.
Tests never assert timings; this script only records them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for path in (str(ROOT), str(ROOT / "benchmarks")):
    if path not in sys.path:
        sys.path.insert(0, path)

from vectors_data import (  # noqa: E402
    DataSpec,
    chunks,
    exact_topk,
    matrix_blocks,
    queries,
    similarity_stats,
)

from benchmarks.timing import machine_info, percentiles  # noqa: E402
from desktop.library import Library  # noqa: E402
from desktop.library.vectors import VectorIndex, VectorIndexConfig, vectors_folder  # noqa: E402
from desktop.library.vectors._parts import AnnPart, FlatPart, exact_top, new_graph  # noqa: E402

MODEL = "bench-clap"
K = 10


# -- measuring --------------------------------------------------------------------------


def memory() -> dict[str, float]:
    out: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(("VmHWM:", "VmRSS:")):
                out[line.split(":")[0].lower() + "_gib"] = round(int(line.split()[1]) / 2**20, 3)
    return out


def reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def evict(folder: Path) -> None:
    """Drop the index files from the page cache (a cold open), where the OS allows."""
    for path in folder.iterdir():
        with contextlib.suppress(OSError, AttributeError):
            fd = os.open(path, os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)


def timed_queries(
    index: VectorIndex, q: np.ndarray, truth: list[set[int]] | None, **kw: Any
) -> dict[str, Any]:
    times, hits = [], 0
    for i, qi in enumerate(q):
        t0 = time.perf_counter()
        got = index.search(qi, K, **kw)
        times.append(time.perf_counter() - t0)
        if truth is not None:
            hits += len({f for f, _ in got} & truth[i])
    out: dict[str, Any] = percentiles([t * 1000 for t in times])
    if truth is not None:
        out["recall_at_10"] = round(hits / (K * len(q)), 4)
    return out


# -- the library ------------------------------------------------------------------------


def make_library(db: Path, spec: DataSpec) -> float:
    """A library whose embeddings table holds the set (file id = position + 1).

    Only ``embeddings`` rows are bulk-loaded (foreign keys off for the load): the index reads
    nothing else, and a million ``files`` rows with their FTS triggers would cost minutes.
    """
    t0 = time.perf_counter()
    Library.open(db).close()  # create and migrate the schema
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    for start, block in chunks(spec):
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO embeddings(file_id, model_id, dim, vector) VALUES (?, ?, ?, ?)",
            ((start + i + 1, MODEL, spec.dim, row.tobytes()) for i, row in enumerate(block)),
        )
        conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - t0


def add_rows(db: Path, first: int, vectors: np.ndarray, dim: int) -> None:
    """What the index worker does, in bulk: insert embeddings (a connection of its own)."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO embeddings(file_id, model_id, dim, vector) VALUES (?, ?, ?, ?)",
        ((first + i, MODEL, dim, row.tobytes()) for i, row in enumerate(vectors)),
    )
    conn.execute("COMMIT")
    conn.close()


def exact_truth(x: np.ndarray, q: np.ndarray, ids: np.ndarray | None = None) -> list[set[int]]:
    """Exact top-10 file ids of each query over rows ``x`` (file id = position + 1)."""
    top, _ = exact_topk(matrix_blocks(x), q, K)
    if ids is None:
        return [set((row + 1).tolist()) for row in top]
    return [set(ids[row].tolist()) for row in top]


def bench_dataset(
    spec: DataSpec, work: Path, n_queries: int, previous_build: dict[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"n": spec.n, "dim": spec.dim, "kind": spec.kind}
    tag = f"{spec.kind}-{spec.n}-{spec.dim}"
    db = work / f"{tag}.db"
    data = work / f"{tag}.npy"
    if not data.exists():
        x_all = np.lib.format.open_memmap(data, "w+", np.float32, (spec.n, spec.dim))
        for start, block in chunks(spec):
            x_all[start : start + len(block)] = block
        x_all.flush()
        del x_all
    x = np.load(data, mmap_mode="r")
    if not db.exists():
        out["library_insert_s"] = round(make_library(db, spec), 1)
    q = queries(spec, n_queries)
    truth = exact_truth(x, q)
    _, top_s = exact_topk(matrix_blocks(x), q[:50], K)
    out["data"] = similarity_stats(spec, top_s)
    folder = vectors_folder(db)
    assert folder is not None
    if folder.exists() and previous_build is None:
        for p in folder.iterdir():
            p.unlink()
    config = VectorIndexConfig()
    with Library.open(db) as lib:
        conn = lib.connection
        if previous_build is None:
            reset_peak()
            index = VectorIndex.open(folder, MODEL, spec.dim, config)
            t0 = time.perf_counter()
            index.sync(conn)
            out["build"] = {
                "seconds": round(time.perf_counter() - t0, 1),
                **memory(),
                "files_gib": round(sum(p.stat().st_size for p in folder.iterdir()) / 2**30, 3),
                "kind": index.stats()["kind"],
            }
        else:  # --reuse-index: the graph of an earlier run (same data), caught up
            index = VectorIndex.open(folder, MODEL, spec.dim, config)
            index.sync(conn)
            out["build"] = {**previous_build, "reused_from_earlier_run": True}
        index.close()
        evict(folder)
        reset_peak()
        rss0 = memory().get("vmrss_gib", 0.0)
        t0 = time.perf_counter()
        index = VectorIndex.open(folder, MODEL, spec.dim, config)
        t1 = time.perf_counter()
        index.sync(conn)
        t2 = time.perf_counter()
        first = timed_queries(index, q[:1], None)
        out["open"] = {
            "open_ms": round((t1 - t0) * 1000, 2),
            "first_sync_ms": round((t2 - t1) * 1000, 2),
            "first_query_cold_ms": first["p50_ms"],
            "rss_before_open_gib": rss0,
        }
        index.close()
        sweep = []
        for ef in (32, 64, 128):
            cfg = VectorIndexConfig(expansion_search=ef)
            index = VectorIndex.open(folder, MODEL, spec.dim, cfg)
            index.sync(conn)
            timed_queries(index, q[:20], None)  # warm the pages the queries touch
            sweep.append({"expansion_search": ef, **timed_queries(index, q, truth)})
            index.close()
        out["queries"] = sweep
        out["memory_after_queries"] = memory()
        # Today's semantic search: numpy over the whole float32 matrix in RAM.
        matrix = np.ascontiguousarray(x)
        times = []
        for qi in q[:50]:
            t0 = time.perf_counter()
            exact_top(matrix, qi, K)
            times.append(time.perf_counter() - t0)
        out["exact_numpy"] = percentiles([t * 1000 for t in times])
        out["filtered"] = bench_filtered(folder, conn, spec, matrix, q[:50])
        del matrix
        out["incremental"] = bench_incremental(db, folder, conn, spec, x, q)
    return out


def bench_filtered(
    folder: Path, conn: Any, spec: DataSpec, matrix: np.ndarray, q: np.ndarray
) -> list[dict[str, Any]]:
    index = VectorIndex.open(folder, MODEL, spec.dim)
    index.sync(conn)
    rng = np.random.default_rng(5)
    rows = []
    subsets = {
        "random 50%": np.flatnonzero(rng.random(spec.n) < 0.5),
        "random 10%": np.flatnonzero(rng.random(spec.n) < 0.1),
        "random 1%": np.flatnonzero(rng.random(spec.n) < 0.01),
        "random 0.2%": np.flatnonzero(rng.random(spec.n) < 0.002),
        "a folder (contiguous 2%)": np.arange(spec.n // 3, spec.n // 3 + spec.n // 50),
    }
    for name, pos in subsets.items():
        allowed = pos + 1
        truth = exact_truth(matrix[pos], q, allowed)
        rows.append(
            {
                "subset": name,
                "size": int(pos.size),
                **timed_queries(index, q, truth, allowed=allowed),
            }
        )
    index.close()
    return rows


def bench_incremental(
    db: Path, folder: Path, conn: Any, spec: DataSpec, x: np.ndarray, q: np.ndarray
) -> dict[str, Any]:
    """10k added in two halves (the first stays in the in-memory delta, the second pushes it
    past ``delta_max`` and it is folded into a new generation), then 10k deleted."""
    index = VectorIndex.open(folder, MODEL, spec.dim)
    index.sync(conn)
    out: dict[str, Any] = {"delta_max": index.config.delta_max}
    extra = DataSpec(spec.kind, 10_000, spec.dim, seed=spec.seed + 1, clusters=spec.clusters)
    new = np.concatenate([b for _, b in chunks(extra)])
    both = np.concatenate([np.asarray(x), new])
    first = spec.n + 1
    for half, (lo, hi) in enumerate(((0, 5000), (5000, 10_000)), start=1):
        add_rows(db, first + lo, new[lo:hi], spec.dim)
        t0 = time.perf_counter()
        report = index.sync(conn)
        out[f"add_5k_{half}_sync_s"] = round(time.perf_counter() - t0, 3)
        out[f"add_5k_{half}_wrote_generation"] = report.written
        out[f"after_add_5k_{half}"] = {
            **timed_queries(index, q, exact_truth(both[: spec.n + hi], q)),
            "delta": index.stats()["delta"],
        }
    writer = sqlite3.connect(db, isolation_level=None)
    t0 = time.perf_counter()
    writer.execute("DELETE FROM embeddings WHERE file_id <= 10000")  # files removed
    out["delete_10k_sql_s"] = round(time.perf_counter() - t0, 2)
    writer.close()
    t0 = time.perf_counter()
    report = index.sync(conn)
    out["delete_10k_sync_s"] = round(time.perf_counter() - t0, 3)
    out["delete_10k_wrote_generation"] = report.written
    out["delete_10k_rebuilt"] = report.rebuilt
    keep = np.ones(len(both), bool)
    keep[:10_000] = False
    truth = exact_truth(both[keep], q, np.flatnonzero(keep) + 1)
    out["after_delete_10k"] = timed_queries(index, q, truth)
    out["index"] = index.stats()
    index.close()
    # Put the table back as it was, so the data set can be measured again (--reuse-index).
    restore = sqlite3.connect(db, isolation_level=None)
    restore.execute("DELETE FROM embeddings WHERE file_id > ?", (spec.n,))
    restore.close()
    add_rows(db, 1, np.asarray(x[:10_000]), spec.dim)
    return out


def bench_crossover(dim: int, n_queries: int = 200) -> list[dict[str, Any]]:
    """Exact vs graph search at small sizes: where the graph starts to pay."""
    rows = []
    spec = DataSpec("clustered", 100_000, dim)
    big = np.concatenate([b for _, b in chunks(spec)])
    q = queries(spec, n_queries)
    for n in (1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000):
        x = np.ascontiguousarray(big[:n])
        ids = np.arange(1, n + 1, dtype=np.int64)
        flat = FlatPart(ids, x)
        t0 = time.perf_counter()
        graph = new_graph(dim, "f16", 16, 128)
        graph.add(ids.astype(np.uint64), x, threads=0)
        build = time.perf_counter() - t0
        ann = AnnPart(ids, graph, dim, 64)
        row: dict[str, Any] = {"n": n, "graph_build_s": round(build, 2)}
        for name, part in (("exact", flat), ("graph", ann)):
            times = []
            for qi in q:
                t0 = time.perf_counter()
                part.top(qi, K)
                times.append(time.perf_counter() - t0)
            row[name] = percentiles([t * 1000 for t in times])
        truth = [set(flat.top(qi, K)[0].tolist()) for qi in q]
        row["graph_recall_at_10"] = round(
            sum(len(set(ann.top(qi, K)[0].tolist()) & t) for qi, t in zip(q, truth)) / (K * len(q)),
            4,
        )
        rows.append(row)
    return rows


def run_engines(n: int, work: Path) -> list[dict[str, Any]]:
    """Each candidate library in a child process (``vectors_engines.py``)."""
    from vectors_engines import ENGINES

    results = []
    for kind in ("clustered",):
        spec = DataSpec(kind, n)
        data = work / f"engines-{kind}-{n}.npy"
        np.save(data, np.concatenate([b for _, b in chunks(spec)]))
        x = np.load(data, mmap_mode="r")
        q = queries(spec, 200)
        ids, scores = exact_topk(matrix_blocks(x), q, K, limit=n - 10_000)
        truth = work / f"engines-{kind}-{n}-truth.npz"
        np.savez(truth, queries=q, ids=ids, scores=scores)
        for name in ENGINES:
            child = subprocess.run(
                [sys.executable, str(ROOT / "benchmarks" / "vectors_engines.py"), name,
                 str(data), str(truth), str(work), "0"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if child.returncode:
                results.append({"engine": name, "failed": child.stderr[-2000:]})
                continue
            row = json.loads(child.stdout.strip().splitlines()[-1])
            results.append({**row, "kind": kind})
            print(json.dumps(row), flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--kinds", default="clustered,uniform")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--engines", action="store_true")
    parser.add_argument("--engines-n", type=int, default=200_000)
    parser.add_argument(
        "--engines-from", type=Path, default=None,
        help="a JSON list of vectors_engines.py results (from an earlier --engines run) to record",
    )  # fmt: skip
    parser.add_argument("--skip-crossover", action="store_true")
    parser.add_argument(
        "--reuse-index", action="store_true",
        help="keep the index built by an earlier run on the same --work data (and its build figures)",
    )  # fmt: skip
    parser.add_argument("--skip-datasets", action="store_true", help="only crossover/engines")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/vectors.json")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="earmark-vectors-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "benchmark": "vectors",
        "machine": machine_info(),
        "config": {k: v for k, v in VectorIndexConfig().__dict__.items()},
        "goal": "p95 <= 10 ms at 1M x 512 with recall@10 >= 0.95 (exact numpy: 262 ms median)",
    }
    previous: dict[str, Any] = {}
    if args.out.exists():
        with contextlib.suppress(ValueError):
            previous = json.loads(args.out.read_text())
    # Data sets not measured in this run are kept from the previous file (each says when and
    # under what load it was measured); ratios are only ever taken within one data set.
    result["datasets"] = dict(previous.get("datasets", {}))
    for kind in [] if args.skip_datasets else args.kinds.split(","):
        spec = DataSpec(kind, args.n, args.dim)
        load0 = [round(v, 2) for v in os.getloadavg()]
        reused = previous.get("datasets", {}).get(kind, {}) if args.reuse_index else {}
        if reused.get("n") != spec.n:
            reused = {}
        result["datasets"][kind] = {
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "load_average_at_start": load0,
            **bench_dataset(spec, work, args.queries, reused.get("build")),
            "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
        }
        print(json.dumps(result["datasets"][kind]), flush=True)
        _write(args.out, result)
    ten_million(result)
    if not args.skip_crossover:
        result["crossover"] = bench_crossover(args.dim)
        print(json.dumps(result["crossover"]), flush=True)
    elif "crossover" in previous:
        result["crossover"] = previous["crossover"]
    if args.engines:
        result["engines"] = run_engines(args.engines_n, work)
    elif args.engines_from is not None:
        result["engines"] = json.loads(args.engines_from.read_text())
    elif "engines" in previous:
        result["engines"] = previous["engines"]
    result["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    _write(args.out, result)
    return 0


def ten_million(result: dict[str, Any]) -> None:
    """Record why 10M x 512 was not run here, with what it would take (from the 1M run)."""
    one = result["datasets"].get("clustered", {})
    build = one.get("build", {})
    if one.get("n") != 1_000_000 or "seconds" not in build:
        return
    # HNSW insertion costs ~log n per vector: 10x the vectors, ~1.17x the cost per vector.
    hours = build["seconds"] * 10 * np.log(1e7) / np.log(1e6) / 3600
    graph_bytes = build["files_gib"] * 2**30 - 1e6 * 512 * 2 - 1e6 * 16  # minus f16 + keys
    i8_gib = (1e7 * 512 + 10 * graph_bytes + 1e7 * 16) / 2**30
    f16_gib = (1e7 * 512 * 2 + 10 * graph_bytes + 1e7 * 16) / 2**30
    result["ten_million"] = {
        "skipped": (
            f"projected build {hours:.1f} h on this shared 2-core machine (1M took "
            f"{build['seconds']:.0f} s), longer than a session; f16 would need "
            f"{f16_gib:.1f} GiB (over the ~10 GB allowed here), i8 {i8_gib:.1f} GiB"
        ),
        "projected_build_hours": round(float(hours), 1),
        "projected_index_gib": {"f16": round(float(f16_gib), 1), "i8": round(float(i8_gib), 1)},
    }


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())
