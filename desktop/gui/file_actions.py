"""Things done to files from the table's context menu that need no library: reveal, copy."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

from desktop.library import FileRow

log = logging.getLogger(__name__)

__all__ = ["copy_captions", "reveal_in_file_manager"]


def reveal_in_file_manager(path: str) -> bool:
    """Show the file in the system file manager (selected where the platform allows it)."""
    target = Path(path)
    try:
        if sys.platform == "darwin":
            subprocess.Popen(["open", "-R", str(target)])
            return True
        if sys.platform == "win32":
            subprocess.Popen(["explorer", "/select,", str(target)])
            return True
    except OSError as exc:
        log.info("reveal failed: %s", exc)
    # Elsewhere there is no portable "select this file": open its folder.
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(target.parent)))


def copy_captions(rows: Sequence[FileRow]) -> str:
    """Put the rows' captions on the clipboard, one per line; returns the text copied."""
    text = "\n".join(r.caption for r in rows if r.caption)
    QGuiApplication.clipboard().setText(text)
    return text
