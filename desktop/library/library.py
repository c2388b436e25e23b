"""The :class:`Library`: the one place with SQL. Open one per thread."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal

import numpy as np

from captioner.types import Caption
from desktop.library.types import (
    CaptionRecord,
    FileQuery,
    FileRow,
    FolderCount,
    JobRow,
    JobState,
    QueueCounts,
    RootInfo,
    ScanProgress,
    ScanReport,
    SearchHit,
    SearchMode,
    TextEmbedder,
)

__all__ = ["Library"]

log = logging.getLogger(__name__)


class Library:
    """A sound library stored in one SQLite database (WAL mode).

    A ``Library`` wraps one connection and must only be used from the thread that opened it;
    open another one (same path) per thread. Usable as a context manager.

    Example:
        >>> with Library.open(":memory:") as lib:
        ...     root_id = lib.add_root("/sounds")
        ...     report = lib.scan()
    """

    def __init__(self, path: str | Path) -> None:
        raise NotImplementedError

    # -- lifecycle ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path) -> Library:
        """Open (creating and migrating if needed) the library at ``path``.

        Args:
            path: Database file, or ``":memory:"`` for a throwaway library (tests).
        """
        return cls(path)

    @property
    def path(self) -> str:
        """The database path (``":memory:"`` for in-memory libraries)."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the connection; the object is unusable afterwards."""
        raise NotImplementedError

    def __enter__(self) -> Library:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- roots and folders -------------------------------------------------------------------

    def add_root(self, path: str | Path) -> int:
        """Register a folder (idempotent) and return its root id; does not scan it.

        Raises:
            NotADirectoryError: ``path`` is not an existing folder.
        """
        raise NotImplementedError

    def roots(self) -> list[RootInfo]:
        """All roots with their file, captioned, missing and error counts."""
        raise NotImplementedError

    def remove_root(self, root_id: int) -> None:
        """Forget a root and everything under it (files, captions, embeddings, jobs)."""
        raise NotImplementedError

    def folders(self, root_id: int) -> list[FolderCount]:
        """Folders under a root that hold files, sorted by path, with direct file counts."""
        raise NotImplementedError

    # -- scanning ----------------------------------------------------------------------------

    def scan(
        self,
        root_ids: Sequence[int] | None = None,
        *,
        progress: Callable[[ScanProgress], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> ScanReport:
        """Scan roots (all by default) for audio files, incrementally.

        Unchanged files (same size and mtime) are skipped; moved files keep their captions;
        vanished files are marked missing; unreadable files are recorded with their error.
        Work is committed in batches, so cancelling keeps what was scanned.

        Args:
            root_ids: Roots to scan; ``None`` scans every root.
            progress: Called after each file with a :class:`ScanProgress`.
            cancel: Polled between files; returning ``True`` stops the scan.
        """
        raise NotImplementedError

    def add_paths(self, paths: Iterable[str | Path]) -> list[int]:
        """Add dropped files or folders: register roots as needed, scan them, return file ids.

        A folder becomes a root (unless it is inside one); a file's parent folder becomes a
        root unless the file is inside an existing root. Only the dropped paths are scanned.
        Paths that are not audio files or folders are ignored (logged).
        """
        raise NotImplementedError

    # -- table -------------------------------------------------------------------------------

    def set_text_embedder(self, embed: TextEmbedder | None, model_id: str | None) -> None:
        """Set the function that embeds search text for semantic and hybrid queries.

        Args:
            embed: e.g. ``Captioner.embed_text``; ``None`` disables semantic search.
            model_id: The embedding model id (``Captioner.embedding_model_id``).
        """
        raise NotImplementedError

    def count_files(self, query: FileQuery | None = None) -> int:
        """Number of files matching ``query`` (all non-missing files when ``None``)."""
        raise NotImplementedError

    def list_files(
        self, query: FileQuery | None = None, offset: int = 0, limit: int = 100
    ) -> list[FileRow]:
        """One page of files matching ``query`` in its sort order.

        Pages fetched in sequence (offset = previous offset + previous length) use keyset
        pagination internally, so scrolling to the end of a million rows stays fast.
        """
        raise NotImplementedError

    def get_file(self, file_id: int) -> FileRow | None:
        """The file with this id, or ``None``."""
        raise NotImplementedError

    def file_id_for_path(self, path: str | Path) -> int | None:
        """The id of the file at this absolute path, or ``None``."""
        raise NotImplementedError

    def stats(self) -> dict[str, object]:
        """Counts for ``earmark library stats``: files by status, captioned, queue, roots."""
        raise NotImplementedError

    def broken_files(self, limit: int | None = None) -> list[FileRow]:
        """Files with ``status == "error"``, with their messages."""
        raise NotImplementedError

    # -- captions ----------------------------------------------------------------------------

    def current_caption(self, file_id: int) -> CaptionRecord | None:
        """The caption the file shows, or ``None``."""
        raise NotImplementedError

    def caption_history(self, file_id: int) -> list[CaptionRecord]:
        """Every caption the file ever had, newest first."""
        raise NotImplementedError

    def set_user_caption(
        self, file_id: int, text: str, keywords: Sequence[str] | None = None
    ) -> int:
        """Store a user's caption as current (kept in history); returns the caption id.

        Re-captioning never replaces a user caption unless the job was queued with
        ``force=True``.

        Raises:
            KeyError: No such file.
            ValueError: Empty text.
        """
        raise NotImplementedError

    def save_caption(
        self,
        file_id: int,
        caption: Caption,
        *,
        embedding_model_id: str,
        job_id: int | None = None,
        force: bool = False,
    ) -> int:
        """Store a model caption, its keywords, its embedding and the job state in one
        transaction; returns the caption id.

        The caption becomes current unless the file has a user caption and ``force`` is
        false, in which case it only goes into the history.
        """
        raise NotImplementedError

    def embedding(self, file_id: int, model_id: str | None = None) -> np.ndarray | None:
        """The stored audio embedding of a file (float32), or ``None``."""
        raise NotImplementedError

    def embedding_models(self) -> list[tuple[str, int]]:
        """Embedding model ids with their embedding counts, most used first."""
        raise NotImplementedError

    # -- queue -------------------------------------------------------------------------------

    def enqueue(
        self,
        files: Iterable[int] | Literal["all", "uncaptioned"],
        *,
        force: bool = False,
    ) -> int:
        """Queue files for captioning; returns how many jobs were added.

        Files already queued or running are not queued twice; missing files are skipped;
        ``"all"`` and ``"uncaptioned"`` take readable files only. Files with a user caption
        are skipped unless ``force``.
        """
        raise NotImplementedError

    def queue_counts(self) -> QueueCounts:
        """Jobs per state."""
        raise NotImplementedError

    def jobs(self, state: JobState | None = None, limit: int = 1000) -> list[JobRow]:
        """Jobs (in one state, or all), oldest first for queued, newest first otherwise."""
        raise NotImplementedError

    def retry_failed(self) -> int:
        """Queue failed jobs again; returns how many."""
        raise NotImplementedError

    def cancel_queued(self) -> int:
        """Cancel every queued job; returns how many."""
        raise NotImplementedError

    def clear_finished(self) -> int:
        """Delete done and cancelled jobs; returns how many."""
        raise NotImplementedError

    def claim_jobs(self, n: int = 1) -> list[JobRow]:
        """Mark up to ``n`` queued jobs running for this process and return them (job loop)."""
        raise NotImplementedError

    def fail_job(self, job_id: int, message: str) -> None:
        """Mark a running job failed with a message (job loop)."""
        raise NotImplementedError

    def requeue_job(self, job_id: int) -> None:
        """Put a running job back in the queue (job loop, when stopped mid-batch)."""
        raise NotImplementedError

    def recover_stale_jobs(self) -> int:
        """Requeue jobs left running by a process that died; returns how many."""
        raise NotImplementedError

    # -- search ------------------------------------------------------------------------------

    def search(
        self,
        text: str,
        *,
        mode: SearchMode = "text",
        limit: int = 50,
        embed_text: TextEmbedder | None = None,
        model_id: str | None = None,
    ) -> list[SearchHit]:
        """Search files by text, by meaning, or both; best first.

        Args:
            text: What to look for.
            mode: See :data:`SearchMode`.
            limit: Most hits returned.
            embed_text: Text embedder for semantic/hybrid (else the one set with
                :meth:`set_text_embedder`).
            model_id: Embedding model id for semantic/hybrid.

        Raises:
            ValueError: Semantic search without an embedder, or invalid advanced syntax.
        """
        raise NotImplementedError

    def similar(
        self, file_id: int, limit: int = 20, model_id: str | None = None
    ) -> list[SearchHit]:
        """Files whose audio embedding is closest to this file's (itself excluded)."""
        raise NotImplementedError
