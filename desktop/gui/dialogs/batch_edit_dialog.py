"""Edit many files at once: add or remove keywords, or give them all one description."""

from __future__ import annotations

import logging

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.views.detail import split_keywords

log = logging.getLogger(__name__)

__all__ = ["BatchEdit", "BatchEditDialog"]


class BatchEdit:
    """What the dialog was asked to do (empty fields mean "leave as it is")."""

    def __init__(self, add: list[str], remove: list[str], description: str) -> None:
        self.add = add
        self.remove = remove
        self.description = description

    def is_empty(self) -> bool:
        """True when nothing would change."""
        return not (self.add or self.remove or self.description)


class BatchEditDialog(QDialog):
    """Three fields for ``count`` files; read :meth:`edit` after ``accept``."""

    def __init__(self, count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("batchEditDialog")
        self.setWindowTitle(f"Edit {count:,} file(s)")
        self.setMinimumWidth(520)
        intro = QLabel(
            f"Changes apply to the {count:,} selected file(s). Empty fields leave each file as "
            "it is. Every change can be undone (Edit -> Undo) and the old captions stay in "
            "each file's history."
        )
        intro.setWordWrap(True)
        self.add_edit = QLineEdit()
        self.add_edit.setObjectName("addKeywords")
        self.add_edit.setPlaceholderText("keywords to add, comma separated")
        self.remove_edit = QLineEdit()
        self.remove_edit.setObjectName("removeKeywords")
        self.remove_edit.setPlaceholderText("keywords to remove, comma separated")
        self.description_edit = QLineEdit()
        self.description_edit.setObjectName("batchDescription")
        self.description_edit.setPlaceholderText("one description for every selected file")
        form = QFormLayout()
        form.addRow("Add keywords", self.add_edit)
        form.addRow("Remove keywords", self.remove_edit)
        form.addRow("Set description", self.description_edit)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Apply")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        for edit in (self.add_edit, self.remove_edit, self.description_edit):
            edit.textChanged.connect(self._update)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self._update()

    def edit(self) -> BatchEdit:
        """The requested changes."""
        return BatchEdit(
            split_keywords(self.add_edit.text()),
            split_keywords(self.remove_edit.text()),
            self.description_edit.text().strip(),
        )

    @Slot()
    def _update(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(
            not self.edit().is_empty()
        )
