"""Render the app's main states to PNG files (offscreen Qt), for docs/screens/.

    python scripts/screenshots.py [--out docs/screens]

Everything is built in a temporary folder: the demo library of synthesised sounds
(``desktop.gui.demo``, descriptions written by a person and stored as user captions) and the
tiny random-weight test models. Each state is reached the way a person would reach it (keys,
clicks, a real model load), nothing is painted in:

- ``first-launch.png``: an empty library;
- ``captioning.png``: the tiny models are loaded and start on the queue (held on its first
  file while the picture is taken, so the state is the one on screen mid-run and no
  random-weight caption shows);
- ``editing.png``: a description and keywords being typed for an uncaptioned file;
- ``model-load-failed.png``: the language model chosen as the audio model, refused by the
  real loader; the reason stays in the queue panel and over the table;
- ``narrow-1024x680.png``: the same library in a small window;
- ``library-1024x680.png`` and ``library-1440x900.png``: ``python main.py --screenshot``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WAIT_S = 60.0


class HeldCaptioner:
    """The real captioner, made to wait before one file until released (for a still frame)."""

    def __init__(self, inner: Any, hold_name: str) -> None:
        self._inner = inner
        self._hold_name = hold_name
        self.held = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def caption_many(self, paths: Sequence[str], batch_size: int = 1) -> Iterator[Any]:
        for path in paths:
            if Path(path).name == self._hold_name:
                self.held.set()
                self.release.wait(WAIT_S)
            yield from self._inner.caption_many([path], batch_size=1)


def _wait(app: Any, condition: Any, limit_s: float = WAIT_S) -> None:
    import time

    end = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > end:
            raise SystemExit("screenshots: timed out waiting for the window")
        app.processEvents()
        time.sleep(0.01)


def _grab(app: Any, window: Any, path: Path) -> None:
    from desktop.app import settle

    settle(app, window)
    if not window.grab().save(str(path), "PNG"):
        raise SystemExit(f"screenshots: could not write {path}")
    print(f"wrote {path}")


def _window(db: Path, size: tuple[int, int], **kwargs: Any) -> Any:
    from desktop.gui.main_window import MainWindow
    from desktop.gui.ui_state import UiState

    window = MainWindow(db, autostart=False, ui_state=UiState(), remember_layout=False, **kwargs)
    window.resize(*size)
    window.show()
    return window


def _select(app: Any, window: Any, name: str) -> None:
    model = window.file_model
    _wait(app, lambda: model.rowCount() > 0)
    for row in range(model.rowCount()):
        if model.index(row, 0).data() == name:
            window.table.selectRow(row)
            window.table.setFocus()
            return
    raise SystemExit(f"screenshots: {name} is not in the demo library")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screens")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="earmark-screens-"))
    os.environ["EARMARK_HOME"] = str(work / "home")  # no settings or layout of the user's

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from captioner.testing.tiny_models import build_tiny_models
    from desktop import app as desktop_app
    from desktop.gui.demo import build_demo_library
    from desktop.gui.style import apply_style
    from desktop.gui.worker import load_captioner
    from desktop.settings import AppSettings

    qt = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(qt, QApplication)
    apply_style(qt)
    try:
        tiny = work / "tiny"
        build_tiny_models(tiny)
        demo = work / "demo.db"
        build_demo_library(work / "Sound Library", demo, tiny)
        models = AppSettings(clap=str(tiny / "clap"), llm=str(tiny / "llm"), device="cpu")

        window = _window(work / "empty.db", (1280, 800))
        _grab(qt, window, out / "first-launch.png")
        desktop_app.dispose(qt, window)

        db = work / "captioning.db"
        shutil.copy(demo, db)
        held: list[HeldCaptioner] = []

        def factory(settings: AppSettings) -> Any:
            held.append(HeldCaptioner(load_captioner(settings), "Rain_Gutter_Drip.wav"))
            return held[0]

        window = _window(db, (1280, 800), settings=models, captioner_factory=factory)
        _select(qt, window, "Rain_Heavy_Downpour.wav")
        window.captioning.start()
        _wait(qt, lambda: bool(held) and held[0].held.is_set())
        _wait(qt, lambda: "Rain_Gutter_Drip" in window.queue_panel.state.text())
        _grab(qt, window, out / "captioning.png")
        held[0].release.set()
        desktop_app.dispose(qt, window)

        db = work / "editing.db"
        shutil.copy(demo, db)
        window = _window(db, (1280, 800))
        _select(qt, window, "Rain_Gutter_Drip.wav")
        QTest.keyClick(window.table, Qt.Key.Key_F2)
        QTest.keyClicks(window.detail.caption_edit, "rain water drips steadily from a gutter")
        QTest.keyClicks(window.detail.keywords_edit, "rain, drip, gutter, water")
        window.detail.caption_edit.setFocus()
        _grab(qt, window, out / "editing.png")
        desktop_app.dispose(qt, window)

        db = work / "failed.db"
        shutil.copy(demo, db)
        wrong = AppSettings(clap=str(tiny / "llm"), llm=str(tiny / "llm"), device="cpu")
        window = _window(db, (1280, 800), settings=wrong)
        _select(qt, window, "Thunder_Distant_Rumble.wav")
        window.captioning.start()
        _wait(qt, lambda: window.captioning.status.kind == "failed")
        _grab(qt, window, out / "model-load-failed.png")
        desktop_app.dispose(qt, window)

        db = work / "narrow.db"
        shutil.copy(demo, db)
        window = _window(db, (1024, 680))
        _select(qt, window, "Footsteps_Puddles_Rain.wav")
        _grab(qt, window, out / "narrow-1024x680.png")
        desktop_app.dispose(qt, window)

        for size in ("1024x680", "1440x900"):
            target = out / f"library-{size}.png"
            code = desktop_app.main(
                ["--db", str(demo), "--size", size, "--search", "", "--screenshot", str(target)]
            )
            if code != 0:
                return code
            print(f"wrote {target}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
