"""Plain records that controllers hand to views (no Qt): what a view shows, never how."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from desktop.library import CaptionRecord, FileRow

__all__ = ["FileDetails", "PendingEdit", "QueueStatus", "QueueStatusKind", "SaveState"]

#: ``idle``, ``loading`` (models), ``working`` (captioning), ``paused``, ``missing`` (models
#: not downloaded), ``failed`` (models could not be loaded, or the run stopped on an error).
QueueStatusKind = Literal["idle", "loading", "working", "paused", "missing", "failed"]

#: Where a typed edit is: ``saving`` (sent to the library), ``waiting`` (the library is busy;
#: the edit is kept on disk and retried), ``saved``, or ``""`` (nothing in flight).
SaveState = Literal["", "saving", "waiting", "saved"]


@dataclass(frozen=True)
class QueueStatus:
    """What the caption worker is doing, for the queue panel.

    Attributes:
        kind: See :data:`QueueStatusKind`.
        text: One short line ("Captioning rain.wav…").
        problem: A reason to keep on screen (load failures), or ``""``.
    """

    kind: QueueStatusKind
    text: str
    problem: str = ""


@dataclass(frozen=True)
class PendingEdit:
    """A user's edit that is not in the library yet (the writer is waiting or saving)."""

    file_id: int
    text: str
    keywords: tuple[str, ...]
    state: SaveState = "saving"


@dataclass(frozen=True)
class FileDetails:
    """Everything the detail panel shows about one file.

    Attributes:
        row: The file.
        record: Its current caption, or ``None``.
        history: How many captions it has had (current included).
        pending: An edit of this file still being saved, shown instead of ``record``.
    """

    row: FileRow
    record: CaptionRecord | None = None
    history: int = 0
    pending: PendingEdit | None = None
