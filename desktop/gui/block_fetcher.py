"""Reads table blocks far from the rows already loaded on a thread of its own.

Scrolling row by row is served on the GUI thread: the library pages sequential blocks by key
in a few milliseconds. A jump (dragging the scroll bar to the middle of a million rows) makes
the database skip rows, which takes longer, so the table asks this fetcher instead and shows
placeholders until the block arrives. Requests are served newest first and requests made for
an older query are dropped, so a fast drag only pays for where it ends.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from desktop.library import FileQuery, Library

log = logging.getLogger(__name__)

__all__ = ["BlockFetcher"]


class BlockFetcher(QObject):
    """Owns a QThread and a read connection; answers with ``fetched(generation, block, rows)``.

    Signals:
        fetched(generation, block, rows): rows of ``block`` for the query of ``generation``.
    """

    fetched = Signal(int, int, object)
    _wake = Signal()
    _closeRequested = Signal()

    def __init__(self, db_path: Path, block_rows: int) -> None:
        super().__init__()
        self._db_path = db_path
        self._block_rows = block_rows
        self._library: Library | None = None
        self._lock = threading.Lock()
        self._requests: list[tuple[int, FileQuery, int]] = []
        self._generation = 0
        self._thread = QThread()
        self._thread.setObjectName("earmark-table-fetcher")
        self.moveToThread(self._thread)
        self._wake.connect(self._drain)
        self._closeRequested.connect(self._close)
        self._thread.start()

    def set_generation(self, generation: int) -> None:
        """Forget requests for older queries (thread-safe)."""
        with self._lock:
            self._generation = generation
            self._requests = [r for r in self._requests if r[0] == generation]

    def request(self, generation: int, query: FileQuery, block: int) -> None:
        """Ask for one block (thread-safe; answered later by ``fetched``)."""
        with self._lock:
            self._requests.append((generation, query, block))
        self._wake.emit()

    def stop(self) -> None:
        """Finish the current read, close the connection and end the thread (blocks briefly)."""
        with self._lock:
            self._requests.clear()
            self._generation = -1
        # A queued call runs after any read in progress; it closes the connection it owns.
        self._closeRequested.emit()
        self._thread.wait(5000)

    @Slot()
    def _close(self) -> None:
        if self._library is not None:
            self._library.close()
            self._library = None
        app = QCoreApplication.instance()
        if app is not None:
            self.moveToThread(app.thread())
        self._thread.quit()

    def _next(self) -> tuple[int, FileQuery, int] | None:
        with self._lock:
            while self._requests:
                generation, query, block = self._requests.pop()  # newest first
                if generation == self._generation:
                    return generation, query, block
            return None

    @Slot()
    def _drain(self) -> None:
        while (item := self._next()) is not None:
            generation, query, block = item
            try:
                if self._library is None:
                    self._library = Library.open(self._db_path)
                rows = self._library.list_files(query, block * self._block_rows, self._block_rows)
            except Exception as exc:  # the GUI falls back to reading the block itself
                log.info("background block read failed: %s", exc)
                rows = None
            self.fetched.emit(generation, block, rows)
