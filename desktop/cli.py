"""The ``earmark`` command: the same jobs as the app, headless.

Exit codes: 0 done; 1 nothing found, or some files failed (listed); 2 an error (the message
says what to do); 130 interrupted (Ctrl-C; rerun to resume).
"""

from __future__ import annotations

import argparse
import errno
import logging
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from desktop import __version__
from desktop.commands import COMMANDS
from desktop.commands._library import resolve_db_path

__all__ = ["build_parser", "main", "resolve_db_path"]

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="earmark",
        description="Caption, tag and search local sound libraries with zero-shot AI (ZerAuCap).",
        epilog="Exit codes: 0 done, 1 nothing found or some files failed, 2 error, "
        "130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"earmark {__version__}")
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        metavar="PATH",
        help="library database (default: library.db in the user data folder; "
        "EARMARK_HOME overrides the folder)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from captioner.errors import CaptionerError
    from desktop.library._connection import translate
    from desktop.library.errors import LibraryError

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (LibraryError, CaptionerError) as exc:
        print(f"earmark: error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        translated = translate(exc)
        if translated is None:
            raise
        print(f"earmark: error: {translated}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            message = "the disk is full; free some space and try again"
        else:
            message = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
        print(f"earmark: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
