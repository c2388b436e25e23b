"""The captioning half of the main window: the worker thread, its reports, the queue buttons,
models and settings.

:class:`CaptioningMixin` is mixed into :class:`desktop.gui.main_window.MainWindow`; its methods
use the window's attributes, declared below for type checkers.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from desktop.gui.models_dialog import ModelsDialog
from desktop.gui.settings import AppSettings
from desktop.gui.worker import CaptionerFactory, CaptionWorker, WorkerThread

if TYPE_CHECKING:  # pragma: no cover
    from pathlib import Path

    import numpy as np
    from PySide6.QtCore import QTimer, Signal
    from PySide6.QtWidgets import QMainWindow

    from desktop.gui.detail import DetailPanel
    from desktop.gui.file_model import FileTableModel
    from desktop.gui.queue_panel import QueuePanel
    from desktop.gui.tasks import TaskRunner
    from desktop.library import FileRow, Library

log = logging.getLogger(__name__)

__all__ = ["CaptioningMixin"]


# Type checkers see the window's base class, so Qt signals and widget parents check out; at
# run time the mixin is a plain class and MainWindow supplies QMainWindow itself.
_Base = QMainWindow if TYPE_CHECKING else object


class CaptioningMixin(_Base):  # type: ignore[misc,valid-type]
    """Worker wiring and queue control for the main window."""

    if TYPE_CHECKING:  # provided by MainWindow
        library: Library
        worker: CaptionWorker
        worker_thread: WorkerThread
        queue_panel: QueuePanel
        detail: DetailPanel
        file_model: FileTableModel
        settings: AppSettings
        runner: TaskRunner
        models_dialog: ModelsDialog | None
        db_path: Path
        _snapshot_timer: QTimer
        _models_missing: bool
        _load_failed: bool
        _closing: bool
        _user_wants_captions: bool
        _embedding_model: str | None
        _embeddings: dict[str, np.ndarray]
        workRequested: Signal
        settingsChanged: Signal
        shutdownRequested: Signal

        def show_message(self, message: str) -> None: ...
        def show_file(self, row: FileRow | None) -> None: ...
        def _update_status(self) -> None: ...
        def _on_text_embedded(self, text: str, vector: object) -> None: ...

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

    def _cancel_queued(self) -> None:
        self.library.cancel_queued()
        self._snapshot_timer.start()

    def _retry_failed(self) -> None:
        self.library.retry_failed()
        self.start_captioning()

    def _clear_finished(self) -> None:
        self.library.clear_finished()
        self._snapshot_timer.start()

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
