"""The caption worker: one QObject on its own QThread that owns the single Captioner.

It loads the models lazily on first use, runs the library's Qt-free job loop (the same one the
CLI uses) and reports in past-tense signals. A stop flag is polled between files, so pausing,
closing the app or changing settings never interrupts a commit: the current file finishes (or
is requeued by the job loop) and the queue resumes next time.

Heavy imports (torch, transformers through ``captioner``) happen only inside this thread.

Semantic search needs the text encoder, which lives here too. Search text is sent with
:meth:`CaptionWorker.request_text_embedding` (thread-safe); the worker answers between files or
when idle with ``textEmbedded``, so a search never waits for a whole batch to finish.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from desktop.library import CaptionerLike, JobEvent, Library, run_jobs
from desktop.settings import AppSettings

log = logging.getLogger(__name__)

__all__ = ["CaptionWorker", "CaptionerFactory", "WorkerThread", "load_captioner", "model_refs"]

CaptionerFactory = Callable[[AppSettings], CaptionerLike]


def model_refs(settings: AppSettings) -> tuple[str, str]:
    """The (audio model, language model) the settings mean, resolved like the CLI does: an
    empty choice is the preset's (``paper``: an imported WavCaps model when there is one)."""
    return settings.plan().model_refs


def load_captioner(settings: AppSettings) -> CaptionerLike:
    """Build the real Captioner from settings (runs on the worker thread; imports torch)."""
    from captioner import models

    plan = settings.plan()
    # Absent models fail here, before torch is imported: importing it holds the GIL for
    # seconds, which would stutter the window for nothing on a first run.
    for ref in plan.model_refs:
        models.resolve(ref)
    captioner: CaptionerLike = plan.load()
    return captioner


class CaptionWorker(QObject):
    """Runs queued caption jobs; every public slot is meant to be invoked through signals.

    Signals (all past tense, all delivered queued to the GUI thread):
        loadingStarted(): models are being loaded (show a busy state).
        modelLoaded(embedding_model_id): the captioner is ready.
        modelsMissing(message): a model is not on this computer (offer a download).
        loadFailed(message): models exist but could not be loaded, or settings are invalid.
        jobStarted(file_id), captioned(file_id), failed(file_id, message).
        progress(done, total): jobs finished in this run.
        idle(): the queue is empty, or the run was paused/stopped.
        textEmbedded(text, vector): answer to :meth:`request_text_embedding`.
        textEmbeddingFailed(text, message).
    """

    loadingStarted = Signal()
    modelLoaded = Signal(str)
    modelsMissing = Signal(str)
    loadFailed = Signal(str)
    jobStarted = Signal(int)
    captioned = Signal(int)
    failed = Signal(int, str)
    progress = Signal(int, int)
    idle = Signal()
    textEmbedded = Signal(str, object)
    textEmbeddingFailed = Signal(str, str)
    _embeddingRequested = Signal()

    def __init__(
        self,
        db_path: Path,
        settings: AppSettings,
        factory: CaptionerFactory = load_captioner,
    ) -> None:
        super().__init__()
        self._db_path = db_path
        self._settings = settings.copy()
        self._factory = factory
        self._captioner: CaptionerLike | None = None
        self._library: Library | None = None
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._texts: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._busy = False
        self._embeddingRequested.connect(self._serve_embeddings)

    # -- thread-safe controls (callable from the GUI thread) ---------------------------------

    def request_stop(self) -> None:
        """Stop after the current file (the job loop requeues what it had not started)."""
        self._stop.set()

    def set_paused(self, paused: bool) -> None:
        """Pause: finish the current file, then take no new jobs until resumed."""
        if paused:
            self._paused.set()
            self._stop.set()
        else:
            self._paused.clear()

    def is_paused(self) -> bool:
        """Whether the queue is paused."""
        return self._paused.is_set()

    def request_text_embedding(self, text: str) -> None:
        """Ask for the text embedding of a search; answered by ``textEmbedded``."""
        self._texts.put(text)
        self._embeddingRequested.emit()  # queued: runs when the worker thread is free

    # -- slots (worker thread) ---------------------------------------------------------------

    @Slot(object)
    def apply_settings(self, settings: AppSettings) -> None:
        """Use new settings; the captioner is rebuilt on next use if models changed."""
        old = self._settings
        self._settings = settings.copy()
        if (
            old.clap,
            old.llm,
            old.device,
            old.preset,
            old.dtype,
            old.overrides,
            old.vocabulary,
        ) != (
            settings.clap,
            settings.llm,
            settings.device,
            settings.preset,
            settings.dtype,
            settings.overrides,
            settings.vocabulary,
        ):
            self._captioner = None

    @Slot()
    def run_queue(self) -> None:
        """Caption queued jobs until the queue is empty, paused or stopped; then ``idle``."""
        if self._busy:
            return  # a run is in progress (re-entered from a nested event loop)
        if self._paused.is_set():
            self.idle.emit()
            return
        self._stop.clear()
        self._busy = True
        try:
            library = self._open_library()
            # "running" counts too: jobs left running by a crashed run are requeued by the loop.
            if library.queue_counts().pending == 0:
                return
            captioner = self._ensure_captioner()
            if captioner is None:
                return
            run_jobs(
                library,
                captioner,
                batch_size=self._settings.batch_size,
                should_stop=self._should_stop,
                on_event=self._on_event,
            )
        except Exception as exc:  # a broken DB or engine must not kill the thread silently
            log.exception("caption run failed")
            self.loadFailed.emit(f"Captioning stopped: {exc}")
        finally:
            self._busy = False
            self.idle.emit()
        self._serve_embeddings()

    @Slot()
    def shutdown(self) -> None:
        """Release the database and the models, then end the thread's event loop."""
        if self._library is not None:
            self._library.close()
            self._library = None
        self._captioner = None
        thread = self.thread()
        app = QCoreApplication.instance()
        if app is not None:
            # Hand the object back to the GUI thread so deleting it there later is legal.
            self.moveToThread(app.thread())
        thread.quit()

    # -- internals ---------------------------------------------------------------------------

    def _open_library(self) -> Library:
        if self._library is None:
            # Opened here so the connection belongs to this thread (SQLite's rule).
            self._library = Library.open(self._db_path)
        return self._library

    def _ensure_captioner(self) -> CaptionerLike | None:
        if self._captioner is not None:
            return self._captioner
        self.loadingStarted.emit()
        try:
            captioner = self._factory(self._settings)
        except Exception as exc:
            from captioner.errors import ModelNotFoundError

            if isinstance(exc, ModelNotFoundError):
                self.modelsMissing.emit(str(exc))
            else:
                log.exception("loading models failed")
                self.loadFailed.emit(f"Could not load the models: {exc}")
            return None
        self._captioner = captioner
        self.modelLoaded.emit(captioner.embedding_model_id)
        return captioner

    def _should_stop(self) -> bool:
        self._serve_embeddings()
        return self._stop.is_set()

    def _on_event(self, event: JobEvent) -> None:
        if event.kind == "started" and event.file_id is not None:
            self.jobStarted.emit(event.file_id)
        elif event.kind == "captioned" and event.file_id is not None:
            self.captioned.emit(event.file_id)
        elif event.kind == "failed":
            self.failed.emit(
                event.file_id if event.file_id is not None else -1, event.message or ""
            )
        elif event.kind == "progress":
            self.progress.emit(event.done, event.total)
        # "idle" is emitted once by run_queue's finally, whatever ended the run.

    @Slot()
    def _serve_embeddings(self) -> None:
        while True:
            try:
                text = self._texts.get_nowait()
            except queue.Empty:
                return
            try:
                captioner = self._ensure_captioner()
                if captioner is None:
                    self.textEmbeddingFailed.emit(
                        text, "Search by description needs the models; they are not loaded."
                    )
                    continue
                vector = np.asarray(captioner.embed_text([text]), dtype=np.float32)[0]
            except Exception as exc:
                log.exception("text embedding failed")
                self.textEmbeddingFailed.emit(text, str(exc))
                continue
            self.textEmbedded.emit(text, vector)


class WorkerThread(QThread):
    """The QThread that hosts one :class:`CaptionWorker`, named for debuggers."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("earmark-caption-worker")
