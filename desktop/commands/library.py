"""``earmark library ...``: add folders, scan, queue, caption headless, stats and errors."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from desktop.commands._common import add_model_options

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add the ``library`` subcommand and its actions."""
    parser = subparsers.add_parser(
        "library",
        help="manage the sound library (add folders, scan, caption the queue, stats)",
        description="Manage the sound library database: folders, scanning, the caption queue.",
    )
    sub = parser.add_subparsers(dest="library_command", metavar="ACTION")
    parser.set_defaults(func=lambda args: _usage(parser))

    add = sub.add_parser("add", help="register folders and scan them")
    add.add_argument("dirs", nargs="+", metavar="DIR", help="folders holding sounds")
    add.set_defaults(func=run_add)

    scan = sub.add_parser("scan", help="rescan registered folders (incremental)")
    scan.add_argument("--root", type=int, action="append", metavar="ID", help="only this root")
    scan.set_defaults(func=run_scan)

    queue = sub.add_parser("queue", help="queue files for captioning")
    which = queue.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every readable file")
    which.add_argument(
        "--uncaptioned", action="store_true", help="files without a caption (default)"
    )
    which.add_argument("--retry-failed", action="store_true", help="requeue failed jobs")
    which.add_argument("--cancel", action="store_true", help="cancel queued jobs")
    queue.add_argument(
        "--force", action="store_true", help="also replace captions a user wrote (with --all)"
    )
    queue.set_defaults(func=run_queue)

    caption = sub.add_parser(
        "caption",
        help="caption queued files (safe to interrupt and rerun)",
        description="Caption queued files with a progress bar. If nothing is queued, every "
        "uncaptioned file is queued first. Ctrl-C stops after the current file; run again "
        "to resume.",
    )
    caption.add_argument("--limit", type=int, metavar="N", help="caption at most N files")
    caption.add_argument(
        "--batch-size", type=int, default=1, metavar="N", help="files decoded together"
    )
    caption.add_argument(
        "--no-auto-queue",
        action="store_true",
        help="only process what is queued, even if nothing is",
    )
    add_model_options(caption)
    caption.set_defaults(func=run_caption)

    stats = sub.add_parser("stats", help="counts of files, captions and jobs")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(func=run_stats)

    errors = sub.add_parser("errors", help="list unreadable files and failed jobs")
    errors.add_argument("--json", action="store_true", help="print JSON")
    errors.set_defaults(func=run_errors)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _open(args: argparse.Namespace) -> Any:
    from desktop.cli import resolve_db_path
    from desktop.library import Library

    try:
        return Library.open(resolve_db_path(args))
    except Exception as exc:  # a corrupt or foreign file: say which and stop
        raise SystemExit(f"earmark: error: cannot open library: {exc}") from None


def _scan_with_progress(lib: Any, root_ids: list[int] | None) -> Any:
    from tqdm import tqdm

    with tqdm(unit=" files", desc="scanning", file=sys.stderr, leave=False) as bar:
        return lib.scan(root_ids, progress=lambda p: bar.update(1))


def _print_report(report: Any) -> None:
    print(
        f"{report.seen} audio files: {report.added} new, {report.updated} re-read, "
        f"{report.unchanged} unchanged, {report.moved} moved, {report.missing} now missing, "
        f"{report.errors} unreadable ({report.seconds:.1f} s)"
    )
    for problem in report.problems:
        print(f"  skipped {problem.path}: {problem.message}", file=sys.stderr)
    if report.errors:
        print("  list unreadable files with: earmark library errors", file=sys.stderr)


def run_add(args: argparse.Namespace) -> int:
    """Register folders and scan them."""
    status = 0
    with _open(args) as lib:
        root_ids = []
        for folder in args.dirs:
            try:
                root_ids.append(lib.add_root(folder))
            except NotADirectoryError as exc:
                print(f"earmark: error: {exc}", file=sys.stderr)
                status = 2
        if root_ids:
            _print_report(_scan_with_progress(lib, sorted(set(root_ids))))
    return status


def run_scan(args: argparse.Namespace) -> int:
    """Rescan roots."""
    with _open(args) as lib:
        if not lib.roots():
            print("no folders registered; add one with: earmark library add DIR", file=sys.stderr)
            return 1
        _print_report(_scan_with_progress(lib, args.root))
    return 0


def run_queue(args: argparse.Namespace) -> int:
    """Queue, requeue or cancel jobs."""
    with _open(args) as lib:
        if args.retry_failed:
            print(f"requeued {lib.retry_failed()} failed job(s)")
        elif args.cancel:
            print(f"cancelled {lib.cancel_queued()} queued job(s)")
        else:
            added = lib.enqueue("all" if args.all else "uncaptioned", force=args.force)
            print(f"queued {added} file(s); {lib.queue_counts().queued} waiting")
    return 0


@contextmanager
def _graceful_interrupt() -> Iterator[list[bool]]:
    """First Ctrl-C asks the loop to stop after the current file; a second one aborts."""
    flag = [False]
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if flag[0]:
            raise KeyboardInterrupt
        flag[0] = True
        print("\nstopping after the current file (Ctrl-C again to abort)", file=sys.stderr)

    with suppress(ValueError):  # not the main thread: plain KeyboardInterrupt semantics
        signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        with suppress(ValueError):
            signal.signal(signal.SIGINT, previous)


def run_caption(args: argparse.Namespace) -> int:
    """Process the queue with a progress bar."""
    from tqdm import tqdm

    from desktop.commands._common import load_captioner
    from desktop.library import JobEvent, run_jobs

    if args.limit is not None and args.limit < 1:
        print("earmark: error: --limit must be at least 1", file=sys.stderr)
        return 2
    if args.batch_size < 1:
        print("earmark: error: --batch-size must be at least 1", file=sys.stderr)
        return 2
    with _open(args) as lib:
        lib.recover_stale_jobs()
        if lib.queue_counts().pending == 0 and not args.no_auto_queue:
            added = lib.enqueue("uncaptioned")
            if added:
                print(f"queued {added} uncaptioned file(s)", file=sys.stderr)
        counts = lib.queue_counts()
        if counts.pending == 0:
            print("nothing to caption")
            return 0
        captioner = load_captioner(args)
        total = counts.pending if args.limit is None else min(args.limit, counts.pending)
        with tqdm(total=total, unit=" files", desc="captioning", file=sys.stderr) as bar:

            def on_event(event: JobEvent) -> None:
                if event.kind == "progress":
                    bar.total = max(bar.total or 0, event.total)
                    bar.update(event.done - bar.n)
                elif event.kind == "failed":
                    row = lib.get_file(event.file_id) if event.file_id is not None else None
                    where = row.path if row is not None else f"file {event.file_id}"
                    tqdm.write(f"failed: {where}: {event.message}", file=sys.stderr)

            with _graceful_interrupt() as stop:
                summary = run_jobs(
                    lib,
                    captioner,
                    limit=args.limit,
                    batch_size=args.batch_size,
                    should_stop=lambda: stop[0],
                    on_event=on_event,
                )
        left = lib.queue_counts().queued
        print(
            f"captioned {summary.captioned}, failed {summary.failed}"
            + (f", {left} still queued" if left else "")
        )
        if summary.stopped:
            return 130
        return 1 if summary.failed else 0


def run_stats(args: argparse.Namespace) -> int:
    """Print counts."""
    with _open(args) as lib:
        stats = lib.stats()
        stats["roots_detail"] = [
            {"id": r.id, "path": r.path, "files": r.files, "captioned": r.captioned}
            for r in lib.roots()
        ]
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"database:  {stats['database']}")
    print(f"folders:   {stats['roots']}")
    for root in stats["roots_detail"]:
        print(
            f"  [{root['id']}] {root['path']}: {root['files']} files, {root['captioned']} captioned"
        )
    print(f"files:     {stats['files']} ({stats['errors']} unreadable, {stats['missing']} missing)")
    print(f"captioned: {stats['captioned']} ({stats['user_captions']} by a user)")
    queue = stats["queue"]
    print(
        f"queue:     {queue['queued']} queued, {queue['running']} running, "
        f"{queue['done']} done, {queue['failed']} failed"
    )
    return 0


def run_errors(args: argparse.Namespace) -> int:
    """List unreadable files and failed jobs."""
    with _open(args) as lib:
        broken = [(row.path, row.error or "") for row in lib.broken_files()]
        failed = [(job.path, job.error or "") for job in lib.jobs("failed")]
    if args.json:
        print(
            json.dumps(
                {
                    "unreadable": [{"path": p, "error": e} for p, e in broken],
                    "failed_jobs": [{"path": p, "error": e} for p, e in failed],
                },
                indent=2,
            )
        )
        return 0
    for path, error in broken:
        print(f"unreadable: {path!r}: {error}")
    for path, error in failed:
        print(f"caption failed: {path!r}: {error}")
    if not broken and not failed:
        print("no errors")
    return 0
