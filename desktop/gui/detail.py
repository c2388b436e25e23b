"""The detail panel: waveform, metadata, editable caption and keywords, provenance."""

from __future__ import annotations

import datetime
import logging

from PySide6.QtCore import Qt, Signal, Slot
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

from desktop.gui.file_model import format_duration, format_size
from desktop.gui.waveform import WaveformView
from desktop.library import CaptionRecord, FileRow

log = logging.getLogger(__name__)

__all__ = ["DetailPanel", "provenance_text"]


def provenance_text(record: CaptionRecord | None) -> str:
    """One line saying who wrote the caption, with which models and settings, and when."""
    if record is None:
        return "No caption yet. Captioning runs in the background once the file is queued."
    when = datetime.datetime.fromtimestamp(record.created_at).strftime("%Y-%m-%d %H:%M")
    if record.source == "user":
        return f"Written by you · {when}"
    models = " + ".join(m for m in (record.clap, record.llm) if m) or "unknown models"
    details = []
    params = record.params or {}
    for key in ("preset", "window_policy", "device"):
        value = params.get(key)
        if value:
            details.append(f"{key.replace('_', ' ')} {value}")
    extra = f" · {', '.join(details)}" if details else ""
    return f"AI caption · {models}{extra} · {when}"


class DetailPanel(QWidget):
    """Shows one file; edits are saved only on Accept.

    Signals:
        acceptRequested(file_id, text, keywords): the user accepted their edit.
        regenerateRequested(file_id): caption this file again (replacing even a user caption).
        playRequested(): play or stop the file on show.
    """

    acceptRequested = Signal(int, str, list)
    regenerateRequested = Signal(int)
    playRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailPanel")
        self._file: FileRow | None = None
        self._loaded_text = ""
        self._loaded_keywords = ""

        self.title = QLabel("No file selected")
        self.title.setObjectName("detailTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meta = QLabel("")
        self.meta.setObjectName("detailMeta")
        self.play_button = QPushButton("▶  Play")
        self.play_button.setObjectName("playButton")
        self.play_button.setToolTip("Play or stop (Space)")
        self.play_button.clicked.connect(self.playRequested)
        self.waveform = WaveformView(self)

        self.caption_edit = QPlainTextEdit()
        self.caption_edit.setObjectName("captionEdit")
        self.caption_edit.setPlaceholderText("Describe the sound…")
        self.caption_edit.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.caption_edit.setMaximumHeight(72)
        self.keywords_edit = QLineEdit()
        self.keywords_edit.setPlaceholderText("keywords, comma separated")
        self.provenance = QLabel("")
        self.provenance.setObjectName("provenance")
        self.provenance.setWordWrap(True)
        self.accept_button = QPushButton("Accept")
        self.accept_button.setObjectName("acceptButton")
        self.accept_button.setToolTip("Save your caption; later batches will not overwrite it")
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setToolTip("Queue this file to be captioned again")
        self.accept_button.clicked.connect(self._accept)
        self.regenerate_button.clicked.connect(self._regenerate)
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
        buttons.addWidget(self.provenance, 1)
        buttons.addWidget(self.regenerate_button)
        buttons.addWidget(self.accept_button)

        caption_label = QLabel("DESCRIPTION")
        caption_label.setObjectName("sectionLabel")
        keywords_label = QLabel("KEYWORDS")
        keywords_label.setObjectName("sectionLabel")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        layout.addLayout(head)
        layout.addWidget(self.waveform, 1)
        layout.addWidget(caption_label)
        layout.addWidget(self.caption_edit)
        layout.addWidget(keywords_label)
        layout.addWidget(self.keywords_edit)
        layout.addLayout(buttons)
        self.show_file(None, None)

    @property
    def file(self) -> FileRow | None:
        """The file on show."""
        return self._file

    def show_file(self, row: FileRow | None, record: CaptionRecord | None) -> None:
        """Show a file (or nothing) and its current caption; discards unsaved edits."""
        self._file = row
        enabled = row is not None
        for widget in (self.caption_edit, self.keywords_edit, self.play_button):
            widget.setEnabled(enabled)
        if row is None:
            self.title.setText("No file selected")
            self.meta.setText("Select a sound, or drop files and folders here to add them.")
            self._set_editors("", "")
            self.provenance.setText("")
            self.waveform.set_overview(None, "No file selected")
            self._update_buttons()
            return
        self.title.setText(row.name)
        self.title.setToolTip(row.path)
        parts = [
            format_duration(row.duration_s),
            f"{row.sample_rate:,} Hz" if row.sample_rate else "",
            {1: "mono", 2: "stereo"}.get(row.channels or 0, f"{row.channels} ch")
            if row.channels
            else "",
            f"{row.bit_depth}-bit" if row.bit_depth else "",
            row.format or row.ext.upper(),
            format_size(row.size),
        ]
        self.meta.setText("  ·  ".join(p for p in parts if p))
        text = record.text if record else (row.caption or "")
        keywords = [k for k, _ in record.keywords] if record else list(row.keywords)
        self._set_editors(text, ", ".join(keywords))
        if row.status == "error":
            self.provenance.setText(f"This file could not be read: {row.error}")
        else:
            self.provenance.setText(provenance_text(record))
        self._update_buttons()

    def is_dirty(self) -> bool:
        """True when the caption or keywords were edited and not accepted."""
        return (
            self.caption_edit.toPlainText() != self._loaded_text
            or self.keywords_edit.text() != self._loaded_keywords
        )

    def keywords(self) -> list[str]:
        """Keywords typed in the editor, trimmed, duplicates removed."""
        seen: dict[str, None] = {}
        for part in self.keywords_edit.text().split(","):
            word = part.strip()
            if word and word.lower() not in {k.lower() for k in seen}:
                seen[word] = None
        return list(seen)

    def set_playing(self, playing: bool) -> None:
        """Switch the play button's label."""
        self.play_button.setText("■  Stop" if playing else "▶  Play")

    def _set_editors(self, text: str, keywords: str) -> None:
        self._loaded_text = text
        self._loaded_keywords = keywords
        self.caption_edit.setPlainText(text)
        self.keywords_edit.setText(keywords)

    @Slot()
    def _update_buttons(self) -> None:
        has_file = self._file is not None
        text = self.caption_edit.toPlainText().strip()
        self.accept_button.setEnabled(has_file and bool(text) and self.is_dirty())
        self.regenerate_button.setEnabled(
            has_file and self._file is not None and self._file.status == "ok"
        )

    @Slot()
    def _accept(self) -> None:
        if self._file is None:
            return
        text = self.caption_edit.toPlainText().strip()
        if not text:
            return
        self.acceptRequested.emit(self._file.id, text, self.keywords())

    def mark_saved(self) -> None:
        """Call after the edit was stored: the current text becomes the baseline."""
        self._loaded_text = self.caption_edit.toPlainText()
        self._loaded_keywords = self.keywords_edit.text()
        self._update_buttons()

    @Slot()
    def _regenerate(self) -> None:
        if self._file is not None:
            self.regenerateRequested.emit(self._file.id)
