"""Path arithmetic for folders in the database (no I/O beyond ``abspath``)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["inside", "normpath", "prefix_range"]


def normpath(path: str | Path) -> str:
    """Absolute, user-expanded form of ``path``: how paths are stored."""
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies under it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def prefix_range(folder: str) -> tuple[str, str]:
    """Bounds such that ``lo <= path < hi`` selects everything strictly under ``folder``."""
    base = folder.rstrip(os.sep) + os.sep
    return base, base[:-1] + chr(ord(os.sep) + 1)
