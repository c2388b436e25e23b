"""The window's remembered layout: geometry, splitters, table columns, search mode, options.

Kept apart from :class:`~desktop.settings.AppSettings` (which the worker reads): this is
only how the window looked when it was closed. Qt's ``saveState`` blobs are stored as base64
in ``<data dir>/window.json``; an unreadable file is ignored (the defaults are fine).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.library.paths import data_dir

log = logging.getLogger(__name__)

__all__ = ["UI_STATE_VERSION", "UiState"]

#: Bump when the file table's columns change, so an old header layout is not applied.
UI_STATE_VERSION = 2


@dataclass
class UiState:
    """What the window restores at start.

    Attributes:
        version: :data:`UI_STATE_VERSION` when saved.
        geometry: ``QWidget.saveGeometry()``, base64.
        window_state: ``QMainWindow.saveState()``, base64.
        table_header: The file table's ``QHeaderView.saveState()`` (widths, order, hidden
            columns, sort), base64.
        splitters: Splitter name -> ``QSplitter.saveState()``, base64.
        search_mode: ``text``, ``semantic`` or ``hybrid``.
        autoplay: Play a file as soon as it is selected.
    """

    version: int = UI_STATE_VERSION
    geometry: str = ""
    window_state: str = ""
    table_header: str = ""
    splitters: dict[str, str] = field(default_factory=dict)
    search_mode: str = "text"
    autoplay: bool = False

    @staticmethod
    def path() -> Path:
        """``<data dir>/window.json``."""
        return data_dir() / "window.json"

    @classmethod
    def load(cls, path: Path | None = None) -> UiState:
        """Read the saved state (defaults when absent, unreadable or from another version)."""
        path = path or cls.path()
        try:
            raw: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.info("window state %s unreadable (%s); using defaults", path, exc)
            return cls()
        if not isinstance(raw, dict) or raw.get("version") != UI_STATE_VERSION:
            return cls()
        known = {f.name for f in dataclasses.fields(cls)}
        try:
            state = cls(**{k: v for k, v in raw.items() if k in known})
        except TypeError:
            return cls()
        if not isinstance(state.splitters, dict):
            state.splitters = {}
        return state

    def save(self, path: Path | None = None) -> None:
        """Write atomically; failures are logged, never raised (closing must not fail)."""
        path = path or self.path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(dataclasses.asdict(self), indent=1), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            log.info("window state not saved: %s", exc)
            with contextlib.suppress(OSError):
                path.with_name(path.name + ".tmp").unlink()
