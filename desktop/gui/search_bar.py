"""The search bar: debounced live search, a "describe the sound" toggle, and filters."""

from __future__ import annotations

import logging
from dataclasses import replace

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QWidget

from desktop.library import FileQuery, SearchMode

log = logging.getLogger(__name__)

__all__ = ["DEBOUNCE_MS", "SearchBar"]

DEBOUNCE_MS = 250

_MODES = (
    ("Words", "text"),
    ("Describe", "semantic"),
    ("Both", "hybrid"),
)
_FORMATS = ("Any format", "wav", "flac", "aiff", "mp3", "ogg")
_CAPTIONED = (("All files", None), ("Captioned", True), ("Not captioned", False))


class SearchBar(QWidget):
    """Builds a :class:`FileQuery` from the search text, mode and filters.

    Signals:
        queryChanged(FileQuery): emitted ``DEBOUNCE_MS`` after typing stops, or at once when
            a mode or filter changes or Enter is pressed.
    """

    queryChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchBar")
        self.edit = QLineEdit()
        self.edit.setObjectName("searchEdit")
        self.edit.setClearButtonEnabled(True)
        self.edit.setPlaceholderText("Search names, descriptions and keywords…")
        self.mode = QComboBox()
        for label, mode in _MODES:
            self.mode.addItem(label, mode)
        self.mode.setToolTip(
            "Words: match names, descriptions and keywords.\n"
            "Describe: describe the sound and find it by meaning (uses the audio model).\n"
            "Both: words and meaning together."
        )
        self.format = QComboBox()
        for fmt in _FORMATS:
            self.format.addItem(fmt.upper() if fmt != _FORMATS[0] else fmt, fmt)
        self.captioned = QComboBox()
        for label, value in _CAPTIONED:
            self.captioned.addItem(label, value)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._emit)
        self.edit.textChanged.connect(self._timer.start)
        self.edit.returnPressed.connect(self._emit)
        for combo in (self.mode, self.format, self.captioned):
            combo.currentIndexChanged.connect(self._on_mode_or_filter)
        self._base = FileQuery()
        self._last_text = ""

        for combo in (self.mode, self.format, self.captioned):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.mode)
        layout.addWidget(self.format)
        layout.addWidget(self.captioned)

    def set_scope(self, root_id: int | None, folder: str | None) -> None:
        """Limit the search to a root or folder (from the sidebar) and emit at once."""
        if (self._base.root_id, self._base.folder) == (root_id, folder):
            return
        self._base = replace(self._base, root_id=root_id, folder=folder)
        self._emit()

    def query(self) -> FileQuery:
        """The query the bar describes now."""
        text = self.edit.text().strip()
        fmt = self.format.currentData()
        mode: SearchMode = self.mode.currentData() if text else "text"
        return replace(
            self._base,
            text=text,
            mode=mode,
            formats=(fmt,) if fmt != _FORMATS[0] else (),
            captioned=self.captioned.currentData(),
            # "rank" is relevance for a search and name order without one.
            sort=self._base.sort,
            descending=self._base.descending,
        )

    def set_sort(self, query: FileQuery) -> None:
        """Remember the table's sort so the next query keeps it."""
        self._base = replace(self._base, sort=query.sort, descending=query.descending)

    def is_semantic(self) -> bool:
        """True when the chosen mode needs the text encoder."""
        return bool(self.edit.text().strip()) and self.mode.currentData() in ("semantic", "hybrid")

    @Slot()
    def _on_mode_or_filter(self) -> None:
        if self.mode.currentData() == "semantic":
            self.edit.setPlaceholderText("Describe the sound: “rain on a tin roof”…")
        else:
            self.edit.setPlaceholderText("Search names, descriptions and keywords…")
        self._emit()

    @Slot()
    def _emit(self) -> None:
        self._timer.stop()
        text = self.edit.text().strip()
        if text and not self._last_text:
            # A new search starts in relevance order, whatever column was sorted before.
            self._base = replace(self._base, sort="rank", descending=False)
        self._last_text = text
        self.queryChanged.emit(self.query())
