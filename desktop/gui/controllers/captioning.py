"""The captioning controller: the worker thread, the models' state and the queue's commands.

It owns the one :class:`~desktop.gui.worker.CaptionWorker` (on its own QThread), turns the
worker's reports into one :class:`~desktop.gui.records.QueueStatus` for the queue panel, and
runs the queue commands. Destructive ones ask first: "Caption again" over descriptions the
person wrote offers to keep them, and "Cancel queued" says how many files it takes off the
queue. Queue writes go through the :class:`~desktop.gui.writer.LibraryWriter`, never on the
GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.gui.asking import CANCEL, Asker, Choice, Question
from desktop.gui.formatting import describe_error
from desktop.gui.records import QueueStatus
from desktop.gui.tasks import TaskResult
from desktop.gui.worker import CaptionerFactory, CaptionWorker, WorkerThread
from desktop.gui.writer import LibraryWriter, WriteOp
from desktop.library import FileRow, Library
from desktop.settings import AppSettings

log = logging.getLogger(__name__)

__all__ = ["CaptioningController"]


class CaptioningController(QObject):
    """Runs and reports captioning.

    Signals:
        statusChanged(QueueStatus): what the worker is doing now.
        progressChanged(done, total): files finished in this run.
        jobStarted(file_id), fileCaptioned(file_id), jobFailed(file_id, message).
        queueChanged(): the queue changed (refresh the queue panel and sidebar).
        pausedChanged(paused).
        modelsNeeded(reason): the person asked for captions and the models are missing.
        userCaptionsReplacing(dict): {file id: caption id} of user captions a confirmed
            "Caption again" will replace (for undo).
        modelChanged(model_id): the embedding model now loaded ("" after a settings change).
        textEmbedded(text, vector), textEmbeddingFailed(text, message).
        info(message): passing news; problem(message): something to keep on screen.
    """

    statusChanged = Signal(object)
    progressChanged = Signal(int, int)
    jobStarted = Signal(int)
    fileCaptioned = Signal(int)
    jobFailed = Signal(int, str)
    queueChanged = Signal()
    pausedChanged = Signal(bool)
    modelsNeeded = Signal(str)
    userCaptionsReplacing = Signal(object)
    modelChanged = Signal(str)
    textEmbedded = Signal(str, object)
    textEmbeddingFailed = Signal(str, str)
    info = Signal(str)
    problem = Signal(str)
    _workRequested = Signal()
    _shutdownRequested = Signal()
    _settingsChanged = Signal(object)

    def __init__(
        self,
        library: Library,
        writer: LibraryWriter,
        settings: AppSettings,
        factory: CaptionerFactory,
        asker: Asker,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._writer = writer
        self._settings = settings
        self._asker = asker
        self._status = QueueStatus("idle", "Idle")
        self._user_wants_captions = False
        self._models_missing = ""
        self._load_failed = ""
        self._embedding_model: str | None = None
        self._closing = False
        self.worker_thread = WorkerThread(self)
        self.worker = CaptionWorker(writer.db_path, settings, factory)
        self.worker.moveToThread(self.worker_thread)
        self._workRequested.connect(self.worker.run_queue)
        self._shutdownRequested.connect(self.worker.shutdown)
        self._settingsChanged.connect(self.worker.apply_settings)
        w = self.worker
        # Bound methods only: a lambda connected to a worker signal would run on the worker's
        # thread (PySide gives it no receiver), and this object lives on the GUI thread.
        w.loadingStarted.connect(self._on_loading_started)
        w.modelLoaded.connect(self._on_model_loaded)
        w.modelsMissing.connect(self._on_models_missing)
        w.loadFailed.connect(self._on_load_failed)
        w.jobStarted.connect(self._on_job_started)
        w.captioned.connect(self._on_captioned)
        w.failed.connect(self._on_job_failed)
        w.progress.connect(self._on_progress)
        w.idle.connect(self._on_idle)
        w.textEmbedded.connect(self._on_text_embedded)
        w.textEmbeddingFailed.connect(self._on_text_embedding_failed)
        self.worker_thread.start()

    # -- state -------------------------------------------------------------------------------

    @property
    def status(self) -> QueueStatus:
        """What the queue panel shows now."""
        return self._status

    @property
    def embedding_model(self) -> str | None:
        """The loaded embedding model id, if the models are loaded."""
        return self._embedding_model

    def is_paused(self) -> bool:
        """Whether the queue is paused."""
        return self.worker.is_paused()

    # -- commands ----------------------------------------------------------------------------

    @Slot()
    def resume_queue(self) -> None:
        """Wake the worker for a queue left from last time (not user-initiated: no dialog)."""
        if not self.worker.is_paused():
            self._workRequested.emit()

    @Slot()
    def start(self) -> None:
        """Wake the worker because the person asked for captions (missing models: a dialog)."""
        self._user_wants_captions = True
        self.queueChanged.emit()
        if not self.worker.is_paused():
            self._workRequested.emit()

    @Slot(object)
    def caption_again(self, rows: Sequence[FileRow]) -> None:
        """Queue files to be captioned again; asks before replacing the person's own words."""
        readable = [r.id for r in rows if r.status == "ok"]
        skipped = len(rows) - len(readable)
        if not readable:
            self.problem.emit("These files cannot be read, so they cannot be captioned again.")
            return
        protected = self._library.protected_captions(readable)
        if not protected:
            self._enqueue(readable, force=False, skipped=skipped)
            return
        mine = {file_id: caption_id for file_id, (caption_id, _) in protected.items()}
        n, total = len(mine), len(readable)
        from_files = sum(source == "file" for _, source in protected.values())
        others = total - n
        choices = [Choice("replace", "Replace them", "destructive")]
        if others:
            choices.append(Choice("keep", f"Keep them, caption the other {others:,}"))
        choices.append(Choice(CANCEL, "Cancel", "reject"))
        if from_files == 0:  # all written by the person
            if total == 1:
                text = "You wrote this file's description. Replace it with a new AI caption?"
            elif n == total:
                text = (
                    f"You wrote the descriptions of all {n:,} files. Replace them with AI captions?"
                )
            else:
                text = (
                    f"You wrote the descriptions of {n:,} of these {total:,} files. "
                    "Replace them with new AI captions?"
                )
        else:
            whose = (
                "the description the file carries"
                if n == 1 and from_files == 1
                else "their own descriptions"
                if from_files == n
                else "descriptions you wrote or the files carry"
            )
            if total == 1:
                text = f"This file has {whose}. Replace it with a new AI caption?"
            elif n == total:
                text = f"All {n:,} files have {whose}. Replace them with AI captions?"
            else:
                text = (
                    f"{n:,} of these {total:,} files have {whose}. Replace them with AI captions?"
                )
        question = Question(
            title="Caption again",
            text=text,
            details="Replaced descriptions stay in each file's caption history; Edit -> Undo "
            "or History puts them back.",
            choices=tuple(choices),
            default="keep" if others else CANCEL,
        )

        def answered(key: str) -> None:
            if key == "replace":
                self.userCaptionsReplacing.emit(dict(mine))
                self._enqueue(readable, force=True, skipped=skipped)
            elif key == "keep":
                self._enqueue([i for i in readable if i not in mine], False, skipped)

        self._asker.ask(question, answered)

    @Slot()
    def caption_uncaptioned(self) -> None:
        """Queue every readable file without a caption."""
        self._submit(WriteOp("enqueue", {"files": "uncaptioned", "force": False}), "queued")

    @Slot(bool)
    def set_paused(self, paused: bool) -> None:
        """Pause or resume the queue (the current file finishes either way)."""
        self.worker.set_paused(paused)
        self.pausedChanged.emit(paused)
        if paused:
            self._set_status(QueueStatus("paused", "Pausing after this file…"))
        else:
            self._set_status(QueueStatus("idle", "Resuming…"))
            self._workRequested.emit()

    @Slot()
    def cancel_queued(self) -> None:
        """Take the waiting files off the queue, after saying how many."""
        waiting = self._library.queue_counts().queued
        if waiting == 0:
            return
        question = Question(
            title="Cancel queued files",
            text=f"Take {waiting:,} waiting file(s) off the captioning queue?",
            details="Their existing descriptions are kept. The file being captioned now "
            "finishes. Caption them later with Captioning -> Caption everything not captioned.",
            choices=(
                Choice("cancel_jobs", f"Cancel {waiting:,} queued", "destructive"),
                Choice(CANCEL, "Keep them queued", "reject"),
            ),
        )

        def answered(key: str) -> None:
            if key == "cancel_jobs":
                self._submit(WriteOp("cancel_queued"), "taken off the queue")

        self._asker.ask(question, answered)

    @Slot()
    def retry_failed(self) -> None:
        """Queue failed jobs again."""
        self._submit(WriteOp("retry_failed"), "queued again")

    @Slot()
    def clear_finished(self) -> None:
        """Remove done and cancelled jobs from the list."""
        self._writer.submit(WriteOp("clear_finished"), self._after_queue_write)

    @Slot(object)
    def apply_settings(self, settings: AppSettings) -> None:
        """Hand new settings to the worker; models are reloaded on next use."""
        self._settings = settings
        self._settingsChanged.emit(settings.copy())
        self._models_missing = self._load_failed = ""
        self._embedding_model = None
        self.modelChanged.emit("")
        self._set_status(QueueStatus("idle", "Idle"))

    def request_text_embedding(self, text: str) -> None:
        """Ask the worker for a search text's embedding (answered by ``textEmbedded``)."""
        self._user_wants_captions = True  # a semantic search may need the models
        self.worker.request_text_embedding(text)

    def shutdown(self) -> None:
        """Stop the worker: the current file finishes, the rest of the queue waits."""
        self._closing = True
        self.worker.request_stop()
        self.worker.blockSignals(True)  # nothing it says now should reach a closing window
        self._shutdownRequested.emit()
        self.worker_thread.wait()

    # -- internals ---------------------------------------------------------------------------

    def _enqueue(self, ids: list[int], force: bool, skipped: int = 0) -> None:
        if not ids:
            return
        note = f" ({skipped:,} unreadable skipped)" if skipped else ""
        self._submit(WriteOp("enqueue", {"files": ids, "force": force}), f"queued{note}")

    def _submit(self, op: WriteOp, what: str) -> None:
        def done(result: TaskResult[object]) -> None:
            if result.error is not None:
                self.problem.emit(f"The queue was not changed: {describe_error(result.error)}")
                return
            count = result.value if isinstance(result.value, int) else 0
            self.info.emit(f"{count:,} file(s) {what}.")
            self._after_queue_write(result)
            if op.kind in ("enqueue", "retry_failed"):
                self.start()

        self._writer.submit(op, done)

    def _after_queue_write(self, _result: TaskResult[object]) -> None:
        self.queueChanged.emit()

    def _set_status(self, status: QueueStatus) -> None:
        self._status = status
        self.statusChanged.emit(status)

    @Slot()
    def _on_loading_started(self) -> None:
        self._set_status(QueueStatus("loading", "Loading models…"))

    @Slot(str)
    def _on_model_loaded(self, embedding_model: str) -> None:
        self._models_missing = self._load_failed = ""
        self._embedding_model = embedding_model
        self.modelChanged.emit(embedding_model)
        self._set_status(QueueStatus("idle", "Models ready"))

    @Slot(str)
    def _on_models_missing(self, message: str) -> None:
        self._models_missing = message
        self._set_status(QueueStatus("missing", "Models not downloaded", message))
        if self._user_wants_captions and not self._closing:
            self._user_wants_captions = False
            self.modelsNeeded.emit(message)

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        self._load_failed = message
        self._set_status(QueueStatus("failed", "Models failed to load", message))
        self.problem.emit(message)

    @Slot(int)
    def _on_job_started(self, file_id: int) -> None:
        if self._closing:
            return
        row = self._library.get_file(file_id)
        self._set_status(QueueStatus("working", f"Captioning {row.name if row else file_id}…"))
        self.jobStarted.emit(file_id)
        self.queueChanged.emit()

    @Slot(int)
    def _on_captioned(self, file_id: int) -> None:
        if not self._closing:
            self.fileCaptioned.emit(file_id)
            self.queueChanged.emit()

    @Slot(int, str)
    def _on_job_failed(self, file_id: int, message: str) -> None:
        if not self._closing:
            self.jobFailed.emit(file_id, message)
            self.queueChanged.emit()

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        if not self._closing:
            self.progressChanged.emit(done, total)

    @Slot()
    def _on_idle(self) -> None:
        if self._closing:
            return
        if self.worker.is_paused():
            self._set_status(QueueStatus("paused", "Paused"))
        elif self._models_missing:
            self._set_status(QueueStatus("missing", "Models not downloaded", self._models_missing))
        elif self._load_failed:
            self._set_status(QueueStatus("failed", "Models failed to load", self._load_failed))
        else:
            ready = self._embedding_model is not None
            self._set_status(QueueStatus("idle", "Models ready" if ready else "Idle"))
        # The idle report can come before the last per-file events are painted: refresh once
        # more a little later, so the list and the counts settle on the final state.
        self.queueChanged.emit()
        QTimer.singleShot(0, self.queueChanged.emit)

    @Slot(str, object)
    def _on_text_embedded(self, text: str, vector: object) -> None:
        self.textEmbedded.emit(text, np.asarray(vector, dtype=np.float32))

    @Slot(str, str)
    def _on_text_embedding_failed(self, text: str, message: str) -> None:
        self.textEmbeddingFailed.emit(text, message)

    @property
    def db_path(self) -> Path:
        """The library database."""
        return self._writer.db_path
