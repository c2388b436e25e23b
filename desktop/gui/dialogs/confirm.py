"""Questions as window-modal message boxes (``open()``, no nested event loop)."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QPushButton, QWidget

from desktop.gui.asking import CANCEL, Answer, Question

log = logging.getLogger(__name__)

__all__ = ["MessageBoxAsker", "show_details"]

_ROLES = {
    "accept": QMessageBox.ButtonRole.AcceptRole,
    "destructive": QMessageBox.ButtonRole.DestructiveRole,
    "reject": QMessageBox.ButtonRole.RejectRole,
}


class MessageBoxAsker:
    """Implements :class:`~desktop.gui.asking.Asker` with ``QMessageBox``."""

    def __init__(self, parent: QWidget) -> None:
        self._parent = parent

    def ask(self, question: Question, on_answer: Answer) -> None:
        """Show the question; ``on_answer`` gets the chosen key (``"cancel"`` if closed)."""
        box = QMessageBox(self._parent)
        box.setObjectName("question")
        box.setWindowTitle(question.title)
        box.setIcon(QMessageBox.Icon.Question)
        box.setText(question.text)
        if question.details:
            box.setInformativeText(question.details)
        buttons: dict[QPushButton, str] = {}
        escape: QPushButton | None = None
        for choice in question.choices:
            button = box.addButton(choice.label, _ROLES[choice.role])
            button.setObjectName(f"answer-{choice.key}")
            buttons[button] = choice.key
            if choice.key == question.default:
                box.setDefaultButton(button)
            if choice.role == "reject" and escape is None:
                escape = button
        if escape is not None:
            box.setEscapeButton(escape)
        answered = [False]

        def finished(_code: int) -> None:
            if answered[0]:
                return
            answered[0] = True
            clicked = box.clickedButton()
            key = buttons.get(clicked, CANCEL) if isinstance(clicked, QPushButton) else CANCEL
            box.deleteLater()
            on_answer(key)

        box.finished.connect(finished)
        box.open()


def show_details(parent: QWidget, title: str, text: str) -> None:
    """Show a long message in full (the Details buttons)."""
    box = QMessageBox(parent)
    box.setObjectName("details")
    box.setWindowTitle(title)
    box.setIcon(QMessageBox.Icon.Information)
    box.setText(text)
    box.setTextInteractionFlags(box.textInteractionFlags())
    box.open()
    box.finished.connect(box.deleteLater)
