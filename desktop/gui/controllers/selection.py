"""The file on show: its details, its waveform (read on the pool), and auto-play.

When the current file changes, the details are read on the GUI thread's connection (a few
indexed rows) and the waveform overview on the pool; a late overview for a file no longer on
show is dropped. A file's details are shown again when its caption changes (captioned by the
worker, or an edit was stored), with any edit still on its way to the library.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from desktop.gui.formatting import describe_error
from desktop.gui.records import FileDetails, PendingEdit
from desktop.gui.tasks import TaskContext, TaskResult, TaskRunner
from desktop.gui.waveforms import WaveformCache
from desktop.library import FileRow, Library

from .playback import PlaybackController

log = logging.getLogger(__name__)

__all__ = ["SelectionController"]


class SelectionController(QObject):
    """Tracks the current file.

    Signals:
        detailsChanged(FileDetails | None): what the detail panel shows.
        waveformChanged(overview | None, message): the overview on show, or why not.
    """

    detailsChanged = Signal(object)
    waveformChanged = Signal(object, str)

    def __init__(
        self,
        library: Library,
        runner: TaskRunner,
        waveforms: WaveformCache,
        playback: PlaybackController,
        pending: Callable[[int], PendingEdit | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._runner = runner
        self._waveforms = waveforms
        self._playback = playback
        self._pending = pending
        self._current: FileRow | None = None
        self.autoplay = False

    @property
    def current(self) -> FileRow | None:
        """The file on show."""
        return self._current

    @Slot(object)
    def set_current(self, row: FileRow | None) -> None:
        """Show ``row`` (``None``: nothing); stops playback, or plays it with auto-play."""
        self._playback.stop()
        self._current = row
        self.detailsChanged.emit(self._details(row))
        if row is None:
            return
        self._load_waveform(row)
        if self.autoplay and row.status == "ok":
            self._playback.play(row.path)

    @Slot(object)
    def refresh(self, file_ids: Sequence[int]) -> None:
        """Show the current file again if its caption changed."""
        if self._current is not None and self._current.id in set(file_ids):
            self.refresh_current()

    @Slot(int)
    def refresh_one(self, file_id: int) -> None:
        """:meth:`refresh` for one file (the worker's ``captioned``)."""
        self.refresh([file_id])

    @Slot()
    def refresh_current(self) -> None:
        """Re-read the current file (it may have been removed meanwhile)."""
        if self._current is None:
            return
        fresh = self._library.get_file(self._current.id)
        self._current = fresh
        self.detailsChanged.emit(self._details(fresh))

    @Slot()
    def toggle_playback(self) -> None:
        """Play or stop the file on show (Space)."""
        row = self._current
        self._playback.toggle(row.path if row is not None else None)

    @Slot(bool)
    def set_autoplay(self, on: bool) -> None:
        """Play each file as soon as it is selected."""
        self.autoplay = on

    # -- internals ---------------------------------------------------------------------------

    def _details(self, row: FileRow | None) -> FileDetails | None:
        if row is None:
            return None
        history = self._library.caption_history(row.id)
        record = next((r for r in history if r.current), None)
        return FileDetails(row, record, len(history), self._pending(row.id))

    def _load_waveform(self, row: FileRow) -> None:
        if row.status == "missing":
            self.waveformChanged.emit(None, "Missing from disk")
            return
        cached = self._waveforms.peek(row.path)
        if cached is not None:
            self.waveformChanged.emit(cached, "")
            return
        self.waveformChanged.emit(None, "Loading waveform…")
        path, file_id = row.path, row.id
        cache = self._waveforms

        def work(_ctx: TaskContext[None]) -> np.ndarray:
            return cache.get(path)

        def shown(result: TaskResult[np.ndarray]) -> None:
            if self._current is None or self._current.id != file_id:
                return  # the person moved on
            if result.error is not None:
                self.waveformChanged.emit(
                    None, f"Cannot read audio: {describe_error(result.error)}"
                )
            else:
                self.waveformChanged.emit(result.value, "")

        self._runner.run(work, shown)
