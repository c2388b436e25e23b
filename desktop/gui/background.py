"""Library work for the GUI's thread pool: each function opens its own connection.

A :class:`Library` belongs to the thread that opened it, so pool tasks never borrow the GUI's
connection; they open the same database file (WAL mode allows this) and close it when done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.library import (
    FileQuery,
    FolderCount,
    JobRow,
    Library,
    QueueCounts,
    RootInfo,
    ScanProgress,
    ScanReport,
    SearchHit,
    export_csv,
)

log = logging.getLogger(__name__)

__all__ = [
    "AddResult",
    "LibrarySnapshot",
    "add_and_queue",
    "export_rows",
    "find_similar",
    "load_snapshot",
    "scan_library",
]


@dataclass(frozen=True)
class AddResult:
    """What dropping paths did."""

    file_ids: list[int]
    queued: int


@dataclass(frozen=True)
class LibrarySnapshot:
    """Sidebar and queue contents, read together off the GUI thread."""

    roots: list[RootInfo]
    folders: dict[int, list[FolderCount]]
    jobs: list[JobRow]
    counts: QueueCounts


def add_and_queue(db_path: Path, paths: Sequence[str]) -> AddResult:
    """Add dropped files/folders to the library and queue them for captioning."""
    with Library.open(db_path) as library:
        ids = library.add_paths(paths)
        queued = library.enqueue(ids) if ids else 0
    return AddResult(ids, queued)


def scan_library(
    db_path: Path,
    progress: Callable[[ScanProgress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> ScanReport:
    """Rescan every root."""
    with Library.open(db_path) as library:
        return library.scan(progress=progress, cancel=cancel)


def load_snapshot(db_path: Path, jobs_per_state: int = 200) -> LibrarySnapshot:
    """Roots, folder counts, the jobs to show and queue counts."""
    with Library.open(db_path) as library:
        roots = library.roots()
        folders = {r.id: library.folders(r.id) for r in roots}
        jobs: list[JobRow] = []
        for state in ("running", "queued", "failed", "done"):
            jobs.extend(library.jobs(state, limit=jobs_per_state))  # type: ignore[arg-type]
        return LibrarySnapshot(roots, folders, jobs, library.queue_counts())


def find_similar(db_path: Path, file_id: int, limit: int = 50) -> list[SearchHit]:
    """Files that sound most like ``file_id`` (by stored audio embeddings)."""
    with Library.open(db_path) as library:
        return library.similar(file_id, limit=limit)


def export_rows(
    db_path: Path,
    out: Path,
    *,
    query: FileQuery | None = None,
    file_ids: Sequence[int] | None = None,
    bom: bool = False,
) -> int:
    """Write a CSV of a query's rows or of exact file ids; returns the row count."""
    with Library.open(db_path) as library:
        return export_csv(library, out, query=query, file_ids=file_ids, bom=bom)
