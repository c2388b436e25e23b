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
    RemovalImpact,
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
    "ScanOutcome",
    "add_and_queue",
    "export_rows",
    "find_similar",
    "load_snapshot",
    "refresh_name_keys",
    "root_impacts",
    "scan_library",
]


@dataclass(frozen=True)
class AddResult:
    """What dropping paths did."""

    file_ids: list[int]
    queued: int


@dataclass(frozen=True)
class ScanOutcome:
    """A rescan's report and how many files it found new and queued."""

    report: ScanReport
    queued: int


@dataclass(frozen=True)
class LibrarySnapshot:
    """Sidebar and queue contents, read together off the GUI thread."""

    roots: list[RootInfo]
    folders: dict[int, list[FolderCount]]
    jobs: list[JobRow]
    counts: QueueCounts

    @property
    def total_files(self) -> int:
        """Files in the library (not counting missing ones)."""
        return sum(r.files for r in self.roots)


def add_and_queue(db_path: Path, paths: Sequence[str]) -> AddResult:
    """Add dropped files/folders to the library and queue them for captioning.

    A folder becomes a library folder; a file is added alone, never its whole folder (a file
    dropped from Downloads must not adopt Downloads): ``Library.add_paths`` does both.
    """
    with Library.open(db_path) as library:
        ids = library.add_paths(paths)
        library.refresh_name_keys()
        queued = library.enqueue(ids) if ids else 0
    return AddResult(ids, queued)


def scan_library(
    db_path: Path,
    progress: Callable[[ScanProgress], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> ScanOutcome:
    """Rescan every root and queue the files it found new."""
    with Library.open(db_path) as library:
        before = library.max_file_id()
        report = library.scan(progress=progress, cancel=cancel)
        library.refresh_name_keys()
        new = library.file_ids_after(before)
        queued = library.enqueue(new) if new else 0
        return ScanOutcome(report, queued)


def refresh_name_keys(db_path: Path) -> int:
    """Refine natural sort keys left plain by other writers (the CLI, older versions)."""
    with Library.open(db_path) as library:
        return library.refresh_name_keys()


def root_impacts(db_path: Path) -> dict[int, RemovalImpact]:
    """What removing each library folder would forget (for the settings dialog's question)."""
    with Library.open(db_path) as library:
        return library.root_removal_impacts()


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
