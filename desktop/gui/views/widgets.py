"""Small widgets that keep the layout steady: a label that elides instead of growing."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QFrame,
    QSizePolicy,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

__all__ = ["ElidedLabel", "MiddleElideDelegate"]


class MiddleElideDelegate(QStyledItemDelegate):
    """Cuts long file names in the middle, so the take number and extension stay visible."""

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle  # type: ignore[attr-defined]


class ElidedLabel(QFrame):
    """One line of text that is cut with "…" to the space it has, never wider.

    A ``QLabel`` asks for the width of its text, so a longer status line pushes its
    neighbours (and whole splitter panes) sideways; this one asks for nothing beyond
    ``min_chars`` characters and shows the full text in its tooltip when it is cut.
    """

    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        min_chars: int = 8,
        align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft,
        elide: Qt.TextElideMode = Qt.TextElideMode.ElideRight,
    ) -> None:
        super().__init__(parent)
        self._text = text
        self._min_chars = min_chars
        self._align = align
        self._elide = elide
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        """The full text (not elided)."""
        return self._text

    def setText(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.update()

    def sizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        return QSize(metrics.averageCharWidth() * self._min_chars, metrics.height() + 4)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def is_elided(self) -> bool:
        """True when the text does not fit and is shown cut."""
        return self.fontMetrics().horizontalAdvance(self._text) > self.contentsRect().width()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        painter = QPainter(self)
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self._text, self._elide, rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(self._align | Qt.AlignmentFlag.AlignVCenter), shown)
        painter.end()
        self.setToolTip(self._text if shown != self._text else "")
