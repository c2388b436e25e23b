"""How a controller asks the person something without knowing about dialogs.

A controller is given an :class:`Asker` (the window passes
:class:`desktop.gui.dialogs.confirm.MessageBoxAsker`); it describes the question as plain data
and gets the chosen answer back later through a callback, so no nested event loop runs while
the worker keeps reporting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["CANCEL", "Answer", "Asker", "Choice", "Question"]

#: The key of the answer given when the question is closed without choosing.
CANCEL = "cancel"

Answer = Callable[[str], None]


@dataclass(frozen=True)
class Choice:
    """One button of a question.

    Attributes:
        key: What the callback receives.
        label: The button's text (a verb: "Remove", "Keep mine").
        role: ``accept`` (the safe default), ``destructive`` (loses something), ``reject``.
    """

    key: str
    label: str
    role: Literal["accept", "destructive", "reject"] = "accept"


@dataclass(frozen=True)
class Question:
    """A question with its choices; the first ``reject`` choice is what Esc answers.

    Attributes:
        title: Window title.
        text: The question, one or two sentences.
        details: Longer explanation (what is affected, what is kept), or ``""``.
        choices: The buttons, in order.
        default: The key of the button Enter presses (never a destructive one).
    """

    title: str
    text: str
    choices: tuple[Choice, ...]
    details: str = ""
    default: str = CANCEL


class Asker(Protocol):
    """Puts a :class:`Question` to the person and calls ``on_answer(key)`` once."""

    def ask(self, question: Question, on_answer: Answer) -> None: ...
