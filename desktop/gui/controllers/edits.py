"""The edits controller: storing what the person types, batch edits, restores, and undo.

Every edit goes to the :class:`~desktop.gui.writer.LibraryWriter` (journaled on disk first),
so saving never blocks the window and never silently drops words: while the library is busy
the edit shows as waiting, and it is replayed at the next start if the app closes first. Once
stored, each edit becomes one step on the undo stack: undoing makes the captions that were
current before current again (nothing is deleted; the caption history keeps every version).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QUndoCommand, QUndoStack

from desktop.gui.formatting import describe_error
from desktop.gui.records import PendingEdit, SaveState
from desktop.gui.tasks import TaskResult
from desktop.gui.writer import LibraryWriter, WriteOp
from desktop.library import CaptionChange, Library

log = logging.getLogger(__name__)

__all__ = ["EditsController"]

Targets = dict[int, int | None]


class _Restore(QUndoCommand):
    """Undo: make ``before`` current again; redo: what was current when undone."""

    def __init__(self, controller: EditsController, label: str, before: Targets) -> None:
        super().__init__(label)
        self._controller = controller
        self._before = dict(before)
        self._after: Targets | None = None
        self._pushed = False

    def redo(self) -> None:
        if not self._pushed:
            self._pushed = True  # pushed after the edit was stored: nothing to do now
            return
        if self._after is not None:
            self._controller._write_restore(self._after, self.text())

    def undo(self) -> None:
        self._after = self._controller._current_ids(list(self._before))
        self._controller._write_restore(self._before, self.text())


class EditsController(QObject):
    """Saves edits through the writer and keeps the undo stack.

    Signals:
        captionsChanged(list[int]): these files' current captions changed.
        saveStateChanged(file_id, state): a typed edit is saving / waiting / saved.
        waitingChanged(waiting, message): the library is busy; edits wait (or no longer).
        info(message), problem(message).
    """

    captionsChanged = Signal(object)
    saveStateChanged = Signal(int, str)
    waitingChanged = Signal(bool, str)
    info = Signal(str)
    problem = Signal(str)

    def __init__(self, library: Library, writer: LibraryWriter, parent: QObject | None = None):
        super().__init__(parent)
        self._library = library
        self._writer = writer
        self._pending: dict[int, PendingEdit] = {}
        # Which save of a file is the latest: an older save's result must not clear the
        # pending state of a newer one.
        self._latest: dict[int, int] = {}
        self._saves = 0
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(200)
        writer.waitingChanged.connect(self._on_waiting)

    # -- what is pending ---------------------------------------------------------------------

    def pending_edit(self, file_id: int) -> PendingEdit | None:
        """The typed edit of this file still on its way to the library, if any."""
        return self._pending.get(file_id)

    @property
    def pending_count(self) -> int:
        """Writes not stored yet (edits and queue changes)."""
        return len(self._writer.pending)

    # -- edits -------------------------------------------------------------------------------

    @Slot(int, str, list)
    def save_caption(self, file_id: int, text: str, keywords: list[str]) -> None:
        """Store a typed description and keywords (journaled first; undoable once stored)."""
        op = WriteOp("save_caption", {"file_id": file_id, "text": text, "keywords": keywords})
        self._send_save(op)

    def add_keywords(self, file_ids: Sequence[int], keywords: Sequence[str]) -> None:
        """Add keywords to every file that has a description."""
        self._batch("add_keywords", file_ids, {"keywords": list(keywords)}, "Add keywords")

    def remove_keywords(self, file_ids: Sequence[int], keywords: Sequence[str]) -> None:
        """Remove keywords from every file."""
        self._batch("remove_keywords", file_ids, {"keywords": list(keywords)}, "Remove keywords")

    def set_descriptions(self, file_ids: Sequence[int], text: str) -> None:
        """Give every file the same description (each keeps its keywords)."""
        self._batch("set_descriptions", file_ids, {"text": text}, "Set descriptions")

    @Slot(object, object, object, str)
    def apply_batch(
        self,
        file_ids: Sequence[int],
        add: Sequence[str],
        remove: Sequence[str],
        description: str,
    ) -> None:
        """One batch edit: a description for all, keywords added, keywords removed."""
        if description:
            self.set_descriptions(file_ids, description)
        if add:
            self.add_keywords(file_ids, add)
        if remove:
            self.remove_keywords(file_ids, remove)

    @Slot(int, int)
    def restore(self, file_id: int, caption_id: int) -> None:
        """Make an older caption current again (from the history); undoable."""

        def done(result: TaskResult[object]) -> None:
            changes = self._changes(result, "The caption was not restored")
            if changes:
                self._push("Restore caption", changes)
                self.info.emit("Caption restored. Edit -> Undo puts the other one back.")

        op = WriteOp("restore", {"targets": {str(file_id): caption_id}})
        self._writer.submit(op, done)

    @Slot(object)
    def record_replacement(self, before: dict[int, int]) -> None:
        """Remember user captions that "Caption again" is about to replace (one undo step).

        Undoing before the new captions arrive also stops the queued jobs from replacing them.
        """
        if before:
            n = len(before)
            label = "Caption again" if n == 1 else f"Caption {n:,} files again"
            command = _Restore(self, label, dict(before))
            self.undo_stack.push(command)

    def replay_journal(self) -> int:
        """Send edits left in the journal by an earlier session (the library was busy, or
        the app stopped); returns how many."""
        journal = self._writer.journal
        if journal is None:
            return 0
        entries = journal.pending()
        for entry_id, data in entries:
            try:
                op = WriteOp.from_json(data)
            except (KeyError, TypeError, ValueError):
                log.warning("skipping an unreadable journal entry %s", entry_id)
                continue
            if op.kind == "save_caption":
                self._send_save(op, entry_id)
            else:
                self._writer.submit(op, self._on_replayed, journal_id=entry_id)
        if entries:
            self.info.emit(f"Saving {len(entries):,} edit(s) kept from the last session…")
        return len(entries)

    # -- internals ---------------------------------------------------------------------------

    def _send_save(self, op: WriteOp, journal_id: str | None = None) -> None:
        file_id = int(op.args["file_id"])
        self._saves += 1
        save = self._latest[file_id] = self._saves
        state: SaveState = "waiting" if self._writer.waiting else "saving"
        edit = PendingEdit(file_id, str(op.args["text"]), tuple(op.args["keywords"]), state)
        self._pending[file_id] = edit
        self.saveStateChanged.emit(file_id, state)
        self._writer.submit(op, lambda r: self._on_saved(file_id, save, r), journal_id)

    def _batch(
        self, kind: str, file_ids: Sequence[int], args: dict[str, object], label: str
    ) -> None:
        ids = [int(i) for i in file_ids]

        def done(result: TaskResult[object]) -> None:
            changes = self._changes(result, f"{label} did not apply")
            if result.error is not None:
                return
            self._push(f"{label} ({len(changes):,} files)", changes)
            message = f"{label}: {len(changes):,} of {len(ids):,} file(s) changed."
            if kind == "add_keywords" and len(changes) < len(ids):
                message += " Files without a description (or with those keywords) are unchanged."
            self.info.emit(message)

        self._writer.submit(WriteOp(kind, {"file_ids": ids, **args}), done)

    def _on_saved(self, file_id: int, save: int, result: TaskResult[object]) -> None:
        changes = self._changes(result, "Your edit was not saved")
        if self._latest.get(file_id) == save:
            self._latest.pop(file_id, None)
            self._pending.pop(file_id, None)
        if result.error is not None:
            self.saveStateChanged.emit(file_id, "")
            return
        self.saveStateChanged.emit(file_id, "saved")
        real = [c for c in changes if c.before != c.after]
        if real:
            row = self._library.get_file(file_id)
            name = row.name if row is not None else f"file {file_id}"
            self._push(f"Edit of {name}", real)
            self.info.emit("Saved. Edit -> Undo puts the previous caption back.")

    def _on_replayed(self, result: TaskResult[object]) -> None:
        self._changes(result, "An edit from the last session was not saved")

    def _changes(self, result: TaskResult[object], failure: str) -> list[CaptionChange]:
        if result.error is not None:
            kept = not isinstance(result.error, (KeyError, ValueError))
            tail = " It is kept and will be tried again at the next start." if kept else ""
            self.problem.emit(f"{failure}: {describe_error(result.error)}.{tail}")
            return []
        value = result.value if isinstance(result.value, list) else []
        changes = [c for c in value if isinstance(c, CaptionChange)]
        if changes:
            self.captionsChanged.emit([c.file_id for c in changes])
        return changes

    def _push(self, label: str, changes: Sequence[CaptionChange]) -> None:
        before: Targets = {c.file_id: c.before for c in changes}
        if before:
            self.undo_stack.push(_Restore(self, label, before))

    def _current_ids(self, file_ids: list[int]) -> Targets:
        return dict(self._library.current_caption_ids(file_ids))

    def _write_restore(self, targets: Targets, label: str) -> None:
        def done(result: TaskResult[object]) -> None:
            self._changes(result, f"{label} could not be undone")

        op = WriteOp("restore", {"targets": {str(k): v for k, v in targets.items()}})
        self._writer.submit(op, done)

    @Slot(bool, str)
    def _on_waiting(self, waiting: bool, message: str) -> None:
        state: SaveState = "waiting" if waiting else "saving"
        for file_id, edit in list(self._pending.items()):
            self._pending[file_id] = PendingEdit(edit.file_id, edit.text, edit.keywords, state)
            self.saveStateChanged.emit(file_id, state)
        self.waitingChanged.emit(waiting, message)
