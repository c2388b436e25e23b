"""The main window: sidebar, search, file table, detail and queue, wired to the worker.

Threads: this window and its models use a GUI-thread :class:`Library`; the caption worker has
its own connection on its own thread; scans, drops, exports, waveforms and "find similar" run
on ``self.runner``'s pool and open their own connections. Nothing here waits for a worker.
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
from desktop.gui.worker import CaptionerFactory, CaptionWorker, WorkerThread, load_captioner
from desktop.library import FileQuery, FileRow, Library, ScanProgress, ScanReport
from desktop.library.paths import data_dir

log = logging.getLogger(__name__)

__all__ = ["MainWindow"]


class _ScanRelay(QObject):
    """Carries scan progress from the pool to the status bar (queued)."""

    advanced = Signal(int, str)


class MainWindow(QMainWindow):
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

    # -- construction --------------------------------------------------------------------------

    def _start_worker(self, factory: CaptionerFactory) -> None:
        self.worker_thread = WorkerThread(self)
        self.worker = CaptionWorker(self.db_path, self.settings, factory)
        self.worker.moveToThread(self.worker_thread)
        self.workRequested.connect(self.worker.run_queue)
        self.shutdownRequested.connect(self.worker.shutdown)
        self.settingsChanged.connect(self.worker.apply_settings)
        w = self.worker
        # Bound methods only: a lambda connected to a worker signal would run on the worker's
        # thread (PySide gives it no receiver), and widgets must only be touched here.
        w.loadingStarted.connect(self._on_loading_started)
        w.modelLoaded.connect(self._on_model_loaded)
        w.modelsMissing.connect(self._on_models_missing)
        w.loadFailed.connect(self._on_load_failed)
        w.jobStarted.connect(self._on_job_started)
        w.captioned.connect(self._on_captioned)
        w.failed.connect(self._on_job_failed)
        w.progress.connect(self.queue_panel.set_progress)
        w.idle.connect(self._on_idle)
        w.textEmbedded.connect(self._on_text_embedded)
        w.textEmbeddingFailed.connect(self._on_text_embedding_failed)
        self.worker_thread.start()

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

    def recaption(self, file_ids: list[int]) -> None:
        """Queue files to be captioned again, replacing even captions the user wrote."""
        added = self.library.enqueue(file_ids, force=True)
        self.statusBar().showMessage(f"{added} file(s) queued for a new caption.", 4000)
        self.start_captioning()

    def caption_uncaptioned(self) -> None:
        """Queue every readable file without a caption."""
        added = self.library.enqueue("uncaptioned")
        self.statusBar().showMessage(f"{added:,} file(s) queued.", 4000)
        self.start_captioning()

    def start_captioning(self) -> None:
        """Wake the worker (user-initiated: missing models open the download dialog)."""
        self._user_wants_captions = True
        self._snapshot_timer.start()
        if not self.worker.is_paused():
            self.workRequested.emit()

    def set_paused(self, paused: bool) -> None:
        """Pause or resume the queue (the current file finishes either way)."""
        self.worker.set_paused(paused)
        self.queue_panel.set_paused(paused)
        if paused:
            self.queue_panel.set_state("Pausing after this file…")
        else:
            self.queue_panel.set_state("Resuming…")
            self.workRequested.emit()

    def toggle_playback(self) -> None:
        """Play or stop the file in the detail panel (the space bar)."""
        row = self.detail.file
        self.playback.toggle(row.path if row is not None else None)

    def _cancel_queued(self) -> None:
        self.library.cancel_queued()
        self._snapshot_timer.start()

    def _retry_failed(self) -> None:
        self.library.retry_failed()
        self.start_captioning()

    def _clear_finished(self) -> None:
        self.library.clear_finished()
        self._snapshot_timer.start()

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

    # -- worker events -------------------------------------------------------------------------

    def _on_loading_started(self) -> None:
        self.queue_panel.set_state("Loading models…", busy=True)

    def _on_job_failed(self, _file_id: int, _message: str) -> None:
        self._snapshot_timer.start()

    def _on_text_embedding_failed(self, _text: str, message: str) -> None:
        self.statusBar().clearMessage()
        self.show_message(message)

    def _on_model_loaded(self, embedding_model: str) -> None:
        self._models_missing = self._load_failed = False
        self._embedding_model = embedding_model
        self.queue_panel.set_state("Models ready")

    def _on_models_missing(self, message: str) -> None:
        self._models_missing = True
        self.queue_panel.set_state("Models not downloaded", missing_models=True)
        if self._user_wants_captions and not self._closing:
            self._user_wants_captions = False
            self.open_models_dialog(message)

    def _on_load_failed(self, message: str) -> None:
        self._load_failed = True
        self.queue_panel.set_state("Models failed to load")
        self.show_message(message)

    def _on_job_started(self, file_id: int) -> None:
        if self._closing:
            return  # late events from the stopped worker
        row = self.library.get_file(file_id)
        self.queue_panel.set_state(f"Captioning {row.name if row else file_id}…")
        self._snapshot_timer.start()

    def _on_captioned(self, file_id: int) -> None:
        if self._closing:
            return  # late events from the stopped worker
        self.file_model.refresh_file(file_id)
        shown = self.detail.file
        if shown is not None and shown.id == file_id and not self.detail.is_dirty():
            self.show_file(self.library.get_file(file_id))
        self._snapshot_timer.start()

    def _on_idle(self) -> None:
        if self._closing:
            return  # late events from the stopped worker
        if self.worker.is_paused():
            self.queue_panel.set_state("Paused")
        elif self._models_missing:
            self.queue_panel.set_state("Models not downloaded", missing_models=True)
        elif self._load_failed:
            self.queue_panel.set_state("Models failed to load")
        else:
            self.queue_panel.set_state("Idle" if self._embedding_model is None else "Models ready")
        self._snapshot_timer.start()
        self._update_status()

    def open_models_dialog(self, reason: str = "") -> None:
        """Let the user download the models or choose their folders."""
        if self.models_dialog is not None:
            self.models_dialog.raise_()
            return
        dialog = ModelsDialog(self.settings, self.runner, self, reason=reason)
        self.models_dialog = dialog

        def finished(_result: int) -> None:
            self.models_dialog = None
            chosen = dialog.settings()
            if (chosen.clap, chosen.llm) != (self.settings.clap, self.settings.llm):
                self.apply_settings(chosen)
            if dialog.ready:
                self.start_captioning()
            dialog.deleteLater()

        dialog.finished.connect(finished)
        dialog.open()  # window-modal, without a nested event loop

    def apply_settings(self, settings: AppSettings) -> None:
        """Save new settings and hand a copy to the worker."""
        self.settings = settings
        try:
            settings.save()
        except OSError as exc:
            self.show_message(f"Settings not saved: {exc}")
        self.settingsChanged.emit(settings.copy())
        self._models_missing = self._load_failed = False
        self._embedding_model = None
        self._embeddings.clear()  # vectors from other models must not answer searches
        self.queue_panel.set_state("Idle")

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
