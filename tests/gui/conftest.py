"""GUI test helpers: a small real library on disk, a fake captioner, a window factory."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QMetaMethod, QObject, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from captioner.types import Caption, CaptionFailure, KeywordScore, Provenance
from desktop.gui.worker import CaptionWorker
from desktop.library import Library
from tests.conftest import write_tone

_QT_TYPES = {"int": int, "QString": str, "PyObject": object, "double": float, "bool": bool}


def _public_signals(cls: type[QObject]) -> dict[str, list[type]]:
    """The public signals ``cls`` declares, with their argument types, from Qt's meta-object."""
    meta = cls.staticMetaObject
    found: dict[str, list[type]] = {}
    for i in range(meta.methodOffset(), meta.methodCount()):
        method = meta.method(i)
        name = bytes(method.name().data()).decode()
        if method.methodType() == QMetaMethod.MethodType.Signal and not name.startswith("_"):
            found[name] = [_QT_TYPES[bytes(t.data()).decode()] for t in method.parameterTypes()]
    return found


class _MirrorBase(QObject):
    def __init__(self, worker: QObject) -> None:
        super().__init__()
        for name in _public_signals(type(worker)):
            getattr(worker, name).connect(getattr(self, name))


#: Re-emits a CaptionWorker's signals on the GUI thread. Signal-to-signal connections are
#: queued to the receiver's thread, so pytest-qt's blockers (and their timers) only ever run on
#: the GUI thread. Built from the worker's own signal list, so it cannot drift from it.
WorkerMirror = type(
    "WorkerMirror",
    (_MirrorBase,),
    {name: Signal(*types) for name, types in _public_signals(CaptionWorker).items()},
)


#: (relative path, frequency Hz, seconds) of the sounds every GUI test library holds.
SOUNDS = (
    ("drums/kick_low.wav", 60.0, 0.5),
    ("drums/snare_crack.wav", 900.0, 0.4),
    ("fx/rise_long.wav", 300.0, 1.5),
    ("fx/sub/alarm_beep.wav", 2000.0, 0.8),
    ("tone_a440.wav", 440.0, 1.0),
)


class FakeCaptioner:
    """Stands in for the Captioner where only signal flow is tested.

    Its captions are derived from each file's real header (so different files get different
    captions); a file whose name contains ``broken`` fails like an undecodable file would.
    """

    embedding_model_id = "fake-clap"
    clap_ref = "fake-clap"
    llm_ref = "fake-llm"
    config: dict[str, object] = {}

    def __init__(self) -> None:
        self.captioned_paths: list[str] = []
        self.before_each: Callable[[str], None] | None = None

    def caption_many(
        self, paths: Sequence[str], batch_size: int = 1
    ) -> Iterator[Caption | CaptionFailure]:
        for path in paths:
            if self.before_each is not None:
                self.before_each(path)
            if "broken" in Path(path).name:
                yield CaptionFailure(path, "audio could not be decoded", "AudioDecodeError")
                continue
            info = sf.info(path)
            self.captioned_paths.append(path)
            vector = np.zeros(8, dtype=np.float32)
            vector[len(self.captioned_paths) % 8] = 1.0
            yield Caption(
                text=f"a sound of {info.duration:.1f} seconds at {info.samplerate} hz",
                keywords=[KeywordScore("tone", 0.5)],
                prompt="",
                audio_embedding=vector,
                provenance=Provenance("fake-clap", "fake-llm", {}, "pad"),
                path=path,
                duration_s=info.duration,
            )

    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        return np.ones((len(texts), 8), dtype=np.float32) / np.sqrt(8)


@pytest.fixture(autouse=True)
def _refcount_guard(qapp):
    """Every GUI test runs with the guard the app installs (PySide6 6.12.0 emit leak)."""
    from desktop.gui.qt_fixes import install_refcount_guard

    install_refcount_guard()


@pytest.fixture
def sound_folder(tmp_path: Path) -> Path:
    """A folder of short tones in subfolders."""
    root = tmp_path / "sounds"
    for rel, freq, seconds in SOUNDS:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        write_tone(path, seconds=seconds, freq=freq)
    return root


@pytest.fixture
def library_db(tmp_path: Path, sound_folder: Path) -> Path:
    """A scanned library database over :func:`sound_folder`, nothing captioned or queued."""
    db = tmp_path / "library.db"
    with Library.open(db) as library:
        library.add_root(sound_folder)
        library.scan()
    return db


WAIT_MS = 10_000


def question_box(qtbot, timeout: int = WAIT_MS) -> QMessageBox:
    """The question (or message) box on screen now, waiting for it to appear."""
    found: list[QMessageBox] = []

    def shown() -> bool:
        found[:] = [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.isVisible()
        ]
        return bool(found)

    qtbot.waitUntil(shown, timeout=timeout)
    return found[-1]


def answer(qtbot, key: str, timeout: int = WAIT_MS) -> str:
    """Click the answer ``key`` of the question on screen, like a person; returns its text."""
    from PySide6.QtCore import Qt

    box = question_box(qtbot, timeout)
    text = box.text() + "\n" + box.informativeText()
    button = box.findChild(QPushButton, f"answer-{key}")
    assert button is not None, f"no answer {key!r} in {text!r}"
    parent = box.parentWidget()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=timeout)
    reactivate(qtbot, parent)
    return text


def reactivate(qtbot, widget) -> None:
    """Give the keyboard back to ``widget``'s window after a dialog closed (what a window
    manager does; the offscreen platform does not)."""
    if widget is None:
        return
    window = widget.window()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)


def click_row(qtbot, table, row: int, modifier=None) -> None:
    """Click a row of a table view with the mouse (optionally with Ctrl or Shift held)."""
    from PySide6.QtCore import Qt

    index = table.model().index(row, 0)
    table.scrollTo(index)
    rect = table.visualRect(index)
    qtbot.mouseClick(
        table.viewport(),
        Qt.MouseButton.LeftButton,
        modifier if modifier is not None else Qt.KeyboardModifier.NoModifier,
        rect.center(),
    )


def row_of(window, name: str) -> int:
    """The table row showing the file called ``name``."""
    model = window.file_model
    for row in range(model.rowCount()):
        if model.index(row, 0).data() == name:
            return row
    raise AssertionError(f"{name} is not in the table")


def caption_of(db: Path, name: str):
    """The current caption record of the file called ``name`` (read with a fresh connection)."""
    with Library.open(db) as library:
        (row,) = [r for r in library.list_files(None, 0, 1000) if r.name == name]
        return library.current_caption(row.id)


class LockHolder:
    """Another program holding the library's write lock until told to let go."""

    def __init__(self, db: Path) -> None:
        import subprocess

        script = (
            "import sqlite3, sys\n"
            "conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n"
            "conn.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.readline()\n"
            "conn.execute('ROLLBACK')\n"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", script, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("\n")
            self.process.stdin.flush()
            self.process.wait(30)


@pytest.fixture
def make_window(qtbot):
    """Build a shown, active main window over a database (fake captioner unless given).

    Windows are closed and deleted on the GUI thread at teardown (``desktop.app.dispose``):
    left to the garbage collector, a window could be deleted on a worker thread.
    """
    made: list = []

    def make(db: Path, fake: FakeCaptioner | None = None, size=(1280, 800), **kwargs):
        from desktop.gui.main_window import MainWindow
        from desktop.settings import AppSettings

        captioner = fake if fake is not None else FakeCaptioner()
        settings = kwargs.pop("settings", AppSettings())
        win = MainWindow(db, settings, lambda _s: captioner, autostart=False, **kwargs)
        made.append(win)
        win.resize(*size)
        win.show()
        qtbot.waitExposed(win)
        win.activateWindow()
        qtbot.waitUntil(lambda: win.runner.pending == 0 and not win.writer.pending, timeout=WAIT_MS)
        return win

    yield make
    from desktop.app import dispose

    for win in made:
        dispose(QApplication.instance(), win)


class FakeStream:
    """A PortAudio stream that plays nothing (machines in CI have no sound card)."""

    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs
        self.active = False

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def close(self) -> None:
        self.active = False


class FakeSoundDevice:
    """Stands in for the ``sounddevice`` module: records the streams it was asked for."""

    class PortAudioError(Exception):
        pass

    class CallbackStop(Exception):
        pass

    def __init__(self) -> None:
        self.streams: list[FakeStream] = []

    def OutputStream(self, **kwargs) -> FakeStream:
        stream = FakeStream(**kwargs)
        self.streams.append(stream)
        return stream


@pytest.fixture
def sound_device(monkeypatch) -> FakeSoundDevice:
    """Playback goes to a fake device."""
    from desktop.gui.controllers import playback

    device = FakeSoundDevice()
    monkeypatch.setattr(playback, "_import_sounddevice", lambda: device)
    return device
