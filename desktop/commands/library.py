"""``earmark library ...``: add folders, scan, queue, index and caption headless, stats, errors,
check."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from desktop.commands._common import add_model_options
from desktop.commands._library import open_library, progress_bar
from desktop.commands.edit import register_library_actions as register_edit_actions
from desktop.commands.tags import register_library_actions

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
    which.add_argument(
        "--recover",
        action="store_true",
        help="hand back jobs left running by a run that died (automatic at every run)",
    )
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

    index = sub.add_parser(
        "index",
        help="embed and tag files without the language model (fast; safe to interrupt)",
        description="Queue every file that has no audio embedding of the chosen audio model "
        "and index the queue: embedding and keyword tags, no caption, so the library can be "
        "searched by sound (`earmark search --semantic`) long before it is captioned; a "
        "later caption reuses the embedding. Loads only the audio model. Ctrl-C stops after "
        "the current batch; run again to resume.",
    )
    index.add_argument("--limit", type=int, metavar="N", help="index at most N files")
    index.add_argument(
        "--batch-size", type=int, default=8, metavar="N", help="files embedded together (8)"
    )
    add_model_options(index)
    index.set_defaults(func=run_index)

    stats = sub.add_parser("stats", help="counts of files, captions and jobs")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(func=run_stats)

    errors = sub.add_parser("errors", help="list unreadable files and failed jobs")
    errors.add_argument("--json", action="store_true", help="print JSON")
    errors.set_defaults(func=run_errors)

    check = sub.add_parser(
        "check",
        help="check the library file for damage (changes nothing)",
        description="Run SQLite's full integrity check on the library. Exit 0 when healthy, "
        "1 when damaged (then see `earmark library repair`).",
    )
    check.set_defaults(func=run_check)

    repair = sub.add_parser(
        "repair",
        help="copy everything readable from a damaged library into a new one",
        description="Repair by export: every row that can still be read is copied into a "
        "new library at NEW.db; the damaged file is not changed. Open the new one with "
        "--db NEW.db (or move it into place).",
    )
    repair.add_argument("target", metavar="NEW.db", help="the new library file (must not exist)")
    repair.set_defaults(func=run_repair)

    register_library_actions(sub)
    register_edit_actions(sub)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _scan_with_progress(lib: Any, root_ids: list[int] | None) -> Any:
    with progress_bar(unit=" files", desc="scanning", leave=False) as bar:
        return lib.scan(root_ids, progress=lambda p: bar.update(1))


def _print_report(report: Any) -> None:
    print(
        f"{report.seen} audio files: {report.added} new, {report.updated} re-read, "
        f"{report.unchanged} unchanged, {report.moved} moved, {report.missing} now missing, "
        f"{report.errors} unreadable ({report.seconds:.1f} s)"
    )
    for problem in report.problems:
        print(f"  skipped {problem.path}: {problem.message}", file=sys.stderr)
    if report.skipped:
        counts = sorted(report.skipped.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = ", ".join(f"{n} .{ext}" if ext[0] != "(" else f"{n} {ext}" for ext, n in counts[:8])
        more = f" and {len(counts) - 8} more kinds" if len(counts) > 8 else ""
        print(f"  not sound files Earmark reads (left out): {shown}{more}", file=sys.stderr)
    if report.errors:
        print("  list unreadable files with: earmark library errors", file=sys.stderr)


def run_add(args: argparse.Namespace) -> int:
    """Register folders and scan them."""
    status = 0
    with open_library(args, create=True) as lib:
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
    with open_library(args) as lib:
        if not lib.roots():
            print("no folders registered; add one with: earmark library add DIR", file=sys.stderr)
            return 1
        _print_report(_scan_with_progress(lib, args.root))
    return 0


def run_queue(args: argparse.Namespace) -> int:
    """Queue, requeue or cancel jobs."""
    with open_library(args) as lib:
        if args.recover:
            print(f"handed back {lib.recover_stale_jobs()} job(s) left by runs that died")
        elif args.retry_failed:
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
    from desktop.commands._common import load_captioner
    from desktop.library import run_jobs

    if not _queue_args_valid(args):
        return 2
    with open_library(args) as lib:
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
        summary = _process_queue(
            lib,
            total,
            "captioning",
            "library caption",
            lambda on_event, should_stop: run_jobs(
                lib,
                captioner,
                limit=args.limit,
                batch_size=args.batch_size,
                should_stop=should_stop,
                on_event=on_event,
            ),
        )
        left = lib.queue_counts().queued
        print(
            f"captioned {summary.captioned}, failed {summary.failed}"
            + (f", {left} still queued" if left else "")
        )
        return _exit_code(summary)


def run_index(args: argparse.Namespace) -> int:
    """Queue every file without an embedding of the audio model, then index the queue."""
    from captioner.indexing import policy_key
    from desktop.commands._common import load_indexer, plan_from_args
    from desktop.library import run_index_jobs

    if not _queue_args_valid(args):
        return 2
    try:
        plan = plan_from_args(args)
    except ValueError as exc:
        raise SystemExit(f"earmark: error: {exc}") from None
    with open_library(args) as lib:
        lib.recover_stale_jobs()
        # The indexer's embedding_model_id is the audio model's reference: known unloaded.
        added = lib.enqueue_unindexed(plan.clap, policy_key(plan.config))
        if added:
            print(f"queued {added} unindexed file(s)", file=sys.stderr)
        pending = lib.queue_counts("index").pending
        if pending == 0:
            print(f"nothing to index: {lib.indexed_count(plan.clap)} file(s) already indexed")
            return 0
        indexer = load_indexer(args)
        total = pending if args.limit is None else min(args.limit, pending)
        summary = _process_queue(
            lib,
            total,
            "indexing",
            "library index",
            lambda on_event, should_stop: run_index_jobs(
                lib,
                indexer,
                limit=args.limit,
                batch_size=args.batch_size,
                should_stop=should_stop,
                on_event=on_event,
            ),
        )
        left = lib.queue_counts("index").queued
        print(
            f"indexed {summary.indexed}, failed {summary.failed}"
            + (f", {left} still queued" if left else "")
            + f"; {lib.indexed_count(plan.clap)} file(s) searchable by sound"
        )
        return _exit_code(summary)


def _queue_args_valid(args: argparse.Namespace) -> bool:
    """Whether ``--limit`` and ``--batch-size`` are usable; says why not on stderr."""
    if args.limit is not None and args.limit < 1:
        print("earmark: error: --limit must be at least 1", file=sys.stderr)
        return False
    if args.batch_size < 1:
        print("earmark: error: --batch-size must be at least 1", file=sys.stderr)
        return False
    return True


def _exit_code(summary: Any) -> int:
    """130 when stopped by Ctrl-C, 1 when some file failed, else 0."""
    if summary.stopped:
        return 130
    return 1 if summary.failed else 0


def _process_queue(
    lib: Any,
    total: int,
    desc: str,
    command: str,
    run: Callable[[Callable[[Any], None], Callable[[], bool]], Any],
) -> Any:
    """Run a job loop (``run(on_event, should_stop)``) with a progress bar, failures printed
    as they happen, the first Ctrl-C stopping after the current batch; returns its summary.

    Raises:
        LibraryError: The library could not be written; the message says nothing was lost
            and to run ``earmark COMMAND`` again.
    """
    from tqdm import tqdm

    from desktop.library import JobEvent
    from desktop.library.errors import LibraryError

    waited = [0.0]

    def lock_wait(seconds: float) -> None:
        if seconds - waited[0] >= 10 or waited[0] == 0:
            waited[0] = max(seconds, 0.001)
            tqdm.write(
                f"waiting for the library: another program holds its lock ({seconds:.0f} s)",
                file=sys.stderr,
            )

    lib.set_lock_wait_callback(lock_wait)
    with progress_bar(total=total, unit=" files", desc=desc) as bar:

        def on_event(event: JobEvent) -> None:
            if event.kind == "progress":
                bar.total = max(bar.total or 0, event.total)
                bar.update(event.done - bar.n)
            elif event.kind == "failed":
                row = lib.get_file(event.file_id) if event.file_id is not None else None
                where = row.path if row is not None else f"file {event.file_id}"
                tqdm.write(f"failed: {where}: {event.message}", file=sys.stderr)

        with _graceful_interrupt() as stop:
            try:
                return run(on_event, lambda: stop[0])
            except LibraryError as exc:
                raise LibraryError(
                    f"{exc}. {desc.capitalize()} stopped; nothing was lost: run "
                    f"`earmark {command}` again to go on"
                ) from exc


def run_stats(args: argparse.Namespace) -> int:
    """Print counts."""
    with open_library(args, readonly=True) as lib:
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
    with open_library(args, readonly=True) as lib:
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


def run_check(args: argparse.Namespace) -> int:
    """Full integrity check; exit 1 when damaged."""
    from desktop.commands._library import resolve_db_path
    from desktop.library.repair import check_library

    report = check_library(resolve_db_path(args))
    if report.ok:
        print(f"{report.path}: no damage found")
        return 0
    print(f"{report.path} is damaged; SQLite reports:", file=sys.stderr)
    for problem in report.problems:
        print(f"  {problem}", file=sys.stderr)
    print(
        "copy everything readable into a new library with: earmark library repair NEW.db",
        file=sys.stderr,
    )
    return 1


def run_repair(args: argparse.Namespace) -> int:
    """Repair by export into a new file."""
    from desktop.commands._library import resolve_db_path
    from desktop.library.repair import repair_library

    source = resolve_db_path(args)
    report = repair_library(source, args.target)
    for table, count in report.copied.items():
        print(f"{table}: {count} row(s) copied")
    for table, ranges in report.skipped_ranges.items():
        print(f"{table}: rows in {len(ranges)} damaged range(s) could not be read", file=sys.stderr)
    for table in report.unreadable_tables:
        print(f"{table}: could not be read at all", file=sys.stderr)
    state = "complete" if report.complete else "partial (see above)"
    print(f"repaired copy written to {args.target} ({state}); {source} was not changed")
    return 0 if report.complete else 1
