"""Wiring of the desktop app: parse arguments, build the window, run Qt."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from desktop import __version__

log = logging.getLogger(__name__)

SCREENSHOT_SIZE = (1280, 800)
# Longest wait for background work (waveform, sidebar counts) before a screenshot is taken.
SCREENSHOT_WAIT_S = 10.0


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
        help="render the main window offscreen to PATH and exit (size: --size)",
    )
    parser.add_argument(
        "--size",
        type=_size,
        default=SCREENSHOT_SIZE,
        metavar="WxH",
        help="window size in pixels (default 1280x800), e.g. 1024x680 or 1440x900",
    )
    parser.add_argument(
        "--search",
        default="",
        metavar="TEXT",
        help="start with this text in the search box (handy with --screenshot)",
    )
    return parser.parse_args(argv)


def _size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError:
        size = (0, 0)
    if not sep or min(size) < 200:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1024x680, not {text!r}")
    return size


def _no_display() -> bool:
    """True on Linux/BSD when no screen is reachable and no Qt platform was chosen.

    Without this Qt aborts the process with a plugin error that users cannot act on.
    """
    if sys.platform.startswith(("win", "darwin")) or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: Sequence[str] | None = None) -> int:
    """Start the app; returns the process exit code."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.screenshot is not None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    elif _no_display():
        print(
            "error: no display found (DISPLAY and WAYLAND_DISPLAY are unset). Run Earmark on a "
            "desktop session, use the 'earmark' command for headless work, or render a picture "
            "with --screenshot PATH.png.",
            file=sys.stderr,
        )
        return 1

    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication, QMessageBox

    from desktop import resources
    from desktop.gui.main_window import MainWindow
    from desktop.gui.style import apply_style
    from desktop.library.paths import default_db_path

    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    from desktop.gui.qt_fixes import install_refcount_guard

    install_refcount_guard()
    app.setApplicationName("Earmark")
    # The shell matches windows to the .desktop entry (and its icon) by this name.
    app.setDesktopFileName(resources.APP_ID)
    icon = QIcon()
    for png in resources.icon_pngs():
        icon.addFile(str(png))
    app.setWindowIcon(icon)
    apply_style(app)
    db_path = Path(args.db).expanduser() if args.db else default_db_path()
    try:
        # The screenshot shows a still state: no captioning starts behind it.
        window = MainWindow(
            db_path, autostart=args.screenshot is None, remember_layout=args.screenshot is None
        )
    except Exception as exc:  # an unreadable database: say so, touch nothing
        log.exception("cannot open library")
        message = f"Cannot open the library {db_path}: {exc}"
        if args.screenshot is None:
            QMessageBox.critical(None, "Earmark", message)
        print(f"error: {message}", file=sys.stderr)
        return 1
    if args.screenshot is not None or not window.ui_state.geometry:
        window.resize(*args.size)
    if args.search:
        window.search.edit.setText(args.search)
    if args.screenshot is not None:
        return _screenshot(app, window, args.screenshot)
    window.show()
    return app.exec()


def _screenshot(app: object, window: object, path: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from desktop.gui.main_window import MainWindow

    assert isinstance(app, QApplication) and isinstance(window, MainWindow)
    window.show()
    window.search.apply_now()  # apply the search now, not after the debounce
    app.processEvents()
    if window.file_model.rowCount() > 0:
        window.table.selectRow(0)
    settle(app, window)
    ok = window.grab().save(str(path), "PNG")
    dispose(app, window)
    if not ok:
        print(f"error: could not write {path}", file=sys.stderr)
        return 1
    return 0


def dispose(app: object, window: object) -> None:
    """Close a window and delete it now, on the GUI thread.

    A closed window left to Python's garbage collector may be collected on whatever thread
    happens to allocate next (the caption worker, a pool thread), and deleting Qt widgets off
    the GUI thread crashes. Scripts and tests that open several windows call this for each.
    """
    import gc

    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QWidget

    assert isinstance(window, QWidget)
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, int(QEvent.Type.DeferredDelete))
    gc.collect()
    del app


def settle(app: object, window: object, limit_s: float = SCREENSHOT_WAIT_S) -> None:
    """Process events until the window's background work landed (never past ``limit_s``)."""
    from PySide6.QtWidgets import QApplication

    from desktop.gui.main_window import MainWindow

    assert isinstance(app, QApplication) and isinstance(window, MainWindow)
    deadline = time.monotonic() + limit_s
    quiet = 0
    while time.monotonic() < deadline:
        app.processEvents()
        idle = (
            window.runner.pending == 0
            and not window.writer.pending
            and not window.library_actions.snapshot_pending
        )
        quiet = quiet + 1 if idle else 0
        if quiet >= 5:  # idle for a few rounds: deferred timers and repaints ran too
            break
        time.sleep(0.02)
    app.processEvents()
