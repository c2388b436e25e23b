"""Benchmark the GUI's responsiveness: event-loop stalls and the file table over a big library.

    python benchmarks/bench_gui.py [--quick] [--rows 1000000] [--scan-files 10000]
                                   [--caption-files 200] [--lock-seconds 40] [--work DIR]
                                   [--out benchmarks/results/gui.json]

What it measures (the real ``MainWindow`` / ``FileTableModel``, offscreen Qt):

- stalls: a 5 ms ``QTimer`` on the GUI thread records every event-loop gap; max and p99 gap
  are reported separately while scanning a dropped folder of generated WAV files (worker
  paused), while the tiny models load (Resume pressed until ``modelLoaded``), while
  captioning after the models are loaded, around Pause (until the worker is idle) and
  Resume (until the next file starts), all through the queue panel's buttons;
- locked_save: another process holds the library's write lock for 40 s while five files are
  edited (select, type, move on, Enter); the longest gap, whether the "waiting" state was
  shown and whether every edit is in the library after the release;
- table: a ``FileTableModel`` + ``QTableView`` over a synthetic library bulk-loaded the way
  ``bench_library.py`` builds its rows: the row count on open, page-by-page scrolling, random
  scroll-bar jumps (and one to the end), and sorting by two columns. Each figure is the time
  of the action plus the event processing and the repaint it causes.

Everything is built in a temp folder: audio with numpy + soundfile, the models with
``captioner.testing.tiny_models.build_tiny_models`` (random weights, CPU). Timings only: the
tiny models' captions are meaningless.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QCoreApplication, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QTableView  # noqa: E402

from benchmarks.bench_library import build_big_library  # noqa: E402
from benchmarks.timing import machine_info  # noqa: E402


def _write_tree(folder: Path, n: int, seconds: float, seed: int) -> None:
    """``n`` mono 16 kHz WAV files of noise, 100 per subfolder."""
    rng = np.random.default_rng(seed)
    frames = int(16000 * seconds)
    for i in range(n):
        path = folder / f"f{i // 100:04d}" / f"s{i:06d}.wav"
        if i % 100 == 0:
            path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), (0.1 * rng.standard_normal(frames)).astype(np.float32), 16000)


class GapMeter:
    """Records every gap between ticks of a 5 ms timer on the GUI thread."""

    def __init__(self) -> None:
        self.ticks: list[tuple[float, float]] = []  # (end time, gap seconds)
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(5)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.ticks.append((now, now - self._last))
        self._last = now

    def start(self) -> None:
        self.ticks.clear()
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def summary(self, start: float = float("-inf"), end: float = float("inf")) -> dict[str, Any]:
        """Max and p99 of the gaps that ended in ``(start, end]``."""
        gaps = [g * 1e3 for t, g in self.ticks if start < t <= end]
        if not gaps:
            return {"ticks": 0}
        return {
            "max_gap_ms": round(max(gaps), 1),
            "p99_gap_ms": round(float(np.percentile(gaps, 99)), 1),
            "median_gap_ms": round(statistics.median(gaps), 1),
            "ticks": len(gaps),
        }


def _run_until(app: QCoreApplication, cond: Callable[[], bool], limit_s: float) -> bool:
    end = time.perf_counter() + limit_s
    while not cond():
        if time.perf_counter() > end:
            return False
        app.processEvents()
        time.sleep(0.001)
    return True


def dispose(app: QApplication, window: Any) -> None:
    """Close and delete a window on this (the GUI) thread: see :func:`desktop.app.dispose`."""
    from desktop.app import dispose as dispose_window

    dispose_window(app, window)


def bench_stalls(
    app: QApplication, work: Path, n_scan: int, n_caption: int, seconds: float
) -> dict[str, Any]:
    from captioner.testing.tiny_models import build_tiny_models
    from desktop.gui.main_window import MainWindow
    from desktop.settings import AppSettings

    scan_dir, cap_dir, tiny = work / "scan", work / "caption", work / "tiny"
    started = time.perf_counter()
    _write_tree(scan_dir, n_scan, 0.2, seed=0)
    _write_tree(cap_dir, n_caption, seconds, seed=1)
    build_tiny_models(tiny)
    result: dict[str, Any] = {"prepare_s": round(time.perf_counter() - started, 1)}

    settings = AppSettings(clap=str(tiny / "clap"), llm=str(tiny / "llm"), device="cpu")
    win = MainWindow(work / "gui.db", settings, autostart=False)
    win.resize(1280, 800)
    win.show()
    app.processEvents()
    meter = GapMeter()
    try:
        # Scan: drop a folder of many files with the worker paused, so only the scan runs.
        win.captioning.set_paused(True)
        meter.start()
        t0 = time.perf_counter()
        win.library_actions.add_paths([str(scan_dir)])
        ok = _run_until(
            app, lambda: win.runner.pending == 0 and win.file_model.rowCount() >= n_scan, 600
        )
        scan_s = time.perf_counter() - t0
        meter.stop()
        result["scan"] = {
            "files": n_scan,
            "rows_shown": win.file_model.rowCount(),
            "completed": ok,
            "seconds": round(scan_s, 2),
            **meter.summary(),
        }
        win.library.cancel_queued()

        # Captioning through the queue panel's own buttons: start (the models load), run,
        # pause half-way (the current file finishes), resume, run to the end.
        marks: dict[str, float] = {}
        done: list[int] = []
        starts: list[float] = []
        idles: list[float] = []
        worker = win.captioning.worker
        worker.captioned.connect(lambda fid: done.append(fid))
        worker.jobStarted.connect(lambda _fid: starts.append(time.perf_counter()))
        worker.idle.connect(lambda: idles.append(time.perf_counter()))
        worker.loadingStarted.connect(lambda: marks.setdefault("loading", time.perf_counter()))
        worker.modelLoaded.connect(lambda *_: marks.setdefault("loaded", time.perf_counter()))
        win.library_actions.add_paths([str(cap_dir)])
        _run_until(app, lambda: win.library.queue_counts().queued > 0, 120)
        pause = win.queue_panel.pause_button
        meter.start()
        t0 = time.perf_counter()
        pause.click()  # Resume (it was paused for the scan)
        _run_until(app, lambda: "loaded" in marks, 300)
        _run_until(app, lambda: len(done) >= n_caption // 2, 900)
        t_pause = time.perf_counter()
        idles.clear()
        pause.click()  # Pause: the file being captioned finishes, then the worker waits
        _run_until(app, lambda: bool(idles), 300)
        t_idle = idles[0] if idles else time.perf_counter()
        _run_until(app, lambda: time.perf_counter() - t_idle > 0.3, 5)  # sit paused a moment
        t_resume = time.perf_counter()
        pause.click()  # Resume
        _run_until(app, lambda: any(t > t_resume for t in starts), 300)
        first_after = next((t for t in starts if t > t_resume), time.perf_counter())
        ok = _run_until(
            app,
            lambda: win.library.queue_counts().pending == 0 and len(done) >= n_caption,
            900,
        )
        t1 = time.perf_counter()
        _run_until(app, lambda: time.perf_counter() - t1 > 0.5, 5)  # the idle refreshes
        meter.stop()
        loaded = marks.get("loaded", t1)
        result["model_load"] = {
            "seconds": round(loaded - t0, 2),
            "loading_started_after_s": round(marks.get("loading", t0) - t0, 2),
            **meter.summary(end=loaded),
        }
        result["caption"] = {
            "files": n_caption,
            "clip_seconds": seconds,
            "captioned": len(done),
            "completed": ok,
            "seconds": round(t1 - loaded, 2),
            **meter.summary(start=loaded),
        }
        result["pause"] = {"seconds_to_idle": round(t_idle - t_pause, 2)}
        result["pause"].update(meter.summary(start=t_pause, end=t_idle + 0.3))
        result["resume"] = {"seconds_to_first_job": round(first_after - t_resume, 2)}
        result["resume"].update(meter.summary(start=t_resume, end=first_after + 0.3))
        result["finish"] = meter.summary(start=t1 - 0.5)
    finally:
        dispose(app, win)
    return result


def bench_locked_save(app: QApplication, work: Path, lock_s: float) -> dict[str, Any]:
    """Another program holds the library's write lock for ``lock_s`` while a person edits.

    The person selects files, types descriptions (moving on saves them) and presses Enter,
    all while the lock is held; the window must keep answering (every gap is measured) and
    every edit must be in the library once the lock is released.
    """
    import subprocess

    from desktop.gui.main_window import MainWindow
    from desktop.library import Library
    from desktop.settings import AppSettings

    folder = work / "locked"
    _write_tree(folder, 20, 0.2, seed=2)
    db = work / "locked.db"
    with Library.open(db) as library:
        library.add_root(folder)
        library.scan()
    win = MainWindow(db, AppSettings(), autostart=False)
    win.resize(1280, 800)
    win.show()
    _run_until(app, lambda: win.runner.pending == 0, 30)
    script = (
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE')\n"
        "print('locked', flush=True)\n"
        "time.sleep(float(sys.argv[2]))\n"
        "c.execute('ROLLBACK')\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(db), str(lock_s)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    t_locked = time.perf_counter()
    meter = GapMeter()
    meter.start()
    typed: dict[int, str] = {}
    waiting_seen = False
    try:
        for row in range(5):
            win.table.selectRow(row)
            until = t_locked + 0.3 * (row + 1)
            _run_until(app, lambda u=until: time.perf_counter() > u, 5)
            text = f"typed while another program writes, file {row}"
            win.detail.caption_edit.setPlainText(text)
            file = win.detail.file
            assert file is not None
            typed[file.id] = text
            waiting_seen = waiting_seen or win.writer.waiting
        win.detail.commit()  # Enter on the last one
        _run_until(app, lambda: holder.poll() is not None, lock_s + 30)
        t_release = time.perf_counter()
        waiting_seen = waiting_seen or bool(win.waiting_label.text())
        saved = _run_until(app, lambda: not win.writer.pending, 60)
        t_saved = time.perf_counter()
        meter.stop()
        with Library.open(db) as library:
            kept = sum(
                1 for fid, text in typed.items() if (library.get_file(fid).caption or "") == text
            )
    finally:
        if holder.poll() is None:
            holder.kill()
        dispose(app, win)
    return {
        "lock_seconds": lock_s,
        "edits": len(typed),
        "edits_saved": kept,
        "all_saved": saved and kept == len(typed),
        "waiting_shown": waiting_seen,
        "saved_after_release_s": round(t_saved - t_release, 2),
        **meter.summary(),
    }


def _plain_name_keys(db: Path) -> float:
    """Give the bulk-loaded rows the sort keys the schema's triggers would have (the bulk load
    drops triggers), so sorting by name reads a real ``name_key`` index."""
    import sqlite3

    started = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("UPDATE files SET name_key = lower(name)")
    conn.close()
    return round(time.perf_counter() - started, 1)


def _ms_stats(samples: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(samples), 1),
        "max_ms": round(max(samples), 1),
        "n": len(samples),
    }


def bench_table(app: QApplication, db: Path, pages: int, jumps: int) -> dict[str, Any]:
    from desktop.gui.views.file_model import FileTableModel
    from desktop.library import Library

    result: dict[str, Any] = {}
    lib = Library.open(db)
    t0 = time.perf_counter()
    model = FileTableModel(lib, background_db=db)
    result["open_count_ms"] = round((time.perf_counter() - t0) * 1e3, 1)
    result["rows"] = model.rowCount()
    view = QTableView()
    view.setModel(model)
    view.resize(900, 700)
    view.show()
    app.processEvents()
    bar = view.verticalScrollBar()

    def frame_ms(action: Callable[[], object]) -> float:
        t = time.perf_counter()
        action()
        app.processEvents()
        view.viewport().repaint()
        return (time.perf_counter() - t) * 1e3

    try:
        # Page by page from the top (the wheel / PageDown), then thumb drags to random places.
        result["scroll_page"] = _ms_stats(
            [frame_ms(lambda: bar.setValue(bar.value() + 25)) for _ in range(pages)]
        )
        rng = random.Random(1)
        result["scrollbar_jump"] = _ms_stats(
            [frame_ms(lambda: bar.setValue(rng.randrange(bar.maximum()))) for _ in range(jumps)]
        )
        result["jump_to_end_ms"] = round(frame_ms(lambda: bar.setValue(bar.maximum())), 1)
        for column, name in ((3, "sort_length_desc_ms"), (0, "sort_name_desc_ms")):
            result[name] = round(
                frame_ms(functools.partial(model.sort, column, Qt.SortOrder.DescendingOrder)), 1
            )
    finally:
        view.close()
        model.shutdown()
        lib.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--rows",
        type=int,
        default=None,
        help="table rows (default 1000000; the build takes about a minute)",
    )
    parser.add_argument("--scan-files", type=int, default=None, help="default 10000")
    parser.add_argument("--caption-files", type=int, default=None, help="default 200")
    parser.add_argument("--clip-seconds", type=float, default=3.0)
    parser.add_argument(
        "--lock-seconds",
        type=float,
        default=None,
        help="how long another program holds the write lock (default 40; quick: 5)",
    )
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: temp)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/gui.json")
    parser.add_argument(
        "--only",
        choices=("stalls", "table"),
        default=None,
        help="run one part; its results are merged into an existing --out file",
    )
    args = parser.parse_args()
    rows = args.rows or (20_000 if args.quick else 1_000_000)
    n_scan = args.scan_files or (500 if args.quick else 10_000)
    n_caption = args.caption_files or (4 if args.quick else 200)
    pages, jumps = (50, 5) if args.quick else (400, 20)

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    work = Path(tempfile.mkdtemp(prefix="earmark-bench-gui-", dir=args.work))
    result: dict[str, Any] = {"benchmark": "gui", "quick": args.quick, "machine": machine_info()}
    result["machine"]["qt_platform"] = app.platformName()
    started = time.perf_counter()
    if args.only and args.out.is_file():
        previous = json.loads(args.out.read_text())
        result = {**previous, "machine": result["machine"], "quick": args.quick}
    try:
        if args.only != "table":
            print(f"stalls: scan {n_scan} files, caption {n_caption} ...", file=sys.stderr)
            result["stalls"] = bench_stalls(app, work, n_scan, n_caption, args.clip_seconds)
            print(result["stalls"], file=sys.stderr)
            lock_s = args.lock_seconds or (5.0 if args.quick else 40.0)
            print(f"edits while another program holds the lock {lock_s:g} s", file=sys.stderr)
            result["locked_save"] = bench_locked_save(app, work, lock_s)
            print(result["locked_save"], file=sys.stderr)
        if args.only != "stalls":
            db = work / "big.db"
            print(f"building a {rows}-row library ...", file=sys.stderr)
            result["build"] = build_big_library(db, rows, 0)
            result["build"]["name_keys_s"] = _plain_name_keys(db)
            print(result["build"], file=sys.stderr)
            result["table"] = bench_table(app, db, pages, jumps)
            print(result["table"], file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["last_run_s"] = round(time.perf_counter() - started, 1)
    if hasattr(os, "getloadavg"):
        result["machine"]["load_average_at_end"] = list(os.getloadavg())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(args.out)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
