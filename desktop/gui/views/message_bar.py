"""A bar over the table that keeps a problem readable until the person dismisses it.

The status bar is for passing news ("Caption saved."); anything that went wrong (an export
that failed, a bad search, a library that cannot be written) stays here, elided to one line,
with Details for the whole text, so it cannot flash away unread.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy, QWidget

from desktop.gui.views.widgets import ElidedLabel

__all__ = ["MessageBar"]


class MessageBar(QWidget):
    """One persistent message with Details and Dismiss.

    Signals:
        detailsRequested(text): show the whole message.
    """

    detailsRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.label = ElidedLabel("", min_chars=10)
        self.label.setObjectName("messageText")
        self.details = QPushButton("Details…")
        self.details.clicked.connect(self._details)
        self.dismiss = QPushButton("Dismiss")
        self.dismiss.setObjectName("dismissMessage")
        self.dismiss.clicked.connect(self.clear)
        for button in (self.details, self.dismiss):
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.details)
        layout.addWidget(self.dismiss)
        self.setVisible(False)

    def text(self) -> str:
        """The message on show ("" when none)."""
        return self.label.text()

    @Slot(str)
    def show_problem(self, text: str) -> None:
        """Show ``text`` until dismissed (a newer problem replaces it)."""
        if not text:
            return
        self.label.setText(text)
        self.setVisible(True)

    @Slot()
    def clear(self) -> None:
        """Hide the message."""
        self.label.setText("")
        self.setVisible(False)

    @Slot()
    def _details(self) -> None:
        self.detailsRequested.emit(self.label.text())
