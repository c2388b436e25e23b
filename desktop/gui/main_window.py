"""The main window: the composition of views and controllers, laid out and wired.

This file holds three things: building the widgets and the layout, one wiring table (which
view's request goes to which controller, which controller's report goes to which view), and
the few window-level events (drops, closing) plus the glue that opens dialogs. Behaviour
lives in :mod:`desktop.gui.controllers`; what is shown in :mod:`desktop.gui.views`.

Threads: the window and its item models read through a GUI-thread :class:`Library`; every
write goes through the :class:`~desktop.gui.writer.LibraryWriter`'s thread; the caption
worker has its own thread and connection; scans, drops, exports, waveforms and "find similar"
run on ``self.runner``'s pool with their own connections. Nothing here waits for a worker,
except closing, which lets the file being captioned finish so no result is half written.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QThreadPool, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent, QShowEvent
from PySide6.QtWidgets import (
    QMainWindow,
    QWidget,
)

from desktop.gui.background import LibrarySnapshot
from desktop.gui.controllers.captioning import CaptioningController
from desktop.gui.controllers.edits import EditsController
from desktop.gui.controllers.library_actions import LibraryActions
from desktop.gui.controllers.playback import PlaybackController
from desktop.gui.controllers.search import SearchController
from desktop.gui.controllers.selection import SelectionController
from desktop.gui.dialogs.confirm import MessageBoxAsker
from desktop.gui.dialogs.export_dialog import ExportScope
from desktop.gui.dialogs.launcher import Dialogs
from desktop.gui.dialogs.settings_dialog import RootChanges
from desktop.gui.journal import EditJournal
from desktop.gui.qt_fixes import install_refcount_guard
from desktop.gui.tasks import TaskRunner
from desktop.gui.ui_state import UiState
from desktop.gui.views.actions import WindowActions
from desktop.gui.views.file_model import FileTableModel
from desktop.gui.views.layout_state import capture_layout, restore_layout
from desktop.gui.views.main_layout import build_layout
from desktop.gui.waveforms import WaveformCache
from desktop.gui.worker import CaptionerFactory, load_captioner
from desktop.gui.writer import LibraryWriter
from desktop.library import FileQuery, FileRow, Library, RemovalImpact
from desktop.library.paths import data_dir
from desktop.settings import AppSettings

log = logging.getLogger(__name__)

__all__ = ["MainWindow"]


class MainWindow(QMainWindow):
    """Earmark's main window over one library database.

    Args:
        db_path: The library database (created if absent).
        settings: App settings (default: read from the data folder).
        captioner_factory: Builds the captioner on the worker thread (tests pass a fake).
        autostart: Resume a queue left from last time as soon as the window opens.
        pool: Thread pool for short I/O tasks (default: a private one).
        ui_state: The remembered layout (default: read from the data folder).
        remember_layout: Save the layout at close (not for screenshots).
    """

    def __init__(
        self,
        db_path: Path,
        settings: AppSettings | None = None,
        captioner_factory: CaptionerFactory = load_captioner,
        autostart: bool = True,
        pool: QThreadPool | None = None,
        ui_state: UiState | None = None,
        remember_layout: bool = True,
    ) -> None:
        super().__init__()
        install_refcount_guard()  # PySide6 6.12.0 loses a reference to True on every emit
        self._remember_layout = remember_layout
        self.db_path = Path(db_path)
        self.settings = settings if settings is not None else AppSettings.load()
        self.ui_state = ui_state if ui_state is not None else UiState.load()
        self.library = Library.open(self.db_path)
        if pool is None:
            # Private pool: waveform reads and scans are disk-bound, two at a time is plenty and
            # keeps them from starving each other or Qt's global pool users.
            pool = QThreadPool(self)
            pool.setMaxThreadCount(2)
        self.runner = TaskRunner(pool, self)
        self.asker = MessageBoxAsker(self)
        self.dialogs = Dialogs(self, self.runner)
        self.writer = LibraryWriter(self.db_path, EditJournal(self.db_path), self)
        self.last_message = ""  # the last problem shown (tests and the screenshot script)
        self._closing = False
        self._first_show = True
        self._header_restored = False
        self.setWindowTitle("Earmark")
        self.setAcceptDrops(True)

        # Controllers: state and behaviour.
        self.playback = PlaybackController(self)
        self.edits = EditsController(self.library, self.writer, self)
        self.captioning = CaptioningController(
            self.library, self.writer, self.settings, captioner_factory, self.asker, self
        )
        self.searching = SearchController(self.library, self.runner, self)
        self.library_actions = LibraryActions(
            self.library, self.runner, self.writer, self.asker, self
        )
        self.selection = SelectionController(
            self.library,
            self.runner,
            WaveformCache(data_dir() / "waveforms"),
            self.playback,
            self.edits.pending_edit,
            self,
        )
        # Views: what is shown.
        self.file_model = FileTableModel(self.library, self, background_db=self.db_path)
        self.window_actions = WindowActions(self)
        self._build_layout()
        self.window_actions.build_menus(self.menuBar())
        self._wire()
        self._restore_ui()
        self._update_actions()
        self._update_counts()
        self.show_empty_state(self.library.count_files(_EVERY_FILE) == 0)
        self.library_actions.refresh_snapshot()
        self.edits.replay_journal()
        self.library_actions.refresh_name_keys()
        if autostart:
            self.captioning.resume_queue()

    # -- layout ------------------------------------------------------------------------------

    def _build_layout(self) -> None:
        parts = build_layout(self.file_model)
        self.parts = parts
        # The views by name (the wiring table and tests read them so).
        self.sidebar, self.search, self.table = parts.sidebar, parts.search, parts.table
        self.detail, self.queue_panel = parts.detail, parts.queue_panel
        self.empty_state, self.message_bar = parts.empty_state, parts.message_bar
        self.banner, self.banner_button = parts.banner, parts.banner_button
        self.banner_row, self.centre_stack = parts.banner_row, parts.centre_stack
        self.main_splitter, self.right_splitter = parts.main_splitter, parts.right_splitter
        self.waiting_label, self.count_label = parts.waiting_label, parts.count_label
        self.setCentralWidget(parts.main_splitter)
        self.statusBar().addPermanentWidget(parts.waiting_label, 1)
        self.statusBar().addPermanentWidget(parts.count_label)

    # -- the wiring table --------------------------------------------------------------------

    def _wire(self) -> None:
        a, cap, edits = self.window_actions, self.captioning, self.edits
        search, lib, sel = self.searching, self.library_actions, self.selection
        undo = edits.undo_stack
        wiring: tuple[tuple[Any, Any], ...] = (
            # Search and what the table shows.
            (self.search.queryChanged, search.set_query),
            (self.search.resultsRequested, self.table.focus_results),
            (self.search.escapePressed, self.playback.stop),
            (self.sidebar.scopeChanged, self.search.set_scope),
            (search.queryReady, self.file_model.set_query),
            (search.queryReady, self.table.show_sort_for),
            (search.rowsReady, self.file_model.show_rows),
            (search.bannerChanged, self._set_banner),
            (search.embeddingNeeded, cap.request_text_embedding),
            (self.banner_button.clicked, search.back_to_search),
            (cap.textEmbedded, search.on_text_embedded),
            (cap.textEmbeddingFailed, search.on_text_embedding_failed),
            (cap.modelChanged, search.set_embedding_model),
            (self.file_model.queryFailed, self.show_problem),
            (self.file_model.modelReset, self._update_counts),
            (self.table.horizontalHeader().sortIndicatorChanged, self._remember_sort),
            # The table's requests.
            (self.table.currentFileChanged, sel.set_current),
            (self.table.selectionCountChanged, self._update_actions),
            (self.table.editRequested, self.detail.begin_edit),
            (self.table.playRequested, sel.toggle_playback),
            (self.table.stopRequested, self.playback.stop),
            (self.table.removeRequested, lib.remove_files),
            (self.table.findSimilarRequested, search.find_similar),
            (self.table.revealRequested, lib.reveal),
            (self.table.copyRequested, lib.copy_descriptions),
            (self.table.historyRequested, self.open_history),
            (self.table.captionAgainRequested, cap.caption_again),
            (self.table.editSelectedRequested, self.open_batch_edit),
            (self.table.exportSelectionRequested, self.open_export_selection),
            # The file on show.
            (sel.detailsChanged, self.detail.show_details),
            (sel.detailsChanged, self._update_actions),
            (sel.waveformChanged, self.detail.waveform.set_overview),
            (self.detail.editCommitted, edits.save_caption),
            (self.detail.editingFinished, self.table.setFocus),
            (self.detail.draftKept, self.show_info),
            (self.detail.captionAgainRequested, cap.caption_again),
            (self.detail.historyRequested, self.open_history),
            (self.detail.playRequested, sel.toggle_playback),
            (self.playback.playingChanged, self.detail.set_playing),
            (self.playback.positionChanged, self.detail.waveform.set_playhead),
            (self.playback.failed, self.show_problem),
            # Edits and undo.
            (edits.captionsChanged, self.file_model.refresh_files),
            (edits.captionsChanged, sel.refresh),
            (edits.saveStateChanged, self.detail.set_save_state),
            (edits.waitingChanged, self._show_waiting),
            (a.undo.triggered, undo.undo),
            (a.redo.triggered, undo.redo),
            (undo.canUndoChanged, a.undo.setEnabled),
            (undo.canRedoChanged, a.redo.setEnabled),
            (undo.undoTextChanged, self._set_undo_text),
            (undo.redoTextChanged, self._set_redo_text),
            # Captioning and the queue.
            (cap.statusChanged, self.queue_panel.set_status),
            (cap.progressChanged, self.queue_panel.set_progress),
            (cap.pausedChanged, self.queue_panel.set_paused),
            (cap.pausedChanged, a.pause.setChecked),
            (cap.fileCaptioned, self.file_model.refresh_file),
            (cap.fileCaptioned, sel.refresh_one),
            (cap.queueChanged, lib.request_snapshot),
            (cap.modelsNeeded, self.open_models),
            (cap.userCaptionsReplacing, edits.record_replacement),
            (self.queue_panel.pauseToggled, cap.set_paused),
            (self.queue_panel.cancelRequested, cap.cancel_queued),
            (self.queue_panel.retryRequested, cap.retry_failed),
            (self.queue_panel.clearRequested, cap.clear_finished),
            (self.queue_panel.modelsRequested, self._open_models_menu),
            (self.queue_panel.detailsRequested, self.dialogs.show_details),
            # The library as a whole.
            (lib.filesAdded, cap.start),
            (lib.libraryChanged, self.file_model.refresh),
            (lib.snapshotReady, self._apply_snapshot),
            (lib.scanningChanged, self._on_scanning),
            (self.empty_state.addFolderRequested, self.choose_folder),
            (self.empty_state.addFilesRequested, self.choose_files),
            (self.message_bar.detailsRequested, self.dialogs.show_details),
            # Menus.
            (a.add_folder.triggered, self.choose_folder),
            (a.add_files.triggered, self.choose_files),
            (a.rescan.triggered, lib.rescan),
            (a.export.triggered, self.open_export),
            (a.settings.triggered, self.open_settings),
            (a.quit.triggered, self.close),
            (a.find.triggered, self.search.focus_search),
            (a.select_all.triggered, self.table.selectAll),
            (a.edit_description.triggered, self.detail.begin_edit),
            (a.edit_selected.triggered, self.table.request_edit_selected),
            (a.history.triggered, self.table.request_history),
            (a.remove.triggered, self.table.request_remove),
            (a.play.triggered, sel.toggle_playback),
            (a.autoplay.toggled, sel.set_autoplay),
            (a.caption_uncaptioned.triggered, cap.caption_uncaptioned),
            (a.caption_again.triggered, self.table.request_caption_again),
            (a.pause.toggled, cap.set_paused),
            (a.models.triggered, self._open_models_menu),
            (a.shortcuts.triggered, self.open_shortcuts),
            (a.about.triggered, self.dialogs.open_about),
            # What was chosen in dialogs.
            (self.dialogs.pathsChosen, lib.add_paths),
            (self.dialogs.modelsChosen, self._models_chosen),
            (self.dialogs.settingsChosen, self._settings_chosen),
            (self.dialogs.exportChosen, self.export),
            (self.dialogs.restoreChosen, edits.restore),
            (self.dialogs.batchEditChosen, edits.apply_batch),
        )
        for signal, slot in wiring:
            signal.connect(slot)
        for controller in (cap, edits, search, lib):
            controller.info.connect(self.show_info)
            controller.problem.connect(self.show_problem)
        a.undo.setEnabled(False)
        a.redo.setEnabled(False)

    # -- glue: what a slot needs from several views ------------------------------------------

    def selected_rows(self) -> list[FileRow]:
        """Files selected in the table, in table order (the current file if none is)."""
        return self.table.acted_on()

    def current_file(self) -> FileRow | None:
        """The file in the detail panel."""
        return self.detail.file

    @Slot()
    def _update_actions(self, *_args: object) -> None:
        has_selection = bool(self.table.selectionModel().selectedRows())
        has_file = self.detail.file is not None
        for action in (
            self.window_actions.edit_selected,
            self.window_actions.remove,
            self.window_actions.caption_again,
        ):
            action.setEnabled(has_selection)
        for action in (
            self.window_actions.edit_description,
            self.window_actions.history,
            self.window_actions.play,
        ):
            action.setEnabled(has_file)

    @Slot()
    def _update_counts(self) -> None:
        shown = self.file_model.rowCount()
        self.count_label.setText(f"{shown:,} sound(s) shown")
        if shown:
            self.show_empty_state(False)  # files just arrived: the table, at once

    @Slot(int, Qt.SortOrder)
    def _remember_sort(self, *_args: object) -> None:
        # After the view has re-sorted the model: later searches and filters keep that order.
        self.search.set_sort(self.file_model.query)

    @Slot(str)
    def _set_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner_row.setVisible(bool(text))
        self._update_counts()

    @Slot(str)
    def show_info(self, message: str) -> None:
        """Passing news, in the status bar."""
        self.statusBar().showMessage(message, 6000)

    @Slot(str)
    def show_problem(self, message: str) -> None:
        """Something went wrong: it stays over the table until dismissed."""
        log.info("problem shown: %s", message)
        self.last_message = message
        self.message_bar.show_problem(message)

    @Slot(bool, str)
    def _show_waiting(self, waiting: bool, message: str) -> None:
        self.waiting_label.setText("⏳ " + message if waiting else "")
        self.waiting_label.setVisible(waiting)

    @Slot(str)
    def _set_undo_text(self, text: str) -> None:
        self.window_actions.undo.setText(f"Undo {text}" if text else "Undo")

    @Slot(str)
    def _set_redo_text(self, text: str) -> None:
        self.window_actions.redo.setText(f"Redo {text}" if text else "Redo")

    @Slot(bool)
    def _on_scanning(self, scanning: bool) -> None:
        self.window_actions.rescan.setEnabled(not scanning)

    def show_empty_state(self, empty: bool) -> None:
        """The call to action instead of the table while the library holds no sound."""
        self.centre_stack.setCurrentWidget(self.empty_state if empty else self.table)
        self.window_actions.export.setEnabled(not empty)

    @Slot(object)
    def _apply_snapshot(self, snap: LibrarySnapshot) -> None:
        if self._closing:
            return
        self.sidebar.populate(snap.roots, snap.folders)
        self.queue_panel.set_jobs(snap.jobs)
        self.queue_panel.set_counts(snap.counts)
        self.show_empty_state(not snap.roots and snap.total_files == 0)
        self.window_actions.rescan.setEnabled(bool(snap.roots))

    # -- dialogs -------------------------------------------------------------------------------

    def dialog(self, key: str) -> QWidget | None:
        """An open dialog by name (``settings``, ``models``, ``export``, ``history``…)."""
        return self.dialogs.dialog(key)

    @Slot()
    def choose_folder(self) -> None:
        """File -> Add folder…"""
        self.dialogs.choose_folder()

    @Slot()
    def choose_files(self) -> None:
        """File -> Add files…"""
        self.dialogs.choose_files()

    @Slot()
    def _open_models_menu(self) -> None:
        self.open_models("")

    @Slot(str)
    def open_models(self, reason: str = "") -> None:
        """Let the person download the models or choose their folders."""
        self.dialogs.open_models(self.settings, reason)

    @Slot(object, bool)
    def _models_chosen(self, chosen: AppSettings, ready: bool) -> None:
        if (chosen.clap, chosen.llm, chosen.dtype) != (
            self.settings.clap,
            self.settings.llm,
            self.settings.dtype,
        ):
            self.apply_settings(chosen)
        if ready:
            self.captioning.start()

    @Slot()
    def open_settings(self) -> None:
        """Edit settings and library folders (what removing a folder forgets is read first)."""
        self.library_actions.load_root_impacts(self._open_settings_with)

    def _open_settings_with(self, impacts: dict[int, RemovalImpact]) -> None:
        if not self._closing:
            self.dialogs.open_settings(self.settings, self.library.roots(), impacts)

    @Slot(object, object)
    def _settings_chosen(self, settings: AppSettings, changes: RootChanges) -> None:
        self.apply_settings(settings)
        self.library_actions.remove_roots(changes.removed)
        if changes.added:
            self.library_actions.add_paths(changes.added)

    def apply_settings(self, settings: AppSettings) -> None:
        """Save new settings and hand a copy to the worker."""
        self.settings = settings
        try:
            settings.save()
        except OSError as exc:
            self.show_problem(f"Settings not saved: {exc.strerror or exc}")
        self.captioning.apply_settings(settings)

    @Slot()
    def open_export(self, scope: ExportScope = "search") -> None:
        """Ask what to export and where, then write the CSV on the pool."""
        counts = {
            "library": self.library.count_files(None),
            "search": self.file_model.rowCount(),
            "selection": len(self.selected_rows()),
        }
        self.dialogs.open_export(counts, scope)

    @Slot()
    def open_export_selection(self) -> None:
        """Export the selected files."""
        self.open_export("selection")

    @Slot(str, object, bool)
    def export(self, scope: ExportScope, path: Path, bom: bool = False) -> None:
        """Write the CSV for ``scope``: text searches by query (any size), semantic results
        and fixed lists by their exact ids."""
        model = self.file_model
        query: FileQuery | None = None
        ids: list[int] | None = None
        if scope == "selection":
            ids = [r.id for r in self.selected_rows()]
        elif scope == "search":
            if model.is_fixed_list() or model.query.mode in ("semantic", "hybrid"):
                ids = model.file_ids()
            else:
                query = model.query
        self.library_actions.export(path, query, ids, bom)

    @Slot(object)
    def open_history(self, row: FileRow) -> None:
        """Every caption ``row`` has had, with Restore."""
        self.dialogs.open_history(row, self.library.caption_history(row.id))

    @Slot(object)
    def open_batch_edit(self, rows: Sequence[FileRow]) -> None:
        """Add/remove keywords or set one description across the selected files."""
        self.dialogs.open_batch_edit([r.id for r in rows])

    @Slot()
    def open_shortcuts(self) -> None:
        """Help -> Keyboard shortcuts."""
        self.dialogs.open_shortcuts(self.window_actions.shortcut_list())

    # -- window events -----------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self._accept_drag(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self._accept_drag(event)

    def _accept_drag(self, event: QDragEnterEvent | QDragMoveEvent) -> None:
        action = _copy_or_link(event.possibleActions())
        if event.source() is None and event.mimeData().hasUrls() and action is not None:
            # Never the proposed action as is: a file manager proposes Move, and accepting a
            # move may delete the originals. Earmark only reads them.
            event.setDropAction(action)
            event.accept()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        action = _copy_or_link(event.possibleActions())
        if event.source() is not None or not paths or action is None:
            event.ignore()  # rows dragged from our own table are not new files
            return
        event.setDropAction(action)
        event.accept()
        self.library_actions.add_paths(paths)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._first_show:
            self._first_show = False
            if not self.ui_state.splitters.get(self.main_splitter.objectName()):
                # Sidebar and detail pane by the window's width: a narrow window keeps room
                # for the table.
                width = self.width()
                side, right = (160, 300) if width < 1200 else (190, 350)
                self.main_splitter.setSizes([side, max(width - side - right, 300), right])
            if not self.ui_state.splitters.get(self.right_splitter.objectName()):
                height = self.right_splitter.height() or self.height()
                self.right_splitter.setSizes([int(height * 0.6), int(height * 0.4)])
            if not self._header_restored:
                # The viewport has its real width only once the layout ran.
                QTimer.singleShot(0, self.table.apply_default_columns)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop cleanly: typed words are saved (or journaled), the current file finishes."""
        if self._closing:
            event.accept()
            return
        self.detail.commit()  # an edit in progress goes to the journal before anything stops
        if self._remember_layout:
            self._save_ui()
        self._closing = True
        self.playback.stop()
        self.library_actions.shutdown()
        self.captioning.shutdown()
        self.runner.cancel_all()
        self.runner.pool.waitForDone(5000)
        left = self.writer.stop(2.0)
        if left:
            log.info("%d write(s) left for the next start (the library was busy)", left)
        self.file_model.shutdown()
        self.library.close()
        event.accept()

    # -- remembered layout -------------------------------------------------------------------

    def _restore_ui(self) -> None:
        header = self.table.horizontalHeader()
        self._header_restored = restore_layout(
            self.ui_state, self, header, (self.main_splitter, self.right_splitter)
        )
        if self._header_restored:
            self.file_model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        self.search.set_search_mode(self.ui_state.search_mode)
        self.window_actions.autoplay.setChecked(self.ui_state.autoplay)

    def _save_ui(self) -> None:
        state = self.ui_state
        capture_layout(
            state, self, self.table.horizontalHeader(), (self.main_splitter, self.right_splitter)
        )
        state.search_mode = self.search.search_mode()
        state.autoplay = self.window_actions.autoplay.isChecked()
        state.save()


#: Every file, missing ones included: is the library empty?
_EVERY_FILE = FileQuery(statuses=("ok", "error", "missing"))


def _copy_or_link(possible: Qt.DropAction) -> Qt.DropAction | None:
    if possible & Qt.DropAction.CopyAction:
        return Qt.DropAction.CopyAction
    if possible & Qt.DropAction.LinkAction:
        return Qt.DropAction.LinkAction
    return None
