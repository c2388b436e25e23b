"""Every write the window makes, on one thread of its own, retried while the library is busy.

The GUI thread never waits for the database: another program (or a slow disk) may hold the
library's write lock for a long time, and SQLite would make the caller wait up to its busy
timeout and then fail. :class:`LibraryWriter` runs writes in order on its own thread with its
own connection and a short busy timeout, retries with backoff for as long as the library is
busy (saying so with ``waitingChanged``), and reports each outcome on the GUI thread. Edits
that carry a person's words are journaled first (:mod:`desktop.gui.journal`), so a quit or a
crash while waiting loses nothing: the next start replays them.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from desktop.gui.journal import EditJournal
from desktop.gui.tasks import TaskResult
from desktop.library import Library
from desktop.library.errors import DiskFullError, LibraryBusyError, UnknownFileError

log = logging.getLogger(__name__)

__all__ = ["JOURNALED", "LibraryWriter", "WriteOp", "apply_op", "is_busy"]

#: Kinds of write that carry a person's words: journaled until stored.
JOURNALED = frozenset(
    {"save_caption", "add_keywords", "remove_keywords", "set_descriptions", "restore"}
)
#: Backoff between attempts while the library is busy (seconds); the last repeats.
_BACKOFF = (0.1, 0.2, 0.4, 0.8, 1.0)
#: The writer's own busy timeout: short, so it notices quickly and can say so.
_BUSY_TIMEOUT_MS = 200


@dataclass(frozen=True)
class WriteOp:
    """One write, as plain JSON-able data (so it can be journaled and replayed).

    Attributes:
        kind: ``save_caption`` (file_id, text, keywords), ``add_keywords`` /
            ``remove_keywords`` (file_ids, keywords), ``set_descriptions`` (file_ids, text),
            ``restore`` (targets: {file id: caption id or None}), ``enqueue`` (files: ids,
            "all" or "uncaptioned"; force), ``cancel_queued``, ``retry_failed``,
            ``clear_finished``, ``remove_files`` (file_ids), ``remove_roots`` (root_ids).
        args: The arguments named above.
    """

    kind: str
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def journaled(self) -> bool:
        """Whether this write carries user words (and is journaled until stored)."""
        return self.kind in JOURNALED

    def to_json(self) -> dict[str, Any]:
        """The op as a JSON object."""
        return {"kind": self.kind, "args": self.args}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WriteOp:
        """Rebuild an op from :meth:`to_json`."""
        return cls(str(data["kind"]), dict(data.get("args") or {}))


def apply_op(library: Library, op: WriteOp) -> Any:
    """Run one write on ``library`` (the writer's thread); returns what the method returns."""
    a = op.args
    if op.kind == "save_caption":
        return [library.save_user_edit(int(a["file_id"]), str(a["text"]), list(a["keywords"]))]
    if op.kind == "add_keywords":
        return library.add_keywords([int(i) for i in a["file_ids"]], list(a["keywords"]))
    if op.kind == "remove_keywords":
        return library.remove_keywords([int(i) for i in a["file_ids"]], list(a["keywords"]))
    if op.kind == "set_descriptions":
        return library.set_descriptions([int(i) for i in a["file_ids"]], str(a["text"]))
    if op.kind == "restore":
        targets = {int(k): (None if v is None else int(v)) for k, v in a["targets"].items()}
        return library.restore_captions(targets)
    if op.kind == "enqueue":
        files = a["files"]
        which = files if isinstance(files, str) else [int(i) for i in files]
        return library.enqueue(which, force=bool(a.get("force", False)))  # type: ignore[arg-type]
    if op.kind == "cancel_queued":
        return library.cancel_queued()
    if op.kind == "retry_failed":
        return library.retry_failed()
    if op.kind == "clear_finished":
        return library.clear_finished()
    if op.kind == "remove_files":
        return library.remove_files([int(i) for i in a["file_ids"]])
    if op.kind == "remove_roots":
        for root_id in a["root_ids"]:
            library.remove_root(int(root_id))
        return len(a["root_ids"])
    raise ValueError(f"unknown write {op.kind!r}")


def is_busy(exc: BaseException) -> bool:
    """True for "the library is locked by someone else" (worth waiting and retrying)."""
    if isinstance(exc, (LibraryBusyError, DiskFullError)):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return "locked" in text or "busy" in text or "disk is full" in text
    return False


def _is_gone(exc: BaseException) -> bool:
    """The edit can never apply (its file was removed meanwhile): stop retrying it."""
    return isinstance(exc, (KeyError, UnknownFileError, ValueError))


@dataclass
class _Item:
    ticket: int
    op: WriteOp
    journal_id: str | None


class LibraryWriter(QObject):
    """Runs :class:`WriteOp` s in order on a writer thread; results come back on the GUI thread.

    Signals:
        finished(ticket, TaskResult): one write ended (stored, or failed for good).
        waitingChanged(waiting, message): the library is busy and writes wait (or no longer).
    """

    finished = Signal(int, object)
    waitingChanged = Signal(bool, str)
    _reported = Signal(int, object)
    _waiting = Signal(bool, str)

    def __init__(
        self, db_path: Path, journal: EditJournal | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.db_path = Path(db_path)
        self.journal = journal
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._callbacks: dict[int, Callable[[TaskResult[Any]], None] | None] = {}
        self._ops: dict[int, WriteOp] = {}
        self._next = 0
        self._stop = threading.Event()
        self._waiting_now = False  # GUI thread's view
        self._thread_waiting = False  # the writer thread's own, so it reports changes once
        self._completed: set[int] = set()  # tickets the thread finished (read at stop)
        self._stopped = False
        self._reported.connect(self._deliver)
        self._waiting.connect(self._relay_waiting)
        self._thread = threading.Thread(target=self._run, name="earmark-writer", daemon=True)
        self._thread.start()

    # -- GUI thread ------------------------------------------------------------------------------

    def submit(
        self,
        op: WriteOp,
        on_result: Callable[[TaskResult[Any]], None] | None = None,
        journal_id: str | None = None,
    ) -> int:
        """Queue a write; returns its ticket. Journaled ops are on disk before this returns."""
        self._next += 1
        ticket = self._next
        if op.journaled and self.journal is not None and journal_id is None:
            journal_id = self.journal.add(op.to_json())
        self._callbacks[ticket] = on_result
        self._ops[ticket] = op
        self._queue.put(_Item(ticket, op, journal_id))
        return ticket

    @property
    def pending(self) -> list[WriteOp]:
        """Writes queued or in progress, oldest first."""
        return [self._ops[t] for t in sorted(self._ops)]

    @property
    def waiting(self) -> bool:
        """True while the library is busy and writes wait for it."""
        return self._waiting_now

    def stop(self, timeout_s: float = 2.0) -> int:
        """Finish the queued writes (up to ``timeout_s``), then stop; returns how many writes
        were left undone.

        While the library is busy nothing is waited for: journaled writes left undone stay in
        the journal for the next start.
        """
        self._queue.put(None)
        if not self._thread_waiting:
            self._thread.join(timeout_s)
        self._stop.set()
        self._thread.join(1.0)
        self._stopped = True  # results still in Qt's queue find their receivers closed
        return self._undone()

    def _undone(self) -> int:
        return len(set(self._ops) - self._completed)

    @Slot(int, object)
    def _deliver(self, ticket: int, result: object) -> None:
        if self._stopped:
            return
        callback = self._callbacks.pop(ticket, None)
        self._ops.pop(ticket, None)
        self._completed.discard(ticket)
        assert isinstance(result, TaskResult)
        if callback is not None:
            callback(result)
        self.finished.emit(ticket, result)

    @Slot(bool, str)
    def _relay_waiting(self, waiting: bool, message: str) -> None:
        self._waiting_now = waiting
        self.waitingChanged.emit(waiting, message)

    # -- writer thread -----------------------------------------------------------------------

    def _run(self) -> None:
        library: Library | None = None
        try:
            while not self._stop.is_set():
                item = self._queue.get()
                if item is None or self._stop.is_set():
                    break
                result, library = self._attempt(item, library)
                if result is None:
                    break  # stopped while waiting: the journal keeps the edit
                stored = result.ok or (result.error is not None and _is_gone(result.error))
                if item.journal_id is not None and self.journal is not None and stored:
                    self.journal.done(item.journal_id)
                self._completed.add(item.ticket)
                self._reported.emit(item.ticket, result)
        finally:
            if library is not None:
                with contextlib.suppress(Exception):
                    library.close()

    def _attempt(
        self, item: _Item, library: Library | None
    ) -> tuple[TaskResult[Any] | None, Library | None]:
        attempt = 0
        while True:
            try:
                if library is None:
                    library = Library.open(self.db_path)
                    library.connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
                    library.set_write_patience(0)  # this loop waits, stoppable, and says so
                value = apply_op(library, item.op)
            except Exception as exc:
                if not is_busy(exc):
                    log.info("write %s failed: %s", item.op.kind, exc)
                    self._set_waiting(False)
                    return TaskResult(error=exc), library
                if attempt == 0:
                    log.info("library busy; %s waits: %s", item.op.kind, exc)
                self._set_waiting(True)
                delay = _BACKOFF[min(attempt, len(_BACKOFF) - 1)]
                attempt += 1
                if self._stop.wait(delay):
                    return None, library
                continue
            self._set_waiting(False)
            return TaskResult(value=value), library

    def _set_waiting(self, waiting: bool) -> None:
        if waiting != self._thread_waiting:
            self._thread_waiting = waiting
            self._waiting.emit(
                waiting,
                "Waiting for the library: another program is writing to it. "
                "Your edits are kept and will be saved as soon as it is free."
                if waiting
                else "",
            )
