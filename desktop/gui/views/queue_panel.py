"""The queue panel: the worker's state, counts, progress, the job list and its buttons.

Nothing here may move when a text changes: status lines are elided labels that never ask for
more width, and each button is as wide as its longest label ("Pause"/"Resume"), so a click
aimed at one button can never land on its neighbour. A problem (models that failed to load)
stays on screen with a Details button until the state changes.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.records import QueueStatus
from desktop.gui.views.side_models import QueueModel
from desktop.gui.views.widgets import ElidedLabel, MiddleElideDelegate
from desktop.library import JobRow, QueueCounts

log = logging.getLogger(__name__)

__all__ = ["QueuePanel"]


def _fixed_button(labels: tuple[str, ...], parent: QWidget) -> QPushButton:
    button = QPushButton(labels[0], parent)
    widest = max(button.fontMetrics().horizontalAdvance(t) for t in labels)
    button.setFixedWidth(widest + 22)
    button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    return button


class QueuePanel(QWidget):
    """Shows the persisted job queue and the caption worker's state.

    Signals:
        pauseToggled(paused), cancelRequested(), retryRequested(), clearRequested(),
        modelsRequested(): the person wants to download or choose models,
        detailsRequested(text): show the full text of the problem on show.
    """

    pauseToggled = Signal(bool)
    cancelRequested = Signal()
    retryRequested = Signal()
    clearRequested = Signal()
    modelsRequested = Signal()
    detailsRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queuePanel")
        self.model = QueueModel(self)
        self._counts = QueueCounts()
        self._status = QueueStatus("idle", "Idle")
        self._worker_busy = False
        self.heading = QLabel("QUEUE")
        self.heading.setObjectName("sectionLabel")
        self.counts = ElidedLabel("", min_chars=10)
        self.counts.setObjectName("queueCounts")
        self.state = ElidedLabel("Idle", min_chars=10)
        self.state.setObjectName("workerState")
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.problem = ElidedLabel("", min_chars=10)
        self.problem.setObjectName("queueProblem")
        self.details_button = _fixed_button(("Details…",), self)
        self.details_button.clicked.connect(self._details)
        self.models_button = _fixed_button(("Models…",), self)
        self.models_button.clicked.connect(self.modelsRequested)
        self.problem_row = QWidget(self)
        problem_layout = QHBoxLayout(self.problem_row)
        problem_layout.setContentsMargins(0, 0, 0, 0)
        problem_layout.addWidget(self.problem, 1)
        problem_layout.addWidget(self.details_button)
        problem_layout.addWidget(self.models_button)
        # Reserve the row's height always, so showing a problem does not push the list down.
        self.problem_row.setFixedHeight(self.details_button.sizeHint().height())

        self.pause_button = _fixed_button(("Pause", "Resume"), self)
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Finish the file being captioned, then wait")
        self.pause_button.toggled.connect(self._on_pause)
        self.cancel_button = _fixed_button(("Cancel queue…",), self)
        self.cancel_button.setObjectName("cancelQueuedButton")
        self.cancel_button.setToolTip("Take the waiting files off the queue (asks first)")
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.retry_button = _fixed_button(("Retry",), self)
        self.retry_button.setToolTip("Queue the files that failed again")
        self.retry_button.clicked.connect(self.retryRequested)
        self.clear_button = _fixed_button(("Clear done",), self)
        self.clear_button.setToolTip("Remove finished and cancelled jobs from this list")
        self.clear_button.clicked.connect(self.clearRequested)

        self.table = QTableView()
        self.table.setObjectName("queueTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self._file_delegate = MiddleElideDelegate(self.table)
        self.table.setItemDelegateForColumn(1, self._file_delegate)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(0, self.fontMetrics().horizontalAdvance("Cancelled") + 24)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(1, 150)
        header.setStretchLastSection(True)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        # Pause sits by the state it changes; the destructive Cancel is far from it, at the
        # other end of the panel, so a click aimed at one cannot land on the other.
        top = QHBoxLayout()
        top.addWidget(self.heading)
        top.addWidget(self.state, 1)
        top.addWidget(self.pause_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.clear_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.counts)
        layout.addWidget(self.bar)
        layout.addWidget(self.problem_row)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.set_counts(QueueCounts())
        self.set_status(self._status)

    # -- what is shown -----------------------------------------------------------------------

    def set_jobs(self, jobs: list[JobRow]) -> None:
        """Show these jobs."""
        self.model.set_jobs(jobs)

    def set_counts(self, counts: QueueCounts) -> None:
        """Show job counts per state and enable only the buttons that can do something."""
        self._counts = counts
        self.counts.setText(
            f"{counts.queued:,} waiting · {counts.running:,} running · "
            f"{counts.done:,} done · {counts.failed:,} failed"
        )
        self.retry_button.setEnabled(counts.failed > 0)
        self.cancel_button.setEnabled(counts.queued > 0)
        self.clear_button.setEnabled(counts.done + counts.cancelled > 0)
        self._update_pause()

    def set_status(self, status: QueueStatus) -> None:
        """Show what the worker is doing, and keep a problem readable until it is over."""
        self._status = status
        self.state.setText(status.text)
        self._worker_busy = status.kind in ("loading", "working")
        if status.kind == "loading":
            self.bar.setRange(0, 0)  # indeterminate while models load
        elif status.kind != "working":
            self.bar.setRange(0, 1)
            self.bar.setValue(0)  # nothing left part-filled after a stop or a cancel
        shown = bool(status.problem)
        self.problem.setText(status.problem)
        for widget in (self.problem, self.details_button):
            widget.setVisible(shown)
        self.models_button.setVisible(status.kind in ("missing", "failed"))
        self._update_pause()

    def set_progress(self, done: int, total: int) -> None:
        """Show per-run progress."""
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(min(done, max(total, 1)))

    def set_paused(self, paused: bool) -> None:
        """Reflect a paused state without emitting."""
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pause_button.blockSignals(False)
        self._update_pause()

    def is_paused(self) -> bool:
        """Whether the Pause button is down."""
        return self.pause_button.isChecked()

    # -- internals ---------------------------------------------------------------------------

    def _update_pause(self) -> None:
        # Pausing means something only while there is work; resuming, always.
        self.pause_button.setEnabled(
            self.is_paused() or self._worker_busy or self._counts.pending > 0
        )

    @Slot(bool)
    def _on_pause(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        self.pauseToggled.emit(paused)

    @Slot()
    def _details(self) -> None:
        if self._status.problem:
            self.detailsRequested.emit(self._status.problem)
