"""Help: the list of keyboard shortcuts, and About."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop import __version__

__all__ = ["ShortcutsDialog", "show_about"]


class ShortcutsDialog(QDialog):
    """A two-column table: what, and which keys."""

    def __init__(self, shortcuts: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.setMinimumSize(520, 480)
        self.table = QTableWidget(len(shortcuts), 2)
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for row, (what, keys) in enumerate(shortcuts):
            self.table.setItem(row, 0, QTableWidgetItem(what))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)


def show_about(parent: QWidget) -> QMessageBox:
    """Open the About box (window-modal); returns it."""
    box = QMessageBox(parent)
    box.setObjectName("aboutBox")
    box.setWindowTitle("About Earmark")
    box.setText(f"<b>Earmark {__version__}</b>")
    box.setInformativeText(
        "Find any sound by describing it. Earmark captions and tags your sound library on "
        "this computer with zero-shot AI (ZerAuCap: a CLAP audio-language model picks "
        "keywords, a language model writes the caption). MIT licence. AudioSet labels © "
        "Google, CC BY 4.0 / CC BY-SA 4.0."
    )
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.open()
    box.finished.connect(box.deleteLater)
    return box
