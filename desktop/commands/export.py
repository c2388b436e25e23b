"""``earmark export OUT.csv``: the library (or a search result) as CSV for sound-library tools."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

log = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="export the library (or a search) as CSV",
        description="Write one CSV row per file (UTF-8) with the columns Filename, Pathname, "
        "Description, Keywords, Duration, SampleRate, Channels, BitDepth, Format, Category, "
        "SubCategory, CatID, CategoryFull, FXName, Library, Designer, Notes, KeywordScores, "
        "CaptionModel, CaptionedAt. The spreadsheet profile (default) puts a ' before cells a "
        "spreadsheet would run as formulas; the tool profile keeps every cell exact, for "
        "Soundminer/BaseHead/Soundly-style imports that match rows by file name.",
    )
    parser.add_argument(
        "out", metavar="OUT.csv", help="output file (replaced atomically); - writes to stdout"
    )
    parser.add_argument("--query", metavar="Q", help="only files matching this word search")
    parser.add_argument("--bom", action="store_true", help="start with a BOM (for Excel)")
    parser.add_argument(
        "--profile",
        choices=["spreadsheet", "tool"],
        default="spreadsheet",
        help="spreadsheet: safe to open in Excel (default); tool: exact cells for importers",
    )
    parser.add_argument(
        "--include-missing", action="store_true", help="also files no longer on disk"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export and print the row count."""
    from desktop.commands._library import open_library, progress_bar
    from desktop.library import FileQuery, export_csv

    statuses: tuple[Any, ...] = (
        ("ok", "error", "missing") if args.include_missing else ("ok", "error")
    )
    query = FileQuery(
        text=args.query or "", statuses=statuses, sort="rank" if args.query else "path"
    )
    to_stdout = args.out == "-"
    with (
        open_library(args, readonly=True) as lib,
        progress_bar(unit=" rows", desc="exporting", leave=False) as bar,
    ):

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        out: Any = sys.stdout if to_stdout else args.out
        count = export_csv(
            lib, out, query=query, bom=args.bom, profile=args.profile, progress=progress
        )
    if to_stdout:
        sys.stdout.flush()
        print(f"exported {count} row(s)", file=sys.stderr)
    else:
        print(f"exported {count} row(s) to {args.out}")
    return 0
