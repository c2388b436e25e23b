"""CSV export for sound-library tools: streaming, constant memory, injection-safe."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from desktop.library.library import Library
from desktop.library.types import FileQuery

__all__ = ["CSV_COLUMNS", "export_csv", "neutralise_cell"]

log = logging.getLogger(__name__)

#: Column names that Soundminer, BaseHead and similar tools map without setup.
CSV_COLUMNS = (
    "Filename",
    "Pathname",
    "Description",
    "Keywords",
    "Duration",
    "SampleRate",
    "Channels",
    "BitDepth",
    "Format",
    "CaptionModel",
    "CaptionedAt",
)


def neutralise_cell(value: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with a single quote."""
    raise NotImplementedError


def export_csv(
    library: Library,
    out: str | Path | IO[str],
    *,
    query: FileQuery | None = None,
    file_ids: Iterable[int] | None = None,
    bom: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write one CSV row per file and return the number of rows.

    Args:
        library: The library.
        out: Output path (written atomically via a temporary file) or an open text stream.
        query: Export the files matching this query in its order (default: every file).
        file_ids: Export exactly these files, in this order (wins over ``query``).
        bom: Start with a UTF-8 byte-order mark so Excel detects the encoding.
        progress: Called as ``progress(done, total)`` every few thousand rows.
    """
    raise NotImplementedError
