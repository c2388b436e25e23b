"""What the centre of the window shows before the library holds any sound: a call to action."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

__all__ = ["EmptyState"]


class EmptyState(QWidget):
    """ "Add your sounds" with the two ways to do it (drop, or a button).

    Signals:
        addFolderRequested(), addFilesRequested().
    """

    addFolderRequested = Signal()
    addFilesRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        title = QLabel("Add your sounds")
        title.setObjectName("emptyTitle")
        # Lines broken by hand: a wrapped label in a centred box is given too little height.
        text = QLabel(
            "Drop folders or files anywhere on this window, or choose them below.\n"
            "Earmark lists them, reads their length and format, and writes a\n"
            "description and keywords for each one in the background, on this computer.\n"
            "Your sound files are never changed or moved."
        )
        text.setObjectName("emptyText")
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.add_folder = QPushButton("Add a folder…")
        self.add_folder.setObjectName("acceptButton")
        self.add_folder.clicked.connect(self.addFolderRequested)
        self.add_files = QPushButton("Add files…")
        self.add_files.clicked.connect(self.addFilesRequested)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.add_folder)
        buttons.addWidget(self.add_files)
        buttons.addStretch(1)
        hint = QLabel("Ctrl+O adds a folder · F1 lists every shortcut")
        hint.setObjectName("emptyHint")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        box = QVBoxLayout()
        box.setSpacing(14)
        box.addWidget(title, 0, Qt.AlignmentFlag.AlignCenter)
        box.addWidget(text)
        box.addLayout(buttons)
        box.addWidget(hint)
        inner = QWidget()
        inner.setLayout(box)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(inner, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
