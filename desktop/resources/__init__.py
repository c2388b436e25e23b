"""The desktop app's data files: icon, ``.desktop`` entry and AppStream metainfo.

They are package data, found through :mod:`importlib.resources` in a checkout, an installed
wheel or a frozen bundle alike. The icon (SVG and PNGs in the freedesktop ``hicolor`` layout)
was drawn for Earmark and is CC0-1.0 (see ``README.md`` here). Qt-free: the app builds its
``QIcon`` from :func:`icon_pngs`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = [
    "APP_ID",
    "ICON_SIZES",
    "desktop_entry",
    "icon_png",
    "icon_pngs",
    "icon_svg",
    "metainfo",
    "resource_dir",
]

# The reverse-DNS id that names the .desktop file, the icon and the AppStream component; the
# desktop shell matches the running window to its entry through it (setDesktopFileName).
APP_ID = "io.github.earmark.Earmark"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def resource_dir() -> Path:
    """The folder holding these files.

    Raises:
        RuntimeError: If Earmark was imported from a zip archive, where the files have no path.
    """
    root = files(__name__)
    if not isinstance(root, Path):
        raise RuntimeError(
            "Earmark's desktop files are inside an archive; install Earmark as files "
            "(pip install, or the one-folder bundle)"
        )
    return root


def icon_svg() -> Path:
    """The scalable icon."""
    return resource_dir() / f"{APP_ID}.svg"


def icon_png(size: int) -> Path:
    """The PNG icon of ``size`` x ``size`` pixels (one of :data:`ICON_SIZES`)."""
    if size not in ICON_SIZES:
        raise ValueError(f"no {size} px icon; sizes are {', '.join(map(str, ICON_SIZES))}")
    return resource_dir() / "icons" / f"{size}x{size}" / f"{APP_ID}.png"


def icon_pngs() -> list[Path]:
    """Every PNG icon, smallest first."""
    return [icon_png(size) for size in ICON_SIZES]


def desktop_entry() -> Path:
    """The freedesktop ``.desktop`` file (it starts ``earmark-gui``)."""
    return resource_dir() / f"{APP_ID}.desktop"


def metainfo() -> Path:
    """The AppStream metainfo (software centres read it)."""
    return resource_dir() / f"{APP_ID}.metainfo.xml"
