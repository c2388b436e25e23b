"""Opening the library and showing progress: shared by every command that uses the library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from desktop.library import Library

__all__ = ["open_library", "progress_bar", "resolve_db_path"]


def resolve_db_path(args: argparse.Namespace) -> Path:
    """Return the database path chosen by ``--db`` or the default one."""
    from desktop.library.paths import default_db_path

    return Path(args.db).expanduser() if args.db else default_db_path()


def open_library(
    args: argparse.Namespace, *, readonly: bool = False, create: bool = False
) -> Library:
    """Open the library ``--db`` names.

    Args:
        args: Parsed arguments (``--db``).
        readonly: The command only reads: open read-only (works on read-only media and
            never creates anything).
        create: Create a new library when there is none (only ``library add`` does).

    Raises:
        LibraryError: With a message for the user; ``desktop.cli.main`` prints it.
    """
    from desktop.library import Library

    return Library.open(resolve_db_path(args), readonly=readonly, create=create and not readonly)


def progress_bar(**kwargs: Any) -> Any:
    """A tqdm bar on stderr, drawn only on a terminal (a log file gets no carriage returns)."""
    from tqdm import tqdm

    return tqdm(file=sys.stderr, disable=None if not sys.stderr.isatty() else False, **kwargs)
