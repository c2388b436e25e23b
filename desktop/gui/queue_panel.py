"""The queue panel: counts, the worker's state, job list and pause/resume/cancel/retry."""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.side_models import QueueModel
from desktop.library import QueueCounts

log = logging.getLogger(__name__)

__all__ = ["QueuePanel"]


class QueuePanel(QWidget):
    """Shows the persisted job queue and the caption worker's state.

    Signals:
        pauseToggled(paused), cancelRequested(), retryRequested(), clearRequested(),
        modelsRequested(): the user wants to download or choose models.
    """

    pauseToggled = Signal(bool)
    cancelRequested = Signal()
    retryRequested = Signal()
    clearRequested = Signal()
    modelsRequested = Signal()

    def __init__(self, model: QueueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queuePanel")
        self.model = model
        self.heading = QLabel("QUEUE")
        self.heading.setObjectName("sectionLabel")
        self.counts = QLabel("")
        self.counts.setObjectName("queueCounts")
        self.state = QLabel("Idle")
        self.state.setObjectName("workerState")
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(6)
        self.models_button = QPushButton("Get models…")
        self.models_button.setVisible(False)
        self.models_button.clicked.connect(self.modelsRequested)

        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._on_pause)
        self.cancel_button = QPushButton("Cancel queued")
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.retry_button = QPushButton("Retry failed")
        self.retry_button.clicked.connect(self.retryRequested)
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.clicked.connect(self.clearRequested)

        self.table = QTableView()
        self.table.setObjectName("queueTable")
        self.table.setModel(model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(1, 200)
        header.setStretchLastSection(True)

        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addWidget(self.counts, 1)
        top.addWidget(self.state)
        top.addWidget(self.models_button)
        buttons = QHBoxLayout()
        for button in (self.pause_button, self.cancel_button, self.retry_button, self.clear_button):
            buttons.addWidget(button)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.set_counts(QueueCounts())

    def set_counts(self, counts: QueueCounts) -> None:
        """Show job counts per state."""
        self.counts.setText(
            f"{counts.queued:,} waiting · {counts.running:,} running · "
            f"{counts.done:,} done · {counts.failed:,} failed"
        )
        self.retry_button.setEnabled(counts.failed > 0)
        self.cancel_button.setEnabled(counts.queued > 0)

    def set_state(self, text: str, busy: bool = False, missing_models: bool = False) -> None:
        """Show what the worker is doing; ``busy`` shows an indeterminate bar."""
        self.state.setText(text)
        self.models_button.setVisible(missing_models)
        if busy:
            self.bar.setRange(0, 0)
        elif self.bar.maximum() == 0:
            self.bar.setRange(0, 1)
            self.bar.setValue(0)

    def set_progress(self, done: int, total: int) -> None:
        """Show per-run progress."""
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(min(done, max(total, 1)))

    def _on_pause(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pauseToggled.emit(paused)

    def set_paused(self, paused: bool) -> None:
        """Reflect a paused state without emitting."""
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.blockSignals(False)

    def is_paused(self) -> bool:
        """Whether the Pause button is down."""
        return self.pause_button.isChecked()
