"""The search bar: debounced live search, the search mode, and filters.

Filters: format family (an AIFF filter finds .aif, .aiff and .aifc), what to show (captioned,
not captioned, written by me, unreadable, missing) and length. Keys: Enter searches at once
and moves into the results, Down moves into the results, Esc clears the search (and stops
playback, through ``escapePressed``).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QSizePolicy, QVBoxLayout, QWidget

from desktop.library import FileQuery, SearchMode

log = logging.getLogger(__name__)

__all__ = ["DEBOUNCE_MS", "FORMAT_FAMILIES", "LENGTHS", "SHOW", "SearchBar"]

DEBOUNCE_MS = 250

_MODES = (
    ("Words", "text"),
    ("Describe", "semantic"),
    ("Both", "hybrid"),
)
#: Label -> the extensions of that family (what a sound designer means by "AIFF" or "Ogg").
FORMAT_FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Any format", ()),
    ("WAV", ("wav", "wave", "bwf", "rf64", "w64")),
    ("AIFF", ("aif", "aiff", "aifc")),
    ("FLAC", ("flac",)),
    ("MP3", ("mp3",)),
    ("Ogg / Opus", ("ogg", "oga", "opus")),
    ("CAF", ("caf",)),
    ("AU / SND", ("au", "snd")),
)
#: Label -> FileQuery fields for "Show".
SHOW: tuple[tuple[str, dict[str, Any]], ...] = (
    ("All files", {}),
    ("Captioned", {"captioned": True}),
    ("Not captioned", {"captioned": False, "statuses": ("ok",)}),
    ("Written by me", {"caption_source": "user"}),
    ("Unreadable", {"statuses": ("error",)}),
    ("Missing", {"statuses": ("missing",)}),
)
#: Label -> (min_duration, max_duration) in seconds.
LENGTHS: tuple[tuple[str, tuple[float | None, float | None]], ...] = (
    ("Any length", (None, None)),
    ("Under 1 s", (None, 1.0)),
    ("1 – 5 s", (1.0, 5.0)),
    ("5 – 30 s", (5.0, 30.0)),
    ("30 s – 2 min", (30.0, 120.0)),
    ("Over 2 min", (120.0, None)),
)


def _combo(name: str, items: tuple[tuple[str, object], ...], tooltip: str) -> QComboBox:
    combo = QComboBox()
    combo.setObjectName(name)
    for label, data in items:
        combo.addItem(label, data)
    combo.setToolTip(tooltip)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    combo.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    return combo


class SearchBar(QWidget):
    """Builds a :class:`FileQuery` from the search text, mode and filters.

    Signals:
        queryChanged(FileQuery): ``DEBOUNCE_MS`` after typing stops, or at once when a mode or
            filter changes or Enter is pressed.
        resultsRequested(): Down or Enter: the keyboard should go to the results.
        escapePressed(): Esc in the search box (it has cleared itself).
    """

    queryChanged = Signal(object)
    resultsRequested = Signal()
    escapePressed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchBar")
        self.edit = QLineEdit()
        self.edit.setObjectName("searchEdit")
        self.edit.setClearButtonEnabled(True)
        self.edit.setPlaceholderText("Search names, descriptions, keywords…")
        self.edit.setMinimumWidth(200)
        self.edit.installEventFilter(self)
        self.mode = _combo(
            "searchMode",
            _MODES,
            "Words: match names, descriptions and keywords.\n"
            "Describe: describe the sound and find it by meaning (uses the audio model).\n"
            "Both: words and meaning together.",
        )
        self.format = _combo("formatFilter", FORMAT_FAMILIES, "Only files of this format family")
        self.show_filter = _combo("showFilter", SHOW, "Which files to show")
        self.length = _combo("lengthFilter", LENGTHS, "Only sounds of this length")
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._emit)
        self.edit.textChanged.connect(self._timer.start)
        self.edit.returnPressed.connect(self._on_return)
        for combo in (self.mode, self.format, self.show_filter, self.length):
            combo.currentIndexChanged.connect(self._on_mode_or_filter)
        self._base = FileQuery()
        self._last_text = ""

        # Two rows: the search box keeps its width in a narrow window, the filters sit below.
        top = QHBoxLayout()
        top.setSpacing(6)
        top.addWidget(self.edit, 1)
        top.addWidget(self.mode)
        filters = QHBoxLayout()
        filters.setSpacing(6)
        for combo in (self.format, self.show_filter, self.length):
            filters.addWidget(combo)
        filters.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addLayout(filters)

    def set_scope(self, root_id: int | None, folder: str | None) -> None:
        """Limit the search to a root or folder (from the sidebar) and emit at once."""
        if (self._base.root_id, self._base.folder) == (root_id, folder):
            return
        self._base = replace(self._base, root_id=root_id, folder=folder)
        self._emit()

    def query(self) -> FileQuery:
        """The query the bar describes now."""
        text = self.edit.text().strip()
        mode: SearchMode = self.mode.currentData() if text else "text"
        low, high = self.length.currentData()
        show: dict[str, Any] = self.show_filter.currentData()
        return replace(
            self._base,
            text=text,
            mode=mode,
            formats=tuple(self.format.currentData()),
            min_duration=low,
            max_duration=high,
            captioned=show.get("captioned"),
            caption_source=show.get("caption_source"),
            statuses=show.get("statuses", ("ok", "error")),
        )

    def set_sort(self, query: FileQuery) -> None:
        """Remember the table's sort so the next query keeps it."""
        self._base = replace(self._base, sort=query.sort, descending=query.descending)

    def search_mode(self) -> str:
        """The chosen mode (``text``, ``semantic`` or ``hybrid``), even with no text."""
        return str(self.mode.currentData())

    def set_search_mode(self, mode: str) -> None:
        """Choose a mode (a restored setting); unknown modes are ignored."""
        index = self.mode.findData(mode)
        if index >= 0:
            self.mode.setCurrentIndex(index)

    def focus_search(self) -> None:
        """Ctrl+F: the keyboard goes to the search box, its text selected."""
        self.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.edit.selectAll()

    def apply_now(self) -> None:
        """Emit the query at once (skip the typing pause)."""
        self._emit()

    @Slot()
    def _on_mode_or_filter(self) -> None:
        if self.mode.currentData() == "semantic":
            self.edit.setPlaceholderText("Describe the sound: “rain on a tin roof”…")
        else:
            self.edit.setPlaceholderText("Search names, descriptions, keywords…")
        self._emit()

    @Slot()
    def _on_return(self) -> None:
        self._emit()
        self.resultsRequested.emit()

    @Slot()
    def _emit(self) -> None:
        self._timer.stop()
        text = self.edit.text().strip()
        if text and not self._last_text:
            # A new search starts in relevance order, whatever column was sorted before.
            self._base = replace(self._base, sort="rank", descending=False)
        self._last_text = text
        self.queryChanged.emit(self.query())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Down:
                if self._timer.isActive():
                    self._emit()
                self.resultsRequested.emit()
                return True
            if event.key() == Qt.Key.Key_Escape:
                if self.edit.text():
                    self.edit.clear()
                    self._emit()
                self.escapePressed.emit()
                return True
        return super().eventFilter(watched, event)
