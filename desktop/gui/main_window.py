"""The main window: sidebar, search, file table, detail and queue, wired to the worker.

Threads: this window and its models use a GUI-thread :class:`Library`; the caption worker has
its own connection on its own thread; scans, drops, exports, waveforms and "find similar" run
on ``self.runner``'s pool and open their own connections. Nothing here waits for a worker,
except closing, which lets the file being captioned finish so no result is half written.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QItemSelection, QModelIndex, QObject, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QPushButton,
    QTableView,
    QTreeView,
)

from desktop.gui import background
from desktop.gui.captioning import CaptioningMixin
from desktop.gui.detail import DetailPanel
from desktop.gui.file_model import FileTableModel
from desktop.gui.models_dialog import ModelsDialog
from desktop.gui.playback import PlaybackController
from desktop.gui.queue_panel import QueuePanel
from desktop.gui.search_bar import SearchBar
from desktop.gui.settings import AppSettings
from desktop.gui.side_models import FOLDER_ROLE, ROOT_ROLE, FolderTreeModel, QueueModel
from desktop.gui.table_menu import TableMenu
from desktop.gui.tasks import TaskRunner
from desktop.gui.waveform import WaveformCache
from desktop.gui.window_layout import build_menus, build_widgets
from desktop.gui.worker import CaptionerFactory, load_captioner
from desktop.library import FileQuery, FileRow, Library, ScanProgress, ScanReport
from desktop.library.paths import data_dir

log = logging.getLogger(__name__)

__all__ = ["MainWindow"]


class _ScanRelay(QObject):
    """Carries scan progress from the pool to the status bar (queued)."""

    advanced = Signal(int, str)


class MainWindow(CaptioningMixin, QMainWindow):
    """Earmark's main window over one library database.

    Args:
        db_path: The library database (created if absent).
        settings: App settings (default: read from the data folder).
        captioner_factory: Builds the captioner on the worker thread (tests pass a fake).
        autostart: Resume a queue left from last time as soon as the window opens.
        pool: Thread pool for short I/O tasks (default: a private one).
    """

    # Built by desktop.gui.window_layout.build_widgets.
    sidebar: QTreeView
    search: SearchBar
    banner: QLabel
    banner_button: QPushButton
    table: QTableView
    menu: TableMenu
    detail: DetailPanel
    queue_panel: QueuePanel

    workRequested = Signal()
    shutdownRequested = Signal()
    settingsChanged = Signal(object)

    def __init__(
        self,
        db_path: Path,
        settings: AppSettings | None = None,
        captioner_factory: CaptionerFactory = load_captioner,
        autostart: bool = True,
        pool: QThreadPool | None = None,
    ) -> None:
        super().__init__()
        self.db_path = Path(db_path)
        self.settings = settings if settings is not None else AppSettings.load()
        self.library = Library.open(self.db_path)
        if pool is None:
            # Private pool: waveform reads and scans are disk-bound, two at a time is plenty and
            # keeps them from starving each other or Qt's global pool users.
            pool = QThreadPool(self)
            pool.setMaxThreadCount(2)
        self.runner = TaskRunner(pool, self)
        self.waveforms = WaveformCache(data_dir() / "waveforms")
        self.playback = PlaybackController(self)
        self._embeddings: dict[str, np.ndarray] = {}
        self._embedding_model: str | None = None
        self._user_wants_captions = False
        self._scan_cancel = threading.Event()
        self._scan_relay = _ScanRelay(self)
        self._scan_relay.advanced.connect(self._on_scan_progress)
        self._closing = False
        self.last_message = ""  # the last problem shown to the user (tests read it)
        self.models_dialog: ModelsDialog | None = None
        self._models_missing = False  # the last load found no models (until settings change)
        self._load_failed = False
        self.setWindowTitle("Earmark")
        self.setAcceptDrops(True)

        self.file_model = FileTableModel(self.library, self, background_db=self.db_path)
        self.folder_model = FolderTreeModel(self)
        self.queue_model = QueueModel(self)
        build_widgets(self)
        build_menus(self)
        # After the view has re-sorted the model: later searches and filters keep that order.
        self.table.horizontalHeader().sortIndicatorChanged.connect(
            lambda *_: self.search.set_sort(self.file_model.query)
        )
        self._start_worker(captioner_factory)
        self._snapshot_timer = QTimer(self)
        self._snapshot_timer.setSingleShot(True)
        self._snapshot_timer.setInterval(300)  # coalesce bursts of per-file events
        self._snapshot_timer.timeout.connect(self.refresh_side_panels)
        self.refresh_side_panels()
        self._update_status()
        if autostart:
            self.workRequested.emit()

    # -- queries and selection -----------------------------------------------------------------

    def apply_query(self, query: FileQuery) -> None:
        """Show the files matching ``query`` (semantic text is embedded by the worker first)."""
        self._set_banner("")
        if query.text and query.mode in ("semantic", "hybrid"):
            if query.text not in self._embeddings:
                self.statusBar().showMessage("Understanding your description…")
                self._user_wants_captions = True  # a semantic search may need the models
                self.worker.request_text_embedding(query.text)
                return
            self.library.set_text_embedder(self._embed_from_cache, self._embedding_model)
        self.file_model.set_query(query)
        header = self.table.horizontalHeader()
        # Search results come in relevance order: no column is the sort key then.
        header.setSortIndicatorShown(query.sort != "rank" or not query.text)
        if self.file_model.last_error:
            self.show_message(self.file_model.last_error)
        self._update_status()

    def _embed_from_cache(self, texts: object) -> np.ndarray:
        return np.stack([self._embeddings[t] for t in texts])  # type: ignore[attr-defined]

    def _on_text_embedded(self, text: str, vector: object) -> None:
        self._embeddings[text] = np.asarray(vector, dtype=np.float32)
        if self.search.query().text == text:
            self.apply_query(self.search.query())

    def _on_folder_chosen(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.search.set_scope(current.data(ROOT_ROLE), current.data(FOLDER_ROLE))

    def selected_rows(self) -> list[FileRow]:
        """Files selected in the table, in table order."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        found = (self.file_model.row_at(r) for r in rows)
        return [r for r in found if r is not None]

    def current_file(self) -> FileRow | None:
        """The file in the detail panel."""
        return self.detail.file

    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self.playback.stop()
        index = self.table.selectionModel().currentIndex()
        row = self.file_model.row_at(index.row()) if index.isValid() else None
        self.show_file(row)

    def show_file(self, row: FileRow | None) -> None:
        """Put a file in the detail panel and load its waveform off the GUI thread."""
        record = self.library.current_caption(row.id) if row is not None else None
        self.detail.show_file(row, record)
        if row is None:
            return
        cached = self.waveforms.peek(row.path)
        if cached is not None:
            self.detail.waveform.set_overview(cached)
            return
        self.detail.waveform.set_overview(None, "Loading waveform…")
        path, file_id = row.path, row.id

        def shown(overview: object) -> None:
            if self.detail.file is not None and self.detail.file.id == file_id:
                self.detail.waveform.set_overview(overview)  # type: ignore[arg-type]

        def failed(exc: BaseException) -> None:
            if self.detail.file is not None and self.detail.file.id == file_id:
                self.detail.waveform.set_overview(None, f"Cannot read audio: {exc}")

        self.runner.run(lambda: self.waveforms.get(path), shown, failed)

    # -- editing, queueing, playback -----------------------------------------------------------

    def save_user_caption(self, file_id: int, text: str, keywords: list[str]) -> None:
        """Store the user's caption; later batches keep it (unless re-captioned on purpose)."""
        try:
            self.library.set_user_caption(file_id, text, keywords)
        except (KeyError, ValueError) as exc:
            self.show_message(f"Caption not saved: {exc}")
            return
        self.detail.mark_saved()
        self.file_model.refresh_file(file_id)
        row = self.library.get_file(file_id)
        if row is not None and self.detail.file is not None and self.detail.file.id == file_id:
            self.detail.show_file(row, self.library.current_caption(file_id))
        self.statusBar().showMessage("Caption saved.", 4000)

    def toggle_playback(self) -> None:
        """Play or stop the file in the detail panel (the space bar)."""
        row = self.detail.file
        self.playback.toggle(row.path if row is not None else None)

    # -- adding files ----------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and event.source() is None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if event.source() is not None or not paths:
            event.ignore()  # rows dragged from our own table are not new files
            return
        event.acceptProposedAction()
        self.add_paths(paths)

    def add_paths(self, paths: list[str]) -> None:
        """Add files/folders to the library and queue them (scanned on the pool)."""
        self.statusBar().showMessage(f"Adding {len(paths)} item(s)…")

        def added(result: object) -> None:
            assert isinstance(result, background.AddResult)
            self.statusBar().showMessage(
                f"Added {len(result.file_ids):,} sound(s); {result.queued:,} queued.", 5000
            )
            self.file_model.refresh()
            self.start_captioning()

        self.runner.run(
            lambda: background.add_and_queue(self.db_path, paths),
            added,
            lambda exc: self.show_message(f"Could not add: {exc}"),
        )

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a folder of sounds")
        if path:
            self.add_paths([path])

    def rescan(self) -> None:
        """Rescan every root on the pool; progress goes to the status bar."""
        self._scan_cancel.clear()
        relay = self._scan_relay

        def progress(p: ScanProgress) -> None:
            if p.seen % 200 == 0:  # keep the queued signal traffic small on big libraries
                relay.advanced.emit(p.seen, p.current)

        def done(report: object) -> None:
            assert isinstance(report, ScanReport)
            parts = [
                f"{report.seen:,} files",
                f"{report.added:,} new",
                f"{report.updated:,} changed",
            ]
            if report.moved:
                parts.append(f"{report.moved:,} moved")
            if report.missing:
                parts.append(f"{report.missing:,} missing")
            if report.errors:
                parts.append(f"{report.errors:,} unreadable")
            self.statusBar().showMessage("Scan finished: " + ", ".join(parts), 6000)
            self.file_model.refresh()
            self._snapshot_timer.start()

        self.runner.run(
            lambda: background.scan_library(self.db_path, progress, self._scan_cancel.is_set),
            done,
            lambda exc: self.show_message(f"Scan failed: {exc}"),
        )

    def _on_scan_progress(self, seen: int, current: str) -> None:
        self.statusBar().showMessage(f"Scanning… {seen:,} files  {current}")

    # -- refresh and messages ------------------------------------------------------------------

    def refresh_side_panels(self) -> None:
        """Reload the sidebar counts and the queue off the GUI thread."""
        if self._closing:
            return  # late events from the stopped worker
        self.runner.run(lambda: background.load_snapshot(self.db_path), self._on_snapshot)

    def _on_snapshot(self, snap: object) -> None:
        assert isinstance(snap, background.LibrarySnapshot)
        if self._closing:
            return
        current = self.sidebar.currentIndex()
        key = (current.data(ROOT_ROLE), current.data(FOLDER_ROLE)) if current.isValid() else None
        # Rebuilding moves the sidebar's current item; that must not re-run the table query
        # (it would reset the table and drop the user's selection after every caption).
        selection = self.sidebar.selectionModel()
        selection.blockSignals(True)
        try:
            self.folder_model.populate(snap.roots, snap.folders)
            self.sidebar.expandToDepth(0)
            if key is not None:
                self._reselect_folder(key)
        finally:
            selection.blockSignals(False)
        self.queue_model.set_jobs(snap.jobs)
        self.queue_panel.set_counts(snap.counts)
        self._update_status()

    def _reselect_folder(self, key: tuple[object, object]) -> None:
        matches = self.folder_model.match(
            self.folder_model.index(0, 0),
            FOLDER_ROLE,
            key[1],
            -1,
            Qt.MatchFlag.MatchRecursive | Qt.MatchFlag.MatchExactly,
        )
        for index in matches:
            if index.data(ROOT_ROLE) == key[0]:
                self.sidebar.setCurrentIndex(index)
                return

    def _update_status(self) -> None:
        shown = self.file_model.rowCount()
        self.statusBar().showMessage(f"{shown:,} sound(s) shown · library {self.db_path.name}")

    def _set_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        self.banner_button.setVisible(bool(text))

    def show_similar(self, source: FileRow, rows: list[FileRow]) -> None:
        """Show sounds similar to ``source`` in the table."""
        self.file_model.show_rows(rows)
        self._set_banner(f"{len(rows)} sounds similar to {source.name}")
        self._update_status()

    def show_message(self, message: str) -> None:
        """Tell the user something went wrong, without blocking offscreen test runs."""
        log.info("message shown: %s", message)
        self.statusBar().showMessage(message, 8000)
        self.last_message = message

    # -- closing ---------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop cleanly: the current file finishes, the rest of the queue waits for next time."""
        if self._closing:
            event.accept()
            return
        self._closing = True
        self.playback.stop()
        self._scan_cancel.set()
        self.worker.request_stop()
        self.worker.blockSignals(True)  # nothing it says now should reach a closing window
        self.shutdownRequested.emit()
        self.worker_thread.wait()
        self.runner.pool.waitForDone(5000)
        self.file_model.shutdown()
        self.library.close()
        event.accept()
