"""The detail panel: waveform, metadata, the editable description and keywords, provenance.

Typed words are never dropped: whenever the panel is asked to show another file (or nothing)
while its editors hold an unsaved edit, it first emits ``editCommitted`` with that edit, so
moving through the table saves as you go (the way sound-library tools keep typed metadata).
Every save can be undone (Edit -> Undo, or the caption history), so saving is never a risk.
Enter in the description accepts (Shift+Enter starts a new line); Esc returns to the table
and keeps the edit.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.formatting import format_duration, format_size, provenance_text
from desktop.gui.records import FileDetails, SaveState
from desktop.gui.views.waveform import WaveformView
from desktop.gui.views.widgets import ElidedLabel
from desktop.library import FileRow

log = logging.getLogger(__name__)

__all__ = ["DetailPanel", "split_keywords"]


def split_keywords(text: str) -> list[str]:
    """Keywords typed comma-separated: trimmed, empty and repeated ones (any case) dropped."""
    seen: dict[str, str] = {}
    for part in text.split(","):
        word = " ".join(part.split())
        if word and word.casefold() not in seen:
            seen[word.casefold()] = word
    return list(seen.values())


class DetailPanel(QWidget):
    """Shows one file and edits its caption.

    Signals:
        editCommitted(file_id, text, keywords): an edit to store (Accept, Enter, or the
            panel moving on to another file).
        editingFinished(): Enter or Esc in an editor: give the keyboard back to the table.
        captionAgainRequested(list[FileRow]): caption this file again.
        historyRequested(FileRow): show the file's caption history.
        playRequested(): play or stop the file on show.
        draftKept(message): an edit that cannot be stored yet (keywords without a
            description) is kept in the panel for when the person comes back.
    """

    editCommitted = Signal(int, str, list)
    editingFinished = Signal()
    captionAgainRequested = Signal(object)
    historyRequested = Signal(object)
    playRequested = Signal()
    draftKept = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailPanel")
        self._file: FileRow | None = None
        self._loaded_text = ""
        self._loaded_keywords = ""
        self._drafts: dict[int, tuple[str, str]] = {}
        self._save_state: SaveState = ""
        self._provenance = ""

        self.title = ElidedLabel(
            "No file selected", min_chars=12, elide=Qt.TextElideMode.ElideMiddle
        )
        self.title.setObjectName("detailTitle")
        self.meta = ElidedLabel("", min_chars=12)
        self.meta.setObjectName("detailMeta")
        self.play_button = QPushButton("▶  Play")
        self.play_button.setObjectName("playButton")
        self.play_button.setToolTip("Play or stop (Space)")
        self.play_button.clicked.connect(self.playRequested)
        self.play_button.setFixedWidth(
            self.play_button.fontMetrics().horizontalAdvance("■  Stop") + 40
        )
        self.waveform = WaveformView(self)

        self.caption_edit = QPlainTextEdit()
        self.caption_edit.setObjectName("captionEdit")
        self.caption_edit.setPlaceholderText("Describe the sound…")
        self.caption_edit.setTabChangesFocus(True)
        self.caption_edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.caption_edit.setFixedHeight(64)
        self.caption_edit.installEventFilter(self)
        self.keywords_edit = QLineEdit()
        self.keywords_edit.setObjectName("keywordsEdit")
        self.keywords_edit.setPlaceholderText("keywords, comma separated")
        self.keywords_edit.installEventFilter(self)
        self.provenance = QLabel("")
        self.provenance.setObjectName("provenance")
        self.provenance.setWordWrap(True)
        self.provenance.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.provenance.setMinimumHeight(self.provenance.fontMetrics().height() * 2 + 4)
        self.accept_button = QPushButton("Save")
        self.accept_button.setObjectName("acceptButton")
        self.accept_button.setToolTip(
            "Save your description and keywords (Enter). Moving to another file saves too; "
            "Edit -> Undo puts the previous caption back."
        )
        self.again_button = QPushButton("Caption again")
        self.again_button.setObjectName("captionAgainButton")
        self.again_button.setToolTip("Queue this file to be captioned by the models again")
        self.history_button = QPushButton("History")
        self.history_button.setObjectName("historyButton")
        self.history_button.setToolTip("Every caption this file has had; restore any of them")
        # Fixed widths (the widest label each can show), so a label change moves nothing.
        for button, widest in (
            (self.accept_button, "Save"),
            (self.again_button, "Caption again"),
            (self.history_button, "History (88)"),
        ):
            button.setFixedWidth(button.fontMetrics().horizontalAdvance(widest) + 22)
        self.accept_button.clicked.connect(self.commit)
        self.again_button.clicked.connect(self._caption_again)
        self.history_button.clicked.connect(self._history)
        self.caption_edit.textChanged.connect(self._update_buttons)
        self.keywords_edit.textChanged.connect(self._update_buttons)

        head = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(self.title)
        titles.addWidget(self.meta)
        head.addLayout(titles, 1)
        head.addWidget(self.play_button, 0, Qt.AlignmentFlag.AlignTop)

        buttons = QHBoxLayout()
        buttons.addWidget(self.history_button)
        buttons.addStretch(1)
        buttons.addWidget(self.again_button)
        buttons.addWidget(self.accept_button)

        caption_label = QLabel("DESCRIPTION")
        caption_label.setObjectName("sectionLabel")
        keywords_label = QLabel("KEYWORDS")
        keywords_label.setObjectName("sectionLabel")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        layout.addLayout(head)
        layout.addWidget(self.waveform, 1)
        layout.addWidget(caption_label)
        layout.addWidget(self.caption_edit)
        layout.addWidget(keywords_label)
        layout.addWidget(self.keywords_edit)
        layout.addWidget(self.provenance)
        layout.addLayout(buttons)
        self._show_nothing()

    # -- what is shown -----------------------------------------------------------------------

    @property
    def file(self) -> FileRow | None:
        """The file on show."""
        return self._file

    def show_details(self, details: FileDetails | None) -> None:
        """Show a file (or nothing); an unsaved edit of the previous file is committed first.

        Showing the same file again (it was captioned or saved meanwhile) keeps an edit in
        progress in the editors and refreshes the rest.
        """
        row = details.row if details is not None else None
        same = row is not None and self._file is not None and row.id == self._file.id
        if not same:
            self._leave_current()
        if details is None:
            self._show_nothing()
            return
        assert row is not None
        self._file = row
        for widget in (self.caption_edit, self.keywords_edit, self.play_button):
            widget.setEnabled(True)
        self.title.setText(row.name)
        self.title.setToolTip(row.path)
        self.meta.setText("  ·  ".join(p for p in _meta_parts(row) if p))
        keep_edit = same and self.is_dirty()
        if not keep_edit:
            if details.pending is not None:
                text, keywords = details.pending.text, ", ".join(details.pending.keywords)
            elif details.record is not None:
                text = details.record.text
                keywords = ", ".join(k for k, _ in details.record.keywords)
            else:
                text, keywords = row.caption or "", ", ".join(row.keywords)
            self._set_editors(text, keywords)
            draft = self._drafts.pop(row.id, None)
            if draft is not None:
                self.caption_edit.setPlainText(draft[0])
                self.keywords_edit.setText(draft[1])
        if row.status == "error":
            self._provenance = f"This file could not be read: {row.error}"
        elif row.status == "missing":
            self._provenance = f"Missing from disk: {row.path}"
        else:
            self._provenance = provenance_text(details.record)
        self._save_state = details.pending.state if details.pending is not None else ""
        self.history_button.setText(
            f"History ({details.history})" if details.history else "History"
        )
        self.history_button.setEnabled(details.history > 0)
        self._show_provenance()
        self._update_buttons()

    def set_save_state(self, file_id: int, state: SaveState) -> None:
        """Say where the saving of this file's edit is (ignored for other files)."""
        if self._file is not None and self._file.id == file_id:
            self._save_state = state
            self._show_provenance()

    def is_dirty(self) -> bool:
        """True when the caption or keywords were edited and not committed."""
        return (
            self.caption_edit.toPlainText() != self._loaded_text
            or self.keywords_edit.text() != self._loaded_keywords
        )

    def keywords(self) -> list[str]:
        """Keywords typed in the editor, trimmed, duplicates removed."""
        return split_keywords(self.keywords_edit.text())

    def begin_edit(self) -> None:
        """Put the keyboard in the description, cursor at its end (F2 / Enter in the table)."""
        if self._file is None:
            return
        self.caption_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        cursor = self.caption_edit.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.caption_edit.setTextCursor(cursor)

    def set_playing(self, playing: bool) -> None:
        """Switch the play button's label (its width stays)."""
        self.play_button.setText("■  Stop" if playing else "▶  Play")

    @Slot()
    def commit(self) -> bool:
        """Emit the edit on show, if any; returns True when something was committed."""
        if self._file is None or not self.is_dirty():
            return False
        text = self.caption_edit.toPlainText().strip()
        keywords = self.keywords()
        if not text:
            if not self._loaded_text.strip():
                return False  # nothing to hang keywords on yet: stays in the editors
            # A description cannot be empty: keep the one it had, with the new keywords.
            text = self._loaded_text.strip()
            self.caption_edit.setPlainText(text)
        self.editCommitted.emit(self._file.id, text, keywords)
        self._loaded_text = self.caption_edit.toPlainText()
        self._loaded_keywords = self.keywords_edit.text()
        self._save_state = "saving"
        self._show_provenance()
        self._update_buttons()
        return True

    # -- internals ---------------------------------------------------------------------------

    def _leave_current(self) -> None:
        if self._file is None or not self.is_dirty():
            return
        if self.commit():
            return
        # Keywords typed for a file without a description: nothing can be stored yet, so the
        # draft waits in the panel for when the person comes back to this file.
        self._drafts[self._file.id] = (self.caption_edit.toPlainText(), self.keywords_edit.text())
        self.draftKept.emit(
            f"Your keywords for {self._file.name} are kept as a draft: add a description to "
            "save them."
        )

    def _show_nothing(self) -> None:
        self._file = None
        for widget in (self.caption_edit, self.keywords_edit, self.play_button):
            widget.setEnabled(False)
        self.title.setText("No file selected")
        self.title.setToolTip("")
        self.meta.setText("Select a sound, or drop files and folders here to add them.")
        self._set_editors("", "")
        self._provenance = ""
        self._save_state = ""
        self.history_button.setText("History")
        self._show_provenance()
        self.waveform.set_overview(None, "No file selected")
        self._update_buttons()

    def _show_provenance(self) -> None:
        if not self._save_state and self._file is not None and self.is_dirty():
            self.provenance.setText(
                "Not saved yet: Enter saves (Shift+Enter for a new line); moving to another "
                "file saves too."
            )
            return
        extra = {
            "saving": "Saving your edit…",
            "waiting": "Waiting for the library (another program is writing to it): your "
            "edit is kept and will be saved as soon as it is free.",
            "saved": "",
            "": "",
        }[self._save_state]
        self.provenance.setText(extra or self._provenance)

    def _set_editors(self, text: str, keywords: str) -> None:
        self._loaded_text = text
        self._loaded_keywords = keywords
        for edit in (self.caption_edit, self.keywords_edit):
            edit.blockSignals(True)
        self.caption_edit.setPlainText(text)
        self.keywords_edit.setText(keywords)
        for edit in (self.caption_edit, self.keywords_edit):
            edit.blockSignals(False)

    @Slot()
    def _update_buttons(self) -> None:
        if self._save_state in ("", "saved"):
            if self.is_dirty():
                self._save_state = ""  # typing again after a save
            self._show_provenance()
        row = self._file
        self.accept_button.setEnabled(
            row is not None and self.is_dirty() and bool(self.caption_edit.toPlainText().strip())
        )
        self.again_button.setEnabled(row is not None and row.status == "ok")
        if row is None:
            self.history_button.setEnabled(False)

    @Slot()
    def _caption_again(self) -> None:
        if self._file is not None:
            self.commit()  # what was typed is saved before anything can replace it
            self.captionAgainRequested.emit([self._file])

    @Slot()
    def _history(self) -> None:
        if self._file is not None:
            self.commit()
            self.historyRequested.emit(self._file)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if event.modifiers() & Qt.KeyboardModifier.ShiftModifier and (
                    watched is self.caption_edit
                ):
                    return False  # a new line in the description
                self.commit()
                self.editingFinished.emit()
                return True
            if key == Qt.Key.Key_Escape:
                self.editingFinished.emit()  # the edit stays; moving on saves it
                return True
        return super().eventFilter(watched, event)


def _meta_parts(row: FileRow) -> list[str]:
    channels = ""
    if row.channels:
        channels = {1: "mono", 2: "stereo"}.get(row.channels, f"{row.channels} ch")
    return [
        format_duration(row.duration_s),
        f"{row.sample_rate:,} Hz" if row.sample_rate else "",
        channels,
        f"{row.bit_depth}-bit" if row.bit_depth else "",
        row.format or row.ext.upper(),
        format_size(row.size),
    ]
