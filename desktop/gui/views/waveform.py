"""The waveform widget: an overview painted as a mirrored filled shape with a playhead."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

__all__ = ["WaveformView"]


class WaveformView(QWidget):
    """Paints an overview as a mirrored filled shape with a centre line and a playhead."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._overview: np.ndarray | None = None
        self._message = "No file selected"
        self._playhead: float | None = None
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_overview(self, overview: np.ndarray | None, message: str = "") -> None:
        """Show an overview, or a message (``"Loading…"``, an error) when it is ``None``."""
        self._overview = overview
        self._message = message
        self._playhead = None
        self.update()

    def overview(self) -> np.ndarray | None:
        """The overview on show, if any."""
        return self._overview

    def set_playhead(self, fraction: float | None) -> None:
        """Move the playhead to ``fraction`` of the file (``None`` or negative hides it)."""
        self._playhead = fraction if fraction is not None and fraction >= 0 else None
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#15181d"))
        painter.drawRoundedRect(rect, 6, 6)
        mid = rect.center().y()
        painter.setPen(QPen(QColor("#2b313a"), 1))
        painter.drawLine(QPointF(rect.left() + 6, mid), QPointF(rect.right() - 6, mid))
        data = self._overview
        if data is None or len(data) == 0:
            painter.setPen(QColor("#7d8590"))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self._message or "No audio")
            painter.end()
            return
        inner = rect.adjusted(8, 8, -8, -8)
        half = inner.height() / 2
        n = len(data)
        xs = [inner.left() + inner.width() * (i + 0.5) / n for i in range(n)]
        path = QPainterPath()
        path.moveTo(xs[0], mid - float(data[0, 1]) * half)
        for x, value in zip(xs[1:], data[1:, 1]):
            path.lineTo(x, mid - float(value) * half)
        for x, value in zip(reversed(xs), reversed(data[:, 0])):
            path.lineTo(x, mid - float(value) * half)
        path.closeSubpath()
        gradient = QLinearGradient(0, inner.top(), 0, inner.bottom())
        gradient.setColorAt(0.0, QColor("#f2a541"))
        gradient.setColorAt(0.5, QColor("#e0713a"))
        gradient.setColorAt(1.0, QColor("#f2a541"))
        painter.setPen(QPen(QColor("#f6c177"), 0.8))
        painter.setBrush(gradient)
        painter.drawPath(path)
        if self._playhead is not None:
            x = inner.left() + inner.width() * min(max(self._playhead, 0.0), 1.0)
            painter.setPen(QPen(QColor("#e6edf3"), 1.5))
            painter.drawLine(QPointF(x, rect.top() + 4), QPointF(x, rect.bottom() - 4))
        painter.end()
