"""Plain data the library hands out and takes in: rows, queries, reports and job events.

Everything here is a small dataclass or a literal type, cheap to create in a table model's
``data()`` and safe to pass between threads (frozen where the library never mutates it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

__all__ = [
    "SORTABLE_COLUMNS",
    "CaptionChange",
    "CaptionRecord",
    "CaptionSource",
    "FileQuery",
    "FileRow",
    "FileStatus",
    "FolderCount",
    "JobEvent",
    "JobKind",
    "JobRow",
    "JobState",
    "QueueCounts",
    "RemovalImpact",
    "RootInfo",
    "RootKind",
    "ScanError",
    "ScanProgress",
    "ScanReport",
    "SearchHit",
    "SearchMode",
    "SortColumn",
    "TextEmbedder",
]

#: ``ok``: readable audio; ``error``: found but unreadable (message in ``FileRow.error``);
#: ``missing``: was in the library, no longer on disk at its path.
FileStatus = Literal["ok", "error", "missing"]

JobState = Literal["queued", "running", "done", "failed", "cancelled"]

#: ``caption``: write a caption; ``index``: the audio embedding and keyword tags only.
JobKind = Literal["caption", "index"]

#: ``folder``: a folder scanned with everything in it; ``files``: files added one by one
#: (a drop) whose folder is not adopted.
RootKind = Literal["folder", "files"]

#: Who wrote a caption: the models, a person (typed in the app or the CLI), or the file
#: itself (its embedded description).
CaptionSource = Literal["model", "user", "file"]

#: ``text``: FTS5 over name, folder, caption and keywords with user input escaped and prefix
#: matching; ``advanced``: the text is FTS5 query syntax, passed through; ``semantic``: CLAP
#: text-to-audio similarity; ``hybrid``: reciprocal-rank fusion of ``text`` and ``semantic``.
SearchMode = Literal["text", "semantic", "hybrid", "advanced"]

#: Columns the table can be sorted by; each has an index. ``rank`` means search relevance
#: (falls back to ``name`` when there is no search text).
SortColumn = Literal[
    "rank",
    "id",
    "name",
    "folder",
    "path",
    "ext",
    "format",
    "size",
    "mtime",
    "duration_s",
    "sample_rate",
    "channels",
    "bit_depth",
    "status",
    "caption",
    "captioned_at",
]
SORTABLE_COLUMNS: tuple[str, ...] = SortColumn.__args__  # type: ignore[attr-defined]

#: Turns strings into unit-length float32 vectors ``(len(texts), dim)``, e.g.
#: ``Captioner.embed_text``.
TextEmbedder = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class RootInfo:
    """A registered library folder.

    Attributes:
        id: Row id.
        path: Absolute folder path.
        files: Files under it that are not missing.
        captioned: Of those, files with a current caption.
        missing: Files that vanished from disk.
        errors: Files that could not be read.
        last_scan_at: Unix time the last complete scan of the root ended, or ``None``.
        kind: ``folder`` (scanned whole) or ``files`` (only files added one by one).
    """

    id: int
    path: str
    files: int
    captioned: int
    missing: int = 0
    errors: int = 0
    last_scan_at: float | None = None
    kind: RootKind = "folder"


@dataclass(frozen=True)
class FolderCount:
    """One folder under a root, for a folder tree.

    Attributes:
        folder: Absolute folder path (the root itself included when it holds files).
        files: Files directly in this folder (not counting subfolders), not missing.
        captioned: Of those, files with a current caption.
    """

    folder: str
    files: int
    captioned: int


@dataclass(frozen=True)
class FileRow:
    """One sound file as the table and the detail panel show it.

    Attributes:
        id: Row id, stable across rescans and moves.
        root_id: The root folder it was found under.
        path: Absolute path.
        folder: Absolute parent folder.
        name: File name with extension.
        ext: Lower-case extension without the dot (``"wav"``).
        size: Bytes on disk.
        mtime: Modification time (Unix seconds).
        duration_s: Length in seconds from the header, or ``None`` when unknown.
        sample_rate: Hz, or ``None``.
        channels: Channel count, or ``None``.
        bit_depth: Bits per sample for PCM formats, else ``None``.
        format: Container as libsndfile names it (``"WAV"``, ``"FLAC"``), or ``None``.
        subtype: Sample encoding (``"PCM_16"``), or ``None``.
        status: ``ok``, ``error`` or ``missing``.
        error: Why the file could not be read, when ``status == "error"``.
        caption: Current caption text, or ``None``.
        keywords: Current caption keywords, best first.
        caption_source: ``"model"``, ``"user"`` (a person wrote it) or ``"file"`` (the
            file's own description) for the current caption, else ``None``.
        caption_model: Model refs of the current caption (``"clap | llm"``), or ``None``.
        captioned_at: Unix time of the current caption, or ``None``.
        score: Relevance of a search hit (higher is better), ``None`` outside searches.
    """

    id: int
    root_id: int
    path: str
    folder: str
    name: str
    ext: str
    size: int | None
    mtime: float | None
    duration_s: float | None
    sample_rate: int | None
    channels: int | None
    bit_depth: int | None
    format: str | None
    subtype: str | None
    status: FileStatus
    error: str | None
    caption: str | None
    keywords: tuple[str, ...]
    caption_source: str | None
    caption_model: str | None
    captioned_at: float | None
    score: float | None = None


@dataclass(frozen=True)
class FileQuery:
    """What the table shows: search, filters and sort. Immutable so it can key caches.

    Attributes:
        text: Search text; empty means no search (all files matching the filters).
        mode: How ``text`` is searched; see :data:`SearchMode`.
        folder: Only files in this folder or below it.
        root_id: Only files under this root.
        formats: Only these extensions (lower case, no dot), e.g. ``("wav", "flac")``.
        min_duration: Only files at least this long (seconds).
        max_duration: Only files at most this long (seconds).
        captioned: ``True`` only captioned files, ``False`` only uncaptioned, ``None`` both.
        keyword: Only files whose current caption has this keyword (exact, case-insensitive).
        caption_source: Only files whose current caption was written by the user
            (``"user"``) or by the models (``"model"``); ``None`` for any.
        statuses: Only files with these statuses; default hides missing files.
        sort: Sort column; ``rank`` is relevance for searches and ``name`` otherwise.
        descending: Sort order.
        semantic_model: Embedding model id for semantic/hybrid modes; ``None`` uses the
            library's text embedder's model.
        max_results: Semantic and hybrid searches rank at most this many files.
        thesaurus: Word and hybrid searches also match each word's UCS names and synonyms
            (``helicopter`` finds ``chopper``), when the UCS list is available.
    """

    text: str = ""
    mode: SearchMode = "text"
    folder: str | None = None
    root_id: int | None = None
    formats: tuple[str, ...] = ()
    min_duration: float | None = None
    max_duration: float | None = None
    captioned: bool | None = None
    keyword: str | None = None
    caption_source: CaptionSource | None = None
    statuses: tuple[FileStatus, ...] = ("ok", "error")
    sort: SortColumn = "rank"
    descending: bool = False
    semantic_model: str | None = None
    max_results: int = 1000
    thesaurus: bool = False


@dataclass(frozen=True)
class SearchHit:
    """A search result: the file and how well it matched (higher ``score`` is better)."""

    file: FileRow
    score: float


@dataclass(frozen=True)
class CaptionRecord:
    """One caption of a file, current or from its history.

    Attributes:
        id: Row id.
        file_id: The captioned file.
        text: Caption text.
        keywords: ``(keyword, score)`` pairs, best first (user keywords have score 1.0).
        source: ``"model"``, ``"user"`` or ``"file"`` (read from the file's metadata).
        clap: Audio-language model ref (model captions).
        llm: Language model ref (model captions).
        params: Decoding parameters and provenance details as a dict.
        created_at: Unix time.
        current: Whether this is the caption the file shows.
    """

    id: int
    file_id: int
    text: str
    keywords: tuple[tuple[str, float], ...]
    source: str
    clap: str | None
    llm: str | None
    params: dict[str, object]
    created_at: float
    current: bool


@dataclass(frozen=True)
class ScanError:
    """A path the scan could not use and why (folders that could not be listed, loops)."""

    path: str
    message: str


@dataclass(frozen=True)
class ScanProgress:
    """Passed to a scan's progress callback after each file or folder.

    Attributes:
        root: The root being scanned.
        seen: Audio files seen so far in this scan (all roots).
        current: The path just handled.
    """

    root: str
    seen: int
    current: str


@dataclass
class ScanReport:
    """What a scan did.

    Attributes:
        seen: Audio files found on disk.
        added: New files registered.
        updated: Known files re-read: size or mtime changed, or unreadable last time.
        unchanged: Known files skipped because size and mtime matched.
        moved: Files found at a new path and matched to a vanished row by fingerprint
            (their captions are kept).
        missing: Files newly marked missing.
        errors: Files recorded with ``status == "error"`` in this scan.
        skipped: Files not registered because their extension is not a sound format Earmark
            reads, by extension (e.g. ``{"txt": 3}``) — shown so nothing vanishes silently.
        problems: Folders or paths that could not be scanned (permission, symlink loop).
        cancelled: Whether the scan stopped early (missing files are then not marked).
        seconds: Wall time.
    """

    seen: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    moved: int = 0
    missing: int = 0
    errors: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    problems: list[ScanError] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0


@dataclass(frozen=True)
class QueueCounts:
    """Jobs per state."""

    queued: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def pending(self) -> int:
        """Jobs still to do (queued or running)."""
        return self.queued + self.running


@dataclass(frozen=True)
class JobRow:
    """One job of the persisted queue.

    Attributes:
        id: Row id.
        file_id: The file to caption.
        path: The file's path (for display).
        state: See :data:`JobState`.
        attempts: How many times it was started.
        error: Last failure message.
        force: Whether it may replace a user's caption (the one the file had when queued).
        created_at: Unix time it was queued.
        updated_at: Unix time of the last state change.
        kind: What the job does; see :data:`JobKind`.
    """

    id: int
    file_id: int
    path: str
    state: JobState
    attempts: int
    error: str | None
    force: bool
    created_at: float
    updated_at: float
    kind: JobKind = "caption"


@dataclass(frozen=True)
class JobEvent:
    """What the job loop reports to its ``on_event`` callback.

    Attributes:
        kind: ``"started"`` (job began, ``file_id`` set), ``"captioned"`` or ``"indexed"``
            (committed),
            ``"failed"`` (``message`` set), ``"progress"`` (``done`` of ``total``),
            ``"idle"`` (queue empty).
        file_id: The file concerned, for per-file events.
        message: Failure message.
        done: Jobs finished in this run (captioned or failed).
        total: Jobs this run expects to process (queue size at start, capped by ``limit``).
    """

    kind: Literal["started", "captioned", "indexed", "failed", "progress", "idle"]
    file_id: int | None = None
    message: str | None = None
    done: int = 0
    total: int = 0


@dataclass(frozen=True)
class CaptionChange:
    """One file's current caption before and after an edit (what undo puts back).

    Attributes:
        file_id: The file.
        before: Caption id that was current before, or ``None`` (the file had none).
        after: Caption id that is current now, or ``None`` (the edit cleared it).
    """

    file_id: int
    before: int | None
    after: int | None


@dataclass(frozen=True)
class RemovalImpact:
    """What removing files (or a library folder) from the library would forget.

    Attributes:
        files: Files that would be forgotten (missing ones included).
        captioned: Of those, files with a current caption.
        user_captions: Of those, files whose current caption the user wrote.
    """

    files: int = 0
    captioned: int = 0
    user_captions: int = 0
