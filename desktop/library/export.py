"""CSV export for sound-library tools: streaming, constant memory, in two profiles.

- ``spreadsheet`` (default): safe to open in Excel, LibreOffice or Sheets. A cell that a
  spreadsheet would run as a formula (it starts with ``= + - @``, after any spaces, or with a
  tab or line break) gets a leading ``'``.
- ``tool``: for Soundminer, BaseHead, Soundly and REAPER imports that match rows to files by
  name: every cell exactly as stored, so ``+1.wav`` stays ``+1.wav``. Do not open it in a
  spreadsheet.

Columns are named as those tools name them; the UCS and library columns come from the files'
own metadata (iXML USER fields and their equivalents), ``KeywordScores`` from the caption.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Literal

from filelock import FileLock, Timeout

from desktop.library._connection import translate_os_error
from desktop.library.errors import InvalidQueryError, LibraryError
from desktop.library.library import Library
from desktop.library.metadata import FileMetadata
from desktop.library.types import FileQuery, FileRow

__all__ = ["CSV_COLUMNS", "PROFILES", "Profile", "export_csv", "neutralise_cell"]

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
    "Category",
    "SubCategory",
    "CatID",
    "CategoryFull",
    "FXName",
    "Library",
    "Designer",
    "Notes",
    "KeywordScores",
    "CaptionModel",
    "CaptionedAt",
)

#: Metadata fields behind the tool columns, in column order.
_META_COLUMNS = (
    "category",
    "subcategory",
    "catid",
    "category_full",
    "fxname",
    "library",
    "designer",
    "notes",
)

Profile = Literal["spreadsheet", "tool"]
PROFILES: tuple[Profile, ...] = ("spreadsheet", "tool")

#: A cell starting with one of these is run as a formula by Excel, LibreOffice or Sheets
#: (after leading spaces: LibreOffice's "trim spaces" import removes them first).
_FORMULA_STARTS = ("=", "+", "-", "@")
_CONTROL_STARTS = ("\t", "\r", "\n")
_PROGRESS_EVERY = 5000
_ID_CHUNK = 500


def neutralise_cell(value: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with a single quote."""
    if value.startswith(_CONTROL_STARTS) or value.lstrip().startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _timestamp(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _row_cells(
    row: FileRow,
    meta: FileMetadata | None,
    scores: list[tuple[str, float]],
    text: Callable[[str], str],
) -> list[str]:
    model = (
        {"user": "user", "file": "file"}.get(row.caption_source or "", "")
        or row.caption_model
        or ""
    )
    keywords = ", ".join(row.keywords)
    scored = ", ".join(f"{k}:{s:.3f}" for k, s in scores)
    tools = [(meta.get(f) or "") if meta is not None else "" for f in _META_COLUMNS]
    # Numbers we format ourselves never start a formula; only text cells go through `text`.
    return [
        text(row.name),
        text(row.path),
        text(row.caption or ""),
        text(keywords),
        "" if row.duration_s is None else f"{row.duration_s:.3f}",
        "" if row.sample_rate is None else str(row.sample_rate),
        "" if row.channels is None else str(row.channels),
        "" if row.bit_depth is None else str(row.bit_depth),
        text(row.format or row.ext.upper()),
        *(text(value) for value in tools),
        text(scored),
        text(model),
        _timestamp(row.captioned_at),
    ]


def _same(value: str) -> str:
    return value


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
    library: Library,
    rows: Iterator[FileRow],
    options: _Options,
    progress: Callable[[int, int], None] | None,
) -> int:
    if options.bom:
        handle.write("\ufeff")
    writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    text = neutralise_cell if options.profile == "spreadsheet" else _same
    count = 0
    for batch in _batches(rows, _ID_CHUNK):
        ids = [row.id for row in batch]
        metadata = library.metadata_for(ids)
        scores = library.keyword_scores_for(ids)
        for row in batch:
            writer.writerow(_row_cells(row, metadata.get(row.id), scores.get(row.id, []), text))
            count += 1
            if progress is not None and count % _PROGRESS_EVERY == 0:
                progress(count, options.total)
    if progress is not None:
        progress(count, max(options.total, count))
    return count


@dataclass(frozen=True)
class _Options:
    bom: bool
    profile: Profile
    total: int


def _batches(rows: Iterator[FileRow], size: int) -> Iterator[list[FileRow]]:
    batch: list[FileRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def export_csv(
    library: Library,
    out: str | Path | IO[str],
    *,
    query: FileQuery | None = None,
    file_ids: Iterable[int] | None = None,
    bom: bool = False,
    profile: Profile = "spreadsheet",
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
        profile: ``"spreadsheet"`` (formula guard) or ``"tool"`` (exact cells); see the
            module docstring.
        progress: Called as ``progress(done, total)`` every few thousand rows.

    Raises:
        InvalidQueryError: Invalid advanced search syntax in ``query``, or nothing to search.
        LibraryError: The output cannot be written (disk full, read-only, no such folder);
            an existing file is left untouched.
    """
    if file_ids is not None and not isinstance(file_ids, (list, tuple)):
        file_ids = list(file_ids)
    if progress is None:
        total = 0
    elif file_ids is not None:
        total = len(file_ids)  # type: ignore[arg-type]
    else:
        total = library.count_files(query)
    if profile not in PROFILES:
        raise InvalidQueryError(f"unknown export profile {profile!r} (use one of {PROFILES})")
    rows = _rows(library, query, file_ids)
    options = _Options(bom, profile, total)
    if not isinstance(out, (str, Path)):
        return _write(out, library, rows, options, progress)
    target = Path(out)
    try:
        return _write_atomically(target, library, rows, options, progress)
    except OSError as exc:
        raise translate_os_error(exc, str(target)) from exc


def _write_atomically(
    target: Path,
    library: Library,
    rows: Iterator[FileRow],
    options: _Options,
    progress: Callable[[int, int], None] | None,
) -> int:
    """Write beside ``target`` under one fixed hidden name, then rename it into place.

    The fixed name means an export that was killed leaves at most one hidden file, which the
    next export to the same target reuses; a lock keeps two exports to one target apart.
    """
    if not target.parent.is_dir():  # (the lock below would create missing folders)
        raise LibraryError(f"cannot write {target}: the folder {target.parent} does not exist")
    part = target.with_name(f".{target.name}.earmark.part")
    lock = FileLock(str(part) + ".lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise LibraryError(
            f"another export to {target} is running; wait for it to finish"
        ) from None
    try:
        for stale in target.parent.glob(f".{glob.escape(target.name)}.*.part"):
            stale.unlink(missing_ok=True)  # left by an older Earmark's killed export
        # The file mode follows the umask, like any file the user creates.
        fd = os.open(
            part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                count = _write(handle, library, rows, options, progress)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(part, target)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    finally:
        lock.release()
        with contextlib.suppress(OSError):
            os.unlink(str(part) + ".lock")
    log.info("exported %d rows to %s", count, target)
    return count
