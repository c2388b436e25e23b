"""Where Earmark keeps its data: one folder, overridable with ``EARMARK_HOME``."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["data_dir", "default_db_path"]

APP_NAME = "Earmark"


def data_dir() -> Path:
    """Return the user data folder, creating it if needed.

    ``EARMARK_HOME`` wins; otherwise platformdirs' user data dir (e.g.
    ``~/.local/share/Earmark`` on Linux).
    """
    home = os.environ.get("EARMARK_HOME")
    path = (
        Path(home).expanduser()
        if home
        else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_path() -> Path:
    """Return the default library database path inside :func:`data_dir`."""
    return data_dir() / "library.db"
