"""Qt-free core of Earmark: the sound library in SQLite, scanning, the job queue, search, export.

Public API::

    from desktop.library import Library, FileQuery, run_jobs, export_csv

    with Library.open(path) as lib:            # one Library (connection) per thread; WAL mode
        lib.add_root("~/Sounds"); lib.scan(progress=..., cancel=...)
        lib.count_files(FileQuery(text="dog", formats=("wav",)))
        lib.list_files(query, offset, limit)   # sequential pages use keyset pagination
        lib.enqueue("uncaptioned")
        run_jobs(lib, captioner, should_stop=..., on_event=...)   # GUI worker and CLI
        export_csv(lib, "out.csv", query=query)

Layout: ``library.py`` (the class, lifecycle), ``_roots.py`` (roots, scanning into SQL),
``scanning.py`` (walking the disk, headers, fingerprints), ``_captions.py`` (captions,
keywords, embeddings), ``_queue.py`` (the persisted job queue), ``_query.py`` and ``_sql.py``
(listing, filters, FTS5), ``semantic.py`` (embedding matrix, RRF), ``jobs.py`` (job loop),
``export.py`` (CSV), ``schema.py`` (migrations), ``types.py`` (rows, queries, events),
``_edits.py`` (user edits with undo records, removals, lone files, natural name keys).
"""

from desktop.library._edits import natural_name_key
from desktop.library.export import CSV_COLUMNS, export_csv
from desktop.library.jobs import (
    CaptionerLike,
    IndexerLike,
    JobRunSummary,
    run_index_jobs,
    run_jobs,
)
from desktop.library.library import Library
from desktop.library.types import (
    SORTABLE_COLUMNS,
    CaptionChange,
    CaptionRecord,
    CaptionSource,
    FileQuery,
    FileRow,
    FileStatus,
    FolderCount,
    JobEvent,
    JobKind,
    JobRow,
    JobState,
    QueueCounts,
    RemovalImpact,
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
    "CaptionChange",
    "CaptionRecord",
    "CaptionSource",
    "CaptionerLike",
    "FileQuery",
    "FileRow",
    "FileStatus",
    "FolderCount",
    "IndexerLike",
    "JobEvent",
    "JobKind",
    "JobRow",
    "JobRunSummary",
    "JobState",
    "Library",
    "QueueCounts",
    "RemovalImpact",
    "RootInfo",
    "ScanError",
    "ScanProgress",
    "ScanReport",
    "SearchHit",
    "SearchMode",
    "SortColumn",
    "TextEmbedder",
    "export_csv",
    "natural_name_key",
    "run_index_jobs",
    "run_jobs",
]
