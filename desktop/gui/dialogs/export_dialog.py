"""The CSV export dialog: whole library, current search or selection; optional Excel BOM."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.dialogs import pickers

log = logging.getLogger(__name__)

__all__ = ["ExportDialog", "ExportScope"]

ExportScope = Literal["library", "search", "selection"]


class ExportDialog(QDialog):
    """Asks what to export and where; read :attr:`scope`, :attr:`path` and :attr:`bom`."""

    def __init__(
        self,
        counts: dict[str, int],
        default_path: Path,
        scope: ExportScope = "search",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export CSV")
        self._choices: dict[str, QRadioButton] = {}
        group = QButtonGroup(self)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Export one row per file, with columns sound-library tools map:"))
        labels = {
            "library": "Whole library",
            "search": "Files shown now (current search and filters)",
            "selection": "Selected files",
        }
        for key, label in labels.items():
            button = QRadioButton(f"{label}  ({counts.get(key, 0):,})")
            button.setEnabled(counts.get(key, 0) > 0)
            group.addButton(button)
            self._choices[key] = button
            layout.addWidget(button)
        chosen = self._choices.get(scope)
        if chosen is None or not chosen.isEnabled():
            chosen = next((b for b in self._choices.values() if b.isEnabled()), None)
        if chosen is not None:
            chosen.setChecked(True)
        self.bom_box = QCheckBox("Add a byte-order mark (for Excel)")
        layout.addWidget(self.bom_box)
        row = QHBoxLayout()
        self.path_edit = QLineEdit(str(default_path))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        layout.addLayout(row)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    @property
    def scope(self) -> ExportScope:
        """What to export."""
        for key, button in self._choices.items():
            if button.isChecked():
                return key  # type: ignore[return-value]
        return "library"

    @property
    def path(self) -> Path:
        """Where to write the CSV."""
        return Path(self.path_edit.text()).expanduser()

    @property
    def bom(self) -> bool:
        """Whether to write a UTF-8 BOM."""
        return self.bom_box.isChecked()

    def _browse(self) -> None:
        path = pickers.choose_save_file(self, "Export CSV", self.path_edit.text(), "CSV (*.csv)")
        if path:
            self.path_edit.setText(path)
