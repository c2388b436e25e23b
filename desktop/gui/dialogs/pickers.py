"""File and folder pickers, in one place (tests replace these functions to answer them)."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QWidget

__all__ = [
    "AUDIO_FILTER",
    "choose_directory",
    "choose_files",
    "choose_open_file",
    "choose_save_file",
]

AUDIO_FILTER = (
    "Sound files (*.wav *.wave *.bwf *.flac *.aif *.aiff *.aifc *.mp3 *.ogg *.oga *.opus "
    "*.caf *.w64 *.rf64 *.au *.snd);;All files (*)"
)


def choose_directory(parent: QWidget | None, title: str, start: str = "") -> str:
    """A folder the person picks, or ``""``."""
    return QFileDialog.getExistingDirectory(parent, title, start)


def choose_files(parent: QWidget | None, title: str, filter_: str = AUDIO_FILTER) -> list[str]:
    """Files the person picks (possibly none)."""
    paths, _ = QFileDialog.getOpenFileNames(parent, title, "", filter_)
    return list(paths)


def choose_open_file(parent: QWidget | None, title: str, filter_: str) -> str:
    """One existing file the person picks, or ``""``."""
    path, _ = QFileDialog.getOpenFileName(parent, title, "", filter_)
    return path


def choose_save_file(parent: QWidget | None, title: str, start: str, filter_: str) -> str:
    """Where the person wants a file written, or ``""``."""
    path, _ = QFileDialog.getSaveFileName(parent, title, start, filter_)
    return path
