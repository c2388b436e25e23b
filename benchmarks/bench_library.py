"""Benchmark the library: scanning, FTS5 search, semantic search and CSV export.

    python benchmarks/bench_library.py [--files 20000] [--rows 1000000] [--dim 512]
                                       [--work DIR] [--out benchmarks/results/library.json]

What it times (all through the real ``desktop.library`` code):

- scan: a generated tree of small WAV files, cold (first scan) and warm (nothing changed);
- FTS: ``count_files`` + the first page of ``list_files`` (what the table does for a search)
  over synthetic captions, for a fixed mix of user-like queries; median and p95;
- semantic: ``Library.search(mode="semantic")`` over stored float32 embeddings, with random
  unit query vectors standing in for CLAP text embeddings; the first (cold) query loads the
  matrix and is reported separately; median of the warm ones;
- export: ``export_csv`` of every row, in a child process so its peak memory is its own.

The synthetic rows are bulk-loaded with SQL (indexes and FTS built once afterwards): going
through the scanner for a million files would benchmark the file system, not the library.
Torch-free; needs a few GB of disk and about 3 GB of memory at the default sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.timing import machine_info, percentiles  # noqa: E402
from desktop.library import FileQuery, Library, export_csv  # noqa: E402

#: Words for synthetic captions and names: sound sources, actions, places, qualities.
SOURCES = [
    "dog",
    "cat",
    "bird",
    "crow",
    "owl",
    "rooster",
    "cow",
    "horse",
    "sheep",
    "frog",
    "cricket",
    "bee",
    "fly",
    "engine",
    "car",
    "truck",
    "bus",
    "train",
    "tram",
    "plane",
    "helicopter",
    "motorcycle",
    "bicycle",
    "boat",
    "ship",
    "siren",
    "horn",
    "bell",
    "clock",
    "alarm",
    "phone",
    "door",
    "window",
    "drawer",
    "chair",
    "footsteps",
    "keyboard",
    "typewriter",
    "printer",
    "fan",
    "vacuum",
    "blender",
    "kettle",
    "microwave",
    "dishwasher",
    "faucet",
    "shower",
    "toilet",
    "rain",
    "thunder",
    "wind",
    "storm",
    "waves",
    "river",
    "stream",
    "waterfall",
    "fire",
    "fireworks",
    "gunshot",
    "explosion",
    "glass",
    "metal",
    "wood",
    "paper",
    "plastic",
    "coins",
    "keys",
    "zipper",
    "applause",
    "laughter",
    "crowd",
    "baby",
    "child",
    "man",
    "woman",
    "choir",
    "guitar",
    "piano",
    "drum",
    "violin",
    "trumpet",
    "flute",
    "saxophone",
    "organ",
    "harp",
    "cymbal",
    "gong",
    "whistle",
    "buzzer",
    "beep",
    "chime",
]
ACTIONS = [
    "barks",
    "meows",
    "chirps",
    "crows",
    "hoots",
    "moos",
    "neighs",
    "bleats",
    "croaks",
    "buzzes",
    "revs",
    "idles",
    "passes",
    "honks",
    "rings",
    "ticks",
    "beeps",
    "slams",
    "creaks",
    "squeaks",
    "clicks",
    "hums",
    "whirs",
    "boils",
    "drips",
    "splashes",
    "pours",
    "crackles",
    "rumbles",
    "howls",
    "crashes",
    "breaks",
    "clatters",
    "jingles",
    "rustles",
    "taps",
    "knocks",
    "plays",
    "sings",
    "speaks",
    "shouts",
    "whispers",
    "laughs",
    "cries",
    "claps",
    "echoes",
    "fades",
]
PLACES = [
    "in a kitchen",
    "in the distance",
    "on a street",
    "in a forest",
    "in a park",
    "in a hall",
    "in a car",
    "at the beach",
    "in a room",
    "outside",
    "underwater",
    "in a cave",
    "in a factory",
    "at a station",
]
QUALITIES = [
    "loudly",
    "softly",
    "briefly",
    "repeatedly",
    "rhythmically",
    "slowly",
    "quickly",
    "nearby",
    "far",
]


def _wav_bytes(seed: int, frames: int = 800, rate: int = 8000) -> bytes:
    """A tiny 16-bit mono WAV whose samples depend on ``seed`` (distinct fingerprints)."""
    rng = np.random.default_rng(seed)
    data = (rng.normal(0, 3000, frames)).astype("<i2").tobytes()
    header = b"RIFF" + (36 + len(data)).to_bytes(4, "little") + b"WAVEfmt "
    header += (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little")
    header += rate.to_bytes(4, "little") + (rate * 2).to_bytes(4, "little")
    header += (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    return header + b"data" + len(data).to_bytes(4, "little") + data


def bench_scan(work: Path, n_files: int) -> dict[str, Any]:
    tree = work / "tree"
    per_folder = 100
    started = time.perf_counter()
    for i in range(n_files):
        folder = tree / f"group {i // (per_folder * 20):03d}" / f"folder {i // per_folder:04d}"
        if i % per_folder == 0:
            folder.mkdir(parents=True, exist_ok=True)
        word = SOURCES[i % len(SOURCES)]
        (folder / f"{word} {ACTIONS[i % len(ACTIONS)]} {i:06d}.wav").write_bytes(_wav_bytes(i))
    generate_s = time.perf_counter() - started
    with Library.open(work / "scan.db") as lib:
        lib.add_root(tree)
        cold = lib.scan()
        warm = lib.scan()
        assert cold.added == n_files and warm.unchanged == n_files, (cold, warm)
    shutil.rmtree(tree)
    return {
        "files": n_files,
        "generate_s": round(generate_s, 2),
        "cold_s": round(cold.seconds, 2),
        "cold_files_per_s": round(n_files / cold.seconds),
        "warm_s": round(warm.seconds, 2),
        "warm_files_per_s": round(n_files / warm.seconds),
    }


def _caption(rng: random.Random) -> tuple[str, list[str]]:
    a, b = rng.sample(SOURCES, 2)
    text = f"a {a} {rng.choice(ACTIONS)} {rng.choice(PLACES)}"
    if rng.random() < 0.5:
        text += f" while a {b} {rng.choice(ACTIONS)} {rng.choice(QUALITIES)}"
    return text + ".", [a, b, rng.choice(SOURCES)]


def build_big_library(db: Path, rows: int, dim: int) -> dict[str, float]:
    """Bulk-load ``rows`` captioned files (and their embeddings) into a fresh library."""
    Library.open(db).close()  # schema
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA foreign_keys = OFF")
    # Build secondary indexes and the FTS index once at the end: far faster than row by row.
    index_sql = [
        sql
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'files' "
            "AND sql IS NOT NULL"
        )
    ]
    triggers = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'files'"
    ).fetchall()
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'files' "
        "AND sql IS NOT NULL"
    ).fetchall():
        conn.execute(f"DROP INDEX {name}")
    for name, _ in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    rng = random.Random(7)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    conn.execute("INSERT INTO roots(id, path, added_at) VALUES (1, '/bench', 0)")
    conn.execute("BEGIN")
    batch: list[tuple[Any, ...]] = []
    for i in range(1, rows + 1):
        text, keywords = _caption(rng)
        folder = f"/bench/{SOURCES[i % len(SOURCES)]}/{i // 1000:04d}"
        name = f"{keywords[0]}_{ACTIONS[i % len(ACTIONS)]}_{i:07d}.wav"
        batch.append(
            (
                i,
                f"{folder}/{name}",
                folder,
                folder[len("/bench/") :],
                name,
                round(rng.uniform(0.2, 30.0), 3),
                rng.choice((44100, 48000, 96000)),
                rng.choice((1, 2)),
                i,
                text,
                "\n".join(keywords),
                f"{1.7e9 + i}",
            )
        )
        if len(batch) == 50_000:
            _insert_files(conn, batch)
            batch = []
    if batch:
        _insert_files(conn, batch)
    conn.execute("COMMIT")
    timings["insert_rows_s"] = time.perf_counter() - started
    started = time.perf_counter()
    for sql in index_sql:
        conn.execute(sql)
    for _, sql in triggers:
        conn.execute(sql)
    timings["build_indexes_s"] = time.perf_counter() - started
    started = time.perf_counter()
    conn.execute("INSERT INTO files_fts(files_fts) VALUES ('rebuild')")
    timings["build_fts_s"] = time.perf_counter() - started

    if dim > 0:  # embeddings only when the semantic section runs
        started = time.perf_counter()
        vec_rng = np.random.default_rng(11)
        conn.execute("BEGIN")
        for start in range(1, rows + 1, 50_000):
            ids = range(start, min(start + 50_000, rows + 1))
            vectors = vec_rng.standard_normal((len(ids), dim), dtype=np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            conn.executemany(
                "INSERT INTO embeddings(file_id, model_id, dim, vector) "
                "VALUES (?, 'bench-clap', ?, ?)",
                ((i, dim, v.tobytes()) for i, v in zip(ids, vectors)),
            )
        conn.execute("COMMIT")
        timings["insert_embeddings_s"] = time.perf_counter() - started
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    return {k: round(v, 1) for k, v in timings.items()}


def _insert_files(conn: sqlite3.Connection, batch: list[tuple[Any, ...]]) -> None:
    conn.executemany(
        "INSERT INTO files(id, root_id, path, folder, relfolder, name, ext, size, mtime, "
        "duration_s, sample_rate, channels, bit_depth, format, subtype, status, caption_id, "
        "caption, keywords, caption_source, caption_model, captioned_at) "
        "VALUES (?1, 1, ?2, ?3, ?4, ?5, 'wav', 100000, 0, ?6, ?7, ?8, 16, 'WAV', 'PCM_16', "
        "'ok', ?9, ?10, ?11, 'model', 'bench-clap | bench-llm', ?12)",
        batch,
    )


def _queries(rng: random.Random, n: int) -> list[str]:
    """A user-like mix: one word, two words, a prefix being typed, a phrase with noise."""
    out = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            out.append(rng.choice(SOURCES))
        elif kind == 1:
            out.append(f"{rng.choice(SOURCES)} {rng.choice(ACTIONS)}")
        elif kind == 2:
            word = rng.choice(SOURCES)
            out.append(word[: max(3, len(word) - 2)])
        else:
            out.append(f'{rng.choice(SOURCES)} "{rng.choice(PLACES).split()[-1]}" -')
    return out


def bench_fts(db: Path, n_queries: int) -> dict[str, Any]:
    rng = random.Random(3)
    queries = _queries(rng, n_queries)
    with Library.open(db) as lib:
        lib.count_files(FileQuery(text="warmup"))
        page_ms, count_ms, total_ms, hits = [], [], [], []
        for text in queries:
            q = FileQuery(text=text)
            t0 = time.perf_counter()
            count = lib.count_files(q)
            t1 = time.perf_counter()
            lib.list_files(q, 0, 100)
            t2 = time.perf_counter()
            count_ms.append((t1 - t0) * 1000)
            page_ms.append((t2 - t1) * 1000)
            total_ms.append((t2 - t0) * 1000)
            hits.append(count)
        scroll_ms = []
        q = FileQuery(sort="duration_s")
        offset = 0
        for _ in range(200):  # sequential pages deep into a million-row table
            t0 = time.perf_counter()
            offset += len(lib.list_files(q, offset, 200))
            scroll_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        jump = lib.list_files(q, 900_000, 200)
        jump_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        all_count = lib.count_files()
        count_all_ms = (time.perf_counter() - t0) * 1000
    return {
        "rows": all_count,
        "search_count_plus_first_page": percentiles(total_ms),
        "first_page_only": percentiles(page_ms),
        "count_only": percentiles(count_ms),
        "median_hits": int(statistics.median(hits)),
        "max_hits": max(hits),
        "scroll_page_200_rows_sorted_by_duration": percentiles(scroll_ms),
        "jump_to_offset_900000_ms": round(jump_ms, 1) if jump else None,
        "count_all_files_ms": round(count_all_ms, 1),
        "example_queries": queries[:8],
    }


def bench_semantic(db: Path, dim: int, n_queries: int) -> dict[str, Any]:
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((n_queries + 1, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    it = iter(vectors)

    def embed(texts: Any) -> np.ndarray:
        return np.stack([next(it) for _ in texts])

    with Library.open(db) as lib:
        t0 = time.perf_counter()
        lib.search("cold", mode="semantic", limit=50, embed_text=embed, model_id="bench-clap")
        cold_s = time.perf_counter() - t0
        times = []
        for i in range(n_queries):
            t0 = time.perf_counter()
            hits = lib.search(f"q{i}", mode="semantic", limit=50, embed_text=embed)
            times.append((time.perf_counter() - t0) * 1000)
            assert len(hits) == 50
        t0 = time.perf_counter()
        lib.similar(12345, limit=50)
        similar_ms = (time.perf_counter() - t0) * 1000
    return {
        "embeddings": int(
            sqlite3.connect(db).execute("SELECT count(*) FROM embeddings").fetchone()[0]
        ),
        "dim": dim,
        "first_query_loads_matrix_s": round(cold_s, 2),
        "warm": percentiles(times),
        "similar_ms": round(similar_ms, 1),
    }


def bench_export(db: Path, out: Path) -> dict[str, Any]:
    """Run the export in a child process and read its peak RSS."""
    proc = subprocess.run(
        [sys.executable, __file__, "--export-child", str(db), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["csv_mb"] = round(out.stat().st_size / 2**20, 1)
    out.unlink()
    return result


def _peak_rss_kb() -> int:
    """This process's peak RSS. VmHWM belongs to the exec'd image; ru_maxrss on Linux also
    counts the forked parent's pages from before exec, which would hide the export's own."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _export_child(db: str, out: str) -> None:
    base_kb = _peak_rss_kb()
    with Library.open(db) as lib:
        t0 = time.perf_counter()
        rows = export_csv(lib, out)
        seconds = time.perf_counter() - t0
    peak_kb = _peak_rss_kb()
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": round(seconds, 1),
                "rows_per_s": round(rows / seconds),
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "rss_before_export_mb": round(base_kb / 1024, 1),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: temp)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/library.json")
    parser.add_argument(
        "--only",
        default="scan,fts,export,semantic",
        help="comma-separated sections to run (default: all)",
    )
    parser.add_argument(
        "--merge", action="store_true", help="update these sections in an existing --out file"
    )
    parser.add_argument("--export-child", nargs=2, metavar=("DB", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_child:
        _export_child(*args.export_child)
        return 0

    only = set(args.only.split(","))
    work = Path(tempfile.mkdtemp(prefix="earmark-bench-", dir=args.work))
    result: dict[str, Any] = {}
    if args.merge and args.out.exists():
        result = json.loads(args.out.read_text())
    result.update({"benchmark": "library", "machine": machine_info()})
    started = time.perf_counter()
    try:
        if "scan" in only:
            print(f"scan: {args.files} files ...", file=sys.stderr)
            result["scan"] = bench_scan(work, args.files)
            print(result["scan"], file=sys.stderr)
        if only & {"fts", "export", "semantic"}:
            db = work / "big.db"
            dim = args.dim if "semantic" in only else 0
            print(f"building a {args.rows}-row library ...", file=sys.stderr)
            result["build"] = build_big_library(db, args.rows, dim)
            result["build"]["db_mb"] = round(db.stat().st_size / 2**20)
            print(result["build"], file=sys.stderr)
        if "fts" in only:
            result["fts"] = bench_fts(db, args.queries)
            if hasattr(os, "getloadavg"):
                result["fts"]["load_average"] = list(os.getloadavg())
            print(result["fts"], file=sys.stderr)
        if "export" in only:
            result["export"] = bench_export(db, work / "export.csv")
            print(result["export"], file=sys.stderr)
        if "semantic" in only:
            result["semantic"] = bench_semantic(db, args.dim, min(args.queries, 50))
            if hasattr(os, "getloadavg"):
                result["semantic"]["load_average"] = list(os.getloadavg())
            print(result["semantic"], file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if "fts" in result and "semantic" in result:
        result["goals"] = {
            "fts_p95_under_30ms": result["fts"]["search_count_plus_first_page"]["p95_ms"] < 30,
            "semantic_median_under_300ms": result["semantic"]["warm"]["p50_ms"] < 300,
        }
    result["last_run_s"] = round(time.perf_counter() - started, 1)
    result["last_run_sections"] = sorted(only)
    if hasattr(os, "getloadavg"):
        result["machine"]["load_average_at_end"] = list(os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
