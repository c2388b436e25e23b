"""Semantic search through the worker, find similar, and the missing-models path."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QLabel

from captioner.errors import ModelNotFoundError
from desktop.gui.main_window import MainWindow
from desktop.settings import AppSettings

from .conftest import SOUNDS, FakeCaptioner, WorkerMirror

WAIT_MS = 10_000


@pytest.fixture
def captioned(qtbot, library_db: Path) -> MainWindow:
    """A window over a library the fake captioner has captioned (embeddings stored)."""
    win = MainWindow(library_db, AppSettings(), lambda _s: FakeCaptioner(), autostart=False)
    qtbot.addWidget(win)
    mirror = WorkerMirror(win.captioning.worker)
    with qtbot.waitSignal(mirror.idle, timeout=WAIT_MS):
        win.captioning.caption_uncaptioned()
    return win


def test_describe_the_sound_search_uses_the_worker_embedding(qtbot, captioned) -> None:
    win = captioned
    mirror = WorkerMirror(win.captioning.worker)
    win.search.mode.setCurrentIndex(win.search.mode.findData("semantic"))
    with qtbot.waitSignal(mirror.textEmbedded, timeout=WAIT_MS):
        win.search.edit.setText("a low drum hit")
        win.search.edit.returnPressed.emit()
    qtbot.waitUntil(lambda: win.file_model.rowCount() > 0, timeout=WAIT_MS)
    assert win.file_model.query.mode == "semantic"
    assert win.file_model.last_error is None
    assert win.file_model.rowCount() <= len(SOUNDS)


def test_find_similar_shows_a_fixed_list_and_back_returns(qtbot, captioned) -> None:
    win = captioned
    source = win.file_model.row_at(0)
    win.searching.find_similar(source)
    qtbot.waitUntil(win.file_model.is_fixed_list, timeout=WAIT_MS)
    shown = [win.file_model.row_at(r).id for r in range(win.file_model.rowCount())]
    assert source.id not in shown and len(shown) == len(SOUNDS) - 1
    assert win.banner_row.isVisibleTo(win) and source.name in win.banner.text()
    win.banner_button.click()
    assert not win.file_model.is_fixed_list()
    assert win.file_model.rowCount() == len(SOUNDS)


def test_missing_models_open_the_models_dialog_and_keep_the_queue(qtbot, library_db) -> None:
    def missing(_settings):
        raise ModelNotFoundError("model facebook/opt-1.3b is not on this computer")

    win = MainWindow(library_db, AppSettings(), missing, autostart=False)
    qtbot.addWidget(win)
    on_gui_thread: list[bool] = []

    def recording(_status):
        on_gui_thread.append(QThread.currentThread() == win.thread())

    win.captioning.statusChanged.connect(recording)
    win.captioning.caption_uncaptioned()
    qtbot.waitUntil(lambda: win.dialog("models") is not None, timeout=WAIT_MS)
    dialog = win.dialog("models")
    assert "not on this computer" in dialog.findChildren(QLabel)[0].text()
    assert win.queue_panel.models_button.isVisibleTo(win)
    assert win.queue_panel.state.text() == "Models not downloaded"
    # The reason stays readable in the queue panel, not only in a passing message.
    assert "not on this computer" in win.queue_panel.problem.text()
    # "Loading models…", "Models not downloaded"…: every worker report reaches widgets here.
    assert len(on_gui_thread) >= 2 and all(on_gui_thread)
    dialog.reject()
    qtbot.waitUntil(lambda: win.dialog("models") is None, timeout=WAIT_MS)
    assert win.library.queue_counts().queued == len(SOUNDS)
