"""First-run model dialog: see which models are present, download them, or pick local folders.

Every network or disk look-up runs on the thread pool; the dialog only shows results. Offline,
the size look-up fails and the dialog says so plainly instead of hanging. A chosen folder is
checked at once (:mod:`desktop.gui.model_check`): a folder of sounds or the other kind of
model is refused, and the reason stays in the dialog.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.dialogs import pickers
from desktop.gui.formatting import format_size
from desktop.gui.model_check import FolderCheck, ModelKind, check_model_folder
from desktop.gui.tasks import TaskContext, TaskResult, TaskRunner
from desktop.settings import AppSettings

log = logging.getLogger(__name__)

__all__ = ["ModelsDialog", "RemoteSize", "local_status", "remote_size"]

OFFLINE_MESSAGE = (
    "Hugging Face cannot be reached, so the models cannot be downloaded now. "
    "Connect to the internet and try again, or choose folders that already hold the models."
)
# Files a download fetches (weights, configs, tokenizers); used only to estimate the size.
_FETCHED_SUFFIXES = (".safetensors", ".json", ".txt", ".model")


@dataclass(frozen=True)
class RemoteSize:
    """Result of a size look-up: bytes, or why it failed."""

    ref: str
    size: int | None
    error: str | None = None


def local_status(ref: str) -> tuple[bool, int | None]:
    """``(present, size_bytes)`` of a model on this computer (pool thread: touches disk)."""
    from captioner import models

    status = models.status(ref)
    return status.present, status.size_bytes


def remote_size(ref: str) -> RemoteSize:
    """Estimate a model's download size from Hugging Face (pool thread: network)."""
    try:
        from huggingface_hub import HfApi

        info = HfApi().model_info(ref, files_metadata=True)
    except Exception as exc:  # offline, unknown repo, auth: all reported in one sentence
        log.info("size look-up of %s failed: %s", ref, exc)
        return RemoteSize(ref, None, OFFLINE_MESSAGE)
    size = sum(
        int(s.size or 0) for s in (info.siblings or []) if s.rfilename.endswith(_FETCHED_SUFFIXES)
    )
    return RemoteSize(ref, size)


def _status_row(ref: str, _ctx: TaskContext[None]) -> tuple[str, bool, int | None]:
    return (ref, *local_status(ref))


def _remote_size(ref: str, _ctx: TaskContext[None]) -> RemoteSize:
    return remote_size(ref)


class ModelsDialog(QDialog):
    """Shows both models' state with Download and Choose folder buttons.

    ``settings()`` returns the settings with any folders the user chose. The dialog accepts
    once both models are present.
    """

    def __init__(
        self,
        settings: AppSettings,
        runner: TaskRunner,
        parent: QWidget | None = None,
        reason: str = "",
        download: Callable[..., object] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("modelsDialog")
        self.setWindowTitle("Captioning models")
        self.setMinimumWidth(600)
        self._settings = settings.copy()
        self._runner = runner
        self._download = download
        self._cancel = threading.Event()
        self._present: dict[str, bool] = {}
        self._downloaded = False
        # Look-ups still running when the dialog closes must not touch its deleted widgets.
        self._alive = True
        self.finished.connect(self._on_closed)

        intro = QLabel(
            reason
            or "Earmark captions sounds with two models that run on this computer. "
            "Download them once (they are cached), or choose folders that already hold them."
        )
        intro.setWordWrap(True)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setObjectName("dialogMessage")
        self.bar = QProgressBar()
        self.bar.setVisible(False)
        self.folder_problem = QLabel("")
        self.folder_problem.setObjectName("fieldProblem")
        self.folder_problem.setWordWrap(True)
        self.folder_problem.setVisible(False)

        grid = QGridLayout()
        self.rows: dict[str, tuple[QLabel, QLabel, QPushButton]] = {}
        for i, (key, title) in enumerate((("clap", "Audio model"), ("llm", "Language model"))):
            name = QLabel(f"<b>{title}</b><br>{self._ref(key)}")
            state = QLabel("Checking…")
            choose = QPushButton("Choose folder…")
            choose.setObjectName(f"choose-{key}")
            choose.clicked.connect(lambda _=False, k=key: self._choose_folder(k))
            grid.addWidget(name, i, 0)
            grid.addWidget(state, i, 1)
            grid.addWidget(choose, i, 2)
            self.rows[key] = (name, state, choose)

        self.download_button = QPushButton("Download")
        self.download_button.setEnabled(False)
        self.download_button.clicked.connect(self._start_download)
        self.cancel_download = QPushButton("Cancel download")
        self.cancel_download.setVisible(False)
        self.cancel_download.clicked.connect(self._cancel.set)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.addButton(self.download_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.cancel_download, QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_download.setVisible(False)  # after addButton, which shows its buttons
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(grid)
        layout.addWidget(self.folder_problem)
        layout.addWidget(self.bar)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.refresh()

    @property
    def ready(self) -> bool:
        """True once both models were found on this computer."""
        return all(self._present.get(k, False) for k in ("clap", "llm"))

    def settings(self) -> AppSettings:
        """Settings with the chosen model folders."""
        return self._settings.copy()

    def _ref(self, key: str) -> str:
        """The model reference the settings mean (an empty choice is the preset's)."""
        try:
            clap, llm = self._settings.plan().model_refs
        except ValueError:  # a broken setting: show what was typed
            return str(getattr(self._settings, key))
        return clap if key == "clap" else llm

    def refresh(self) -> None:
        """Re-check both models (off the GUI thread)."""
        for key in ("clap", "llm"):
            ref = self._ref(key)
            self.rows[key][1].setText("Checking…")
            self._runner.run(partial(_status_row, ref), partial(self._on_status, key))

    def _on_closed(self, _result: int) -> None:
        self._alive = False
        self._cancel.set()

    def _on_status(self, key: str, outcome: TaskResult[tuple[str, bool, int | None]]) -> None:
        if not self._alive:
            return
        if outcome.value is None:
            self.rows[key][1].setText(f"Cannot check: {outcome.error}")
            return
        ref, present, size = outcome.value
        for key in ("clap", "llm"):
            if self._ref(key) != ref:
                continue
            self._present[key] = present
            label = self.rows[key][1]
            if present:
                label.setText(f"✓ on this computer ({format_size(size)})")
            elif self._downloaded:
                label.setText("Still not found after the download")
            else:
                label.setText("Not downloaded")
                self._runner.run(partial(_remote_size, ref), self._on_remote_size)
        missing = [k for k in ("clap", "llm") if not self._present.get(k, False)]
        self.download_button.setEnabled(bool(missing) and len(self._present) == 2)
        if len(self._present) == 2 and not missing:
            self.message.setText("Both models are ready.")

    def _on_remote_size(self, outcome: TaskResult[RemoteSize]) -> None:
        result = outcome.value
        if result is None or not self._alive:
            return
        for key in ("clap", "llm"):
            if self._ref(key) == result.ref and not self._present.get(key):
                if result.size is None:
                    self.rows[key][1].setText("Not downloaded (size unknown: offline)")
                    self.message.setText(result.error or OFFLINE_MESSAGE)
                else:
                    self.rows[key][1].setText(f"Not downloaded · {format_size(result.size)}")

    def _choose_folder(self, key: ModelKind) -> None:
        title = "Audio model" if key == "clap" else "Language model"
        path = pickers.choose_directory(self, f"Choose the {title.lower()} folder")
        if not path:
            return
        self.folder_problem.setText(f"Checking {path}…")
        self.folder_problem.setVisible(True)

        def work(_ctx: TaskContext[None]) -> FolderCheck:
            return check_model_folder(path, key)

        def done(outcome: TaskResult[FolderCheck]) -> None:
            if not self._alive:
                return
            verdict = outcome.value or FolderCheck(False, str(outcome.error))
            if not verdict.ok:
                # Kept under the models until another folder is chosen: readable, not flashed.
                self.folder_problem.setText(f"Not used: {verdict.reason}")
                return
            self.folder_problem.setText("")
            self.folder_problem.setVisible(False)
            self.rows[key][1].setToolTip(verdict.reason)
            setattr(self._settings, key, path)
            self.rows[key][0].setText(f"<b>{title}</b><br>{path}")
            self._present.pop(key, None)
            self._downloaded = False
            self.refresh()

        self._runner.run(work, done)

    @Slot()
    def _start_download(self) -> None:
        refs = [self._ref(k) for k in ("clap", "llm") if not self._present.get(k)]
        self._cancel.clear()
        self.download_button.setEnabled(False)
        self.cancel_download.setVisible(True)
        self.bar.setVisible(True)
        self.bar.setRange(0, 0)
        self.message.setText("Downloading…")
        download = self._download
        cancel = self._cancel

        def work(ctx: TaskContext[tuple[str, int, int]]) -> list[str]:
            fetch = download
            if fetch is None:
                from captioner import models

                fetch = models.download
            for ref in refs:

                def progress(done: int, total: int, ref: str = ref) -> None:
                    ctx.report((ref, done, total))

                fetch(ref, progress=progress, cancel=cancel.is_set)
            return refs

        def finished(outcome: TaskResult[list[str]]) -> None:
            if not self._alive:
                return
            if outcome.error is not None:
                self._on_download_failed(outcome.error)
            else:
                self._on_downloaded(outcome.value)

        self._runner.run(work, finished, self._on_progress)

    def _on_progress(self, value: tuple[str, int, int]) -> None:
        if not self._alive:
            return
        ref, done, total = value
        if total > 0:
            # Progress bars take ints; scale bytes to KiB so multi-GB models fit.
            self.bar.setRange(0, max(1, total // 1024))
            self.bar.setValue(done // 1024)
        self.message.setText(f"Downloading {ref}: {format_size(done)} of {format_size(total)}")

    def _on_downloaded(self, _refs: object) -> None:
        self.cancel_download.setVisible(False)
        self.bar.setVisible(False)
        self.message.setText("Download complete.")
        self._downloaded = True
        self._present.clear()
        self.refresh()

    def _on_download_failed(self, exc: BaseException) -> None:
        self.cancel_download.setVisible(False)
        self.bar.setVisible(False)
        self.download_button.setEnabled(True)
        text = str(exc)
        if "cancel" in text.lower():
            self.message.setText("Download cancelled. What was fetched is kept; Download resumes.")
        elif any(w in text.lower() for w in ("connect", "resolve", "offline", "network")):
            self.message.setText(OFFLINE_MESSAGE)
        else:
            self.message.setText(text)
