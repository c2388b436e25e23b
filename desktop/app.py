"""Wiring of the desktop app: parse arguments, build the window, run Qt."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from desktop import __version__

log = logging.getLogger(__name__)

SCREENSHOT_SIZE = (1280, 800)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the app's command line."""
    parser = argparse.ArgumentParser(prog="earmark-gui", description="Earmark desktop app")
    parser.add_argument("--version", action="version", version=f"earmark {__version__}")
    parser.add_argument("--db", type=Path, default=None, metavar="PATH", help="library database")
    parser.add_argument(
        "--screenshot",
        type=Path,
        default=None,
        metavar="PATH.png",
        help="render the main window offscreen at 1280x800 to PATH and exit",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the app; returns the process exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.screenshot is not None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from desktop.gui.main_window import MainWindow
    from desktop.library.paths import default_db_path

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Earmark")
    db_path = Path(args.db).expanduser() if args.db else default_db_path()
    window = MainWindow(db_path)
    window.resize(*SCREENSHOT_SIZE)
    if args.screenshot is not None:
        window.show()
        app.processEvents()
        ok = window.grab().save(str(args.screenshot), "PNG")
        window.close()
        if not ok:
            print(f"error: could not write {args.screenshot}", file=sys.stderr)
            return 1
        return 0
    window.show()
    return app.exec()
