"""Render the app icon's PNG sizes from its SVG (run after editing the SVG).

``python packaging/render_icons.py`` writes ``desktop/resources/icons/NxN/APP_ID.png`` for every
size in ``desktop.resources.ICON_SIZES``, in the freedesktop hicolor layout. Qt's own SVG
renderer draws them, so no image tool is needed. The 16 px one is drawn from
``packaging/icon-16.svg``, the same picture with fewer, pixel-aligned bars (five bars blur into
one at that size).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from desktop import resources


def render(svg: Path, size: int, out: Path) -> None:
    """Draw ``svg`` into a transparent ``size`` x ``size`` PNG at ``out``."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"error: Qt cannot read {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"error: cannot write {out}")


def main() -> int:
    """Render every size; print what was written."""
    app = QGuiApplication.instance() or QGuiApplication([])
    small = Path(__file__).with_name("icon-16.svg")
    for size in resources.ICON_SIZES:
        svg = small if size <= 16 else resources.icon_svg()
        out = resources.resource_dir() / "icons" / f"{size}x{size}" / f"{resources.APP_ID}.png"
        render(svg, size, out)
        print(out)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
