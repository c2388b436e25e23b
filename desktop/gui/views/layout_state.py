"""Putting a remembered layout back on the window's widgets, and reading it off them."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QHeaderView, QMainWindow, QSplitter

from desktop.gui.ui_state import UiState

__all__ = ["capture_layout", "restore_layout"]


def _blob(text: str) -> QByteArray:
    return QByteArray.fromBase64(text.encode())


def _text(data: QByteArray) -> str:
    return bytes(data.toBase64().data()).decode()


def restore_layout(
    state: UiState, window: QMainWindow, header: QHeaderView, splitters: Sequence[QSplitter]
) -> bool:
    """Apply ``state``; returns whether the table's columns were restored."""
    if state.geometry:
        window.restoreGeometry(_blob(state.geometry))
    if state.window_state:
        window.restoreState(_blob(state.window_state))
    for splitter in splitters:
        saved = state.splitters.get(splitter.objectName())
        if saved:
            splitter.restoreState(_blob(saved))
    return bool(state.table_header) and header.restoreState(_blob(state.table_header))


def capture_layout(
    state: UiState, window: QMainWindow, header: QHeaderView, splitters: Sequence[QSplitter]
) -> None:
    """Read the widgets' layout into ``state``."""
    state.geometry = _text(window.saveGeometry())
    state.window_state = _text(window.saveState())
    state.table_header = _text(header.saveState())
    state.splitters = {s.objectName(): _text(s.saveState()) for s in splitters}
