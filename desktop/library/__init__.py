"""Qt-free core of Earmark: the sound library in SQLite, scanning, the job queue, search, export.

Public API::

    from desktop.library import Library, FileQuery, run_jobs, export_csv
"""

from desktop.library.export import CSV_COLUMNS, export_csv
from desktop.library.jobs import CaptionerLike, JobRunSummary, run_jobs
from desktop.library.library import Library
from desktop.library.types import (
    SORTABLE_COLUMNS,
    CaptionRecord,
    FileQuery,
    FileRow,
    FileStatus,
    FolderCount,
    JobEvent,
    JobRow,
    JobState,
    QueueCounts,
    RootInfo,
    ScanError,
    ScanProgress,
    ScanReport,
    SearchHit,
    SearchMode,
    SortColumn,
    TextEmbedder,
)

__all__ = [
    "CSV_COLUMNS",
    "SORTABLE_COLUMNS",
    "CaptionRecord",
    "CaptionerLike",
    "FileQuery",
    "FileRow",
    "FileStatus",
    "FolderCount",
    "JobEvent",
    "JobRow",
    "JobRunSummary",
    "JobState",
    "Library",
    "QueueCounts",
    "RootInfo",
    "ScanError",
    "ScanProgress",
    "ScanReport",
    "SearchHit",
    "SearchMode",
    "SortColumn",
    "TextEmbedder",
    "export_csv",
    "run_jobs",
]
