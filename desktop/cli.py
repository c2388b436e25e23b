"""The ``earmark`` command: the same jobs as the app, headless."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from desktop import __version__
from desktop.commands import MODULES

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="earmark",
        description="Caption, tag and search local sound libraries with zero-shot AI (ZerAuCap).",
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
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a subcommand not built yet
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def resolve_db_path(args: argparse.Namespace) -> Path:
    """Return the database path chosen by ``--db`` or the default one."""
    from desktop.library.paths import default_db_path

    return Path(args.db).expanduser() if args.db else default_db_path()


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
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
