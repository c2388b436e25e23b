"""A file's caption history: every description it has had, and Restore for any of them."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.formatting import provenance_text
from desktop.library import CaptionRecord, FileRow

log = logging.getLogger(__name__)

__all__ = ["HistoryDialog"]


class HistoryDialog(QDialog):
    """Lists ``history`` newest first; Restore emits ``restoreRequested`` and closes.

    Signals:
        restoreRequested(file_id, caption_id).
    """

    restoreRequested = Signal(int, int)

    def __init__(
        self, row: FileRow, history: list[CaptionRecord], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("historyDialog")
        self.setWindowTitle(f"Caption history · {row.name}")
        self.setMinimumSize(560, 360)
        self._row = row
        intro = QLabel(
            "Every caption this file has had, newest first. Restoring one makes it the "
            "description again; the one it replaces stays here (Edit -> Undo also works)."
        )
        intro.setWordWrap(True)
        self.list = QListWidget()
        self.list.setObjectName("historyList")
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        for record in history:
            keywords = ", ".join(k for k, _ in record.keywords)
            mark = "  (current)" if record.current else ""
            text = f"{record.text}\n{provenance_text(record)}{mark}"
            if keywords:
                text += f"\nKeywords: {keywords}"
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, record.id)
            item.setData(Qt.ItemDataRole.UserRole + 1, record.current)
            self.list.addItem(item)
        self.restore_button = QPushButton("Restore")
        self.restore_button.setObjectName("restoreButton")
        self.restore_button.setEnabled(False)
        self.restore_button.clicked.connect(self._restore)
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemDoubleClicked.connect(lambda _item: self._restore())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.restore_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)

    def select_caption(self, caption_id: int) -> None:
        """Make the entry of ``caption_id`` current (keyboard and tests)."""
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == caption_id:
                self.list.setCurrentRow(i)
                return

    @Slot()
    def _on_current(self) -> None:
        item = self.list.currentItem()
        self.restore_button.setEnabled(
            item is not None and not item.data(Qt.ItemDataRole.UserRole + 1)
        )

    @Slot()
    def _restore(self) -> None:
        item = self.list.currentItem()
        if item is None or item.data(Qt.ItemDataRole.UserRole + 1):
            return
        self.restoreRequested.emit(self._row.id, int(item.data(Qt.ItemDataRole.UserRole)))
        self.accept()
