"""The main window (placeholder until the full GUI lands)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget


class MainWindow(QMainWindow):
    """Earmark's main window over one library database."""

    def __init__(self, db_path: Path) -> None:
        super().__init__()
        self.db_path = db_path
        self.setWindowTitle("Earmark")
        central = QWidget(self)
        layout = QVBoxLayout(central)
        label = QLabel(
            "Your library is empty.\nDrop sound files or folders here to caption them.", central
        )
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(label)
        self.setCentralWidget(central)
        self.statusBar().showMessage(f"Library: {db_path}")
