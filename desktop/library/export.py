"""CSV export for sound-library tools: streaming, constant memory, injection-safe."""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from desktop.library.library import Library
from desktop.library.types import FileQuery, FileRow

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

#: A cell starting with one of these is run as a formula by Excel, LibreOffice or Sheets.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PROGRESS_EVERY = 5000
_ID_CHUNK = 500


def neutralise_cell(value: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with a single quote."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _timestamp(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _row_cells(row: FileRow) -> list[str]:
    model = "user" if row.caption_source == "user" else row.caption_model or ""
    keywords = ", ".join(row.keywords)
    # Numbers we format ourselves never start a formula; only text cells need neutralising.
    return [
        neutralise_cell(row.name),
        neutralise_cell(row.path),
        neutralise_cell(row.caption) if row.caption else "",
        neutralise_cell(keywords) if keywords else "",
        "" if row.duration_s is None else f"{row.duration_s:.3f}",
        "" if row.sample_rate is None else str(row.sample_rate),
        "" if row.channels is None else str(row.channels),
        "" if row.bit_depth is None else str(row.bit_depth),
        neutralise_cell(row.format or row.ext.upper()),
        neutralise_cell(model) if model else "",
        _timestamp(row.captioned_at),
    ]


def _rows(
    library: Library, query: FileQuery | None, file_ids: Iterable[int] | None
) -> Iterator[FileRow]:
    if file_ids is None:
        yield from library.iter_files(query or FileQuery(sort="path"))
        return
    chunk: list[int] = []
    for file_id in file_ids:
        chunk.append(int(file_id))
        if len(chunk) >= _ID_CHUNK:
            yield from library.files_by_id(chunk)
            chunk = []
    if chunk:
        yield from library.files_by_id(chunk)


def _write(
    handle: IO[str],
    rows: Iterator[FileRow],
    bom: bool,
    total: int,
    progress: Callable[[int, int], None] | None,
) -> int:
    if bom:
        handle.write("\ufeff")
    writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow(_row_cells(row))
        count += 1
        if progress is not None and count % _PROGRESS_EVERY == 0:
            progress(count, total)
    if progress is not None:
        progress(count, max(total, count))
    return count


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
        query: Export the files matching this query in its order (default: every file that
            is not missing, by path).
        file_ids: Export exactly these files, in this order (wins over ``query``).
        bom: Start with a UTF-8 byte-order mark so Excel detects the encoding.
        progress: Called as ``progress(done, total)`` every few thousand rows.

    Raises:
        ValueError: Invalid advanced search syntax in ``query``.
        OSError: The output cannot be written (an existing file is left untouched).
    """
    if file_ids is not None and not isinstance(file_ids, (list, tuple)):
        file_ids = list(file_ids)
    if progress is None:
        total = 0
    elif file_ids is not None:
        total = len(file_ids)  # type: ignore[arg-type]
    else:
        total = library.count_files(query)
    rows = _rows(library, query, file_ids)
    if not isinstance(out, (str, Path)):
        return _write(out, rows, bom, total, progress)
    target = Path(out)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            count = _write(handle, rows, bom, total, progress)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("exported %d rows to %s", count, target)
    return count
