"""The main window end to end: drop, search, edit, export, playback, close and resume."""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QAbstractItemModelTester
from PySide6.QtWidgets import QApplication

from desktop.gui.controllers import playback
from desktop.gui.main_window import MainWindow
from desktop.library import Library
from desktop.settings import AppSettings

from .conftest import SOUNDS, FakeCaptioner, WorkerMirror, write_tone

WAIT_MS = 10_000
Mode = QAbstractItemModelTester.FailureReportingMode


@pytest.fixture
def fake() -> FakeCaptioner:
    return FakeCaptioner()


@pytest.fixture
def window(qtbot, library_db: Path, fake: FakeCaptioner) -> MainWindow:
    win = MainWindow(library_db, AppSettings(), lambda _s: fake, autostart=False)
    qtbot.addWidget(win)  # closed at teardown, which stops the worker thread
    QAbstractItemModelTester(win.file_model, Mode.Fatal)
    QAbstractItemModelTester(win.sidebar.tree, Mode.Fatal)
    QAbstractItemModelTester(win.queue_panel.model, Mode.Fatal)
    win.show()
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT_MS)
    return win


def _counts(db: Path):
    with Library.open(db) as library:
        return library.queue_counts()


def _shown_names(win: MainWindow) -> list[str]:
    model = win.file_model
    return [model.index(r, 0).data() for r in range(model.rowCount())]


def _drop(win: MainWindow, paths: list[Path]) -> QDropEvent:
    """Drag ``paths`` in from a file manager that offers Copy and Move and proposes Move."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    offered = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction
    enter = QDragEnterEvent(
        QPointF(20, 20), offered, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    enter.setDropAction(Qt.DropAction.MoveAction)
    QApplication.sendEvent(win, enter)
    assert enter.isAccepted() and enter.dropAction() == Qt.DropAction.CopyAction
    event = QDropEvent(
        QPointF(20, 20), offered, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    event.setDropAction(Qt.DropAction.MoveAction)
    QApplication.sendEvent(win, event)
    return event


def test_drop_adds_and_queues_files(qtbot, window: MainWindow, tmp_path: Path) -> None:
    window.captioning.set_paused(True)  # keep the dropped files in the queue to look at them
    new = tmp_path / "new pack"
    new.mkdir()
    dropped = [write_tone(new / f"hit_{i}.wav", 0.3, freq=200.0 + i * 50) for i in range(3)]
    event = _drop(window, [new])
    assert event.isAccepted() and event.dropAction() == Qt.DropAction.CopyAction
    qtbot.waitUntil(lambda: _counts(window.db_path).queued == 3, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.file_model.rowCount() == len(SOUNDS) + 3, timeout=WAIT_MS)
    assert {p.name for p in dropped} <= set(_shown_names(window))
    qtbot.waitUntil(lambda: window.queue_panel.model.rowCount() == 3, timeout=WAIT_MS)


def test_worker_captions_and_table_updates(qtbot, window: MainWindow, fake) -> None:
    row = window.file_model.row_at(0)
    assert row is not None and row.caption is None
    window.table.selectRow(0)
    mirror = WorkerMirror(window.captioning.worker)
    with qtbot.waitSignal(mirror.idle, timeout=WAIT_MS):
        window.captioning.caption_uncaptioned()
    qtbot.waitUntil(
        lambda: window.file_model.index(0, 1).data().startswith("a sound of"), timeout=WAIT_MS
    )
    assert len(fake.captioned_paths) == len(SOUNDS)
    assert window.detail.caption_edit.toPlainText().startswith("a sound of")
    assert "AI caption" in window.detail.provenance.text()
    # Refreshing the sidebar and queue after captions keeps the user's place in the table.
    window.library_actions.refresh_snapshot()
    qtbot.waitUntil(lambda: window.runner.pending == 0, timeout=WAIT_MS)
    assert [i.row() for i in window.table.selectionModel().selectedRows()] == [0]
    qtbot.waitUntil(lambda: window.queue_panel.model.rowCount() == len(SOUNDS), timeout=WAIT_MS)


def test_search_filters_the_table(qtbot, window: MainWindow) -> None:
    window.search.edit.setText("snare")
    qtbot.waitUntil(lambda: _shown_names(window) == ["snare_crack.wav"], timeout=WAIT_MS)
    window.search.edit.setText("")
    qtbot.waitUntil(lambda: window.file_model.rowCount() == len(SOUNDS), timeout=WAIT_MS)
    window.search.format.setCurrentIndex(window.search.format.findText("FLAC"))
    assert window.file_model.rowCount() == 0


def test_edited_caption_persists_and_survives_the_next_batch(qtbot, window: MainWindow) -> None:
    window.table.selectRow(1)
    file = window.detail.file
    assert file is not None
    window.detail.caption_edit.setPlainText("a snappy snare drum hit")
    window.detail.keywords_edit.setText("snare, drum, hit")
    assert window.detail.accept_button.isEnabled()
    window.detail.accept_button.click()
    qtbot.waitUntil(lambda: not window.writer.pending, timeout=WAIT_MS)
    with Library.open(window.db_path) as library:
        record = library.current_caption(file.id)
        assert (record.text, record.source) == ("a snappy snare drum hit", "user")
        library.enqueue("all")  # the next batch: a user caption is skipped
        library.enqueue([file.id])
    mirror = WorkerMirror(window.captioning.worker)
    with qtbot.waitSignal(mirror.idle, timeout=WAIT_MS):
        window.captioning.start()
    with Library.open(window.db_path) as library:
        record = library.current_caption(file.id)
        assert record.text == "a snappy snare drum hit"
        assert [k for k, _ in record.keywords] == ["snare", "drum", "hit"]
    assert window.file_model.index(1, 1).data() == "a snappy snare drum hit"
    assert "Written by you" in window.detail.provenance.text()


def test_export_writes_the_rows_shown(qtbot, window: MainWindow, tmp_path: Path) -> None:
    window.search.edit.setText("drums")
    window.search.edit.returnPressed.emit()
    shown = _shown_names(window)
    assert 0 < len(shown) < len(SOUNDS)
    out = tmp_path / "out.csv"
    window.export("search", out)
    qtbot.waitUntil(out.is_file, timeout=WAIT_MS)
    with out.open(encoding="utf-8", newline="") as f:
        names = [r["Filename"] for r in csv.DictReader(f)]
    assert names == shown
    window.table.selectRow(0)
    selection = tmp_path / "sel.csv"
    window.export("selection", selection)
    qtbot.waitUntil(selection.is_file, timeout=WAIT_MS)
    with selection.open(encoding="utf-8", newline="") as f:
        assert [r["Filename"] for r in csv.DictReader(f)] == [shown[0]]


class _NoDevice:
    class PortAudioError(Exception):
        pass

    def OutputStream(self, **_kwargs):
        raise self.PortAudioError("Error querying device -1")


def test_space_with_no_audio_device_shows_a_message(qtbot, window: MainWindow, monkeypatch) -> None:
    monkeypatch.setattr(playback, "_import_sounddevice", lambda: _NoDevice())
    window.table.setFocus()
    window.table.selectRow(0)
    qtbot.keyClick(window.table, Qt.Key.Key_Space)
    assert window.last_message == playback.NO_DEVICE_MESSAGE
    assert window.message_bar.text() == playback.NO_DEVICE_MESSAGE  # stays on screen
    assert not window.playback.is_playing()


def test_closing_mid_run_stops_cleanly_and_the_queue_resumes(qtbot, library_db: Path) -> None:
    started, release = threading.Event(), threading.Event()
    fake = FakeCaptioner()

    def hold_first(_path: str) -> None:
        if not started.is_set():
            started.set()
            release.wait(WAIT_MS / 1000)

    fake.before_each = hold_first
    win = MainWindow(library_db, AppSettings(), lambda _s: fake, autostart=False)
    win.captioning.caption_uncaptioned()
    qtbot.waitUntil(started.is_set, timeout=WAIT_MS)
    # Let the held file finish only once close() is waiting for the worker.
    threading.Timer(0.2, release.set).start()
    win.close()
    assert not win.captioning.worker_thread.isRunning()
    counts = _counts(library_db)
    assert counts.running == 0
    assert counts.done + counts.queued == len(SOUNDS) and counts.queued >= 1

    again = MainWindow(library_db, AppSettings(), lambda _s: FakeCaptioner(), autostart=False)
    qtbot.addWidget(again)
    mirror = WorkerMirror(again.captioning.worker)
    with qtbot.waitSignal(mirror.idle, timeout=WAIT_MS):
        again.captioning.resume_queue()
    assert _counts(library_db).done == len(SOUNDS)


def test_rescan_runs_off_the_gui_thread_and_refreshes(
    qtbot, window: MainWindow, sound_folder: Path
) -> None:
    write_tone(sound_folder / "drums" / "hat_closed.wav", 0.2, freq=5000.0)
    (sound_folder / "tone_a440.wav").unlink()
    window.library_actions.rescan()
    qtbot.waitUntil(lambda: "Scan finished" in window.statusBar().currentMessage(), timeout=WAIT_MS)
    message = window.statusBar().currentMessage()
    assert "1 new" in message and "1 missing" in message
    names = _shown_names(window)
    assert "hat_closed.wav" in names and "tone_a440.wav" not in names


def test_header_sort_survives_filters_and_searches_start_by_relevance(
    qtbot, window: MainWindow
) -> None:
    window.table.horizontalHeader().setSortIndicator(3, Qt.SortOrder.DescendingOrder)  # Length
    assert window.file_model.query.sort == "duration_s"
    window.search.show_filter.setCurrentIndex(window.search.show_filter.findText("Not captioned"))
    assert window.file_model.query.sort == "duration_s" and window.file_model.query.descending
    lengths = [window.file_model.row_at(r).duration_s for r in range(window.file_model.rowCount())]
    assert lengths == sorted(lengths, reverse=True)
    window.search.edit.setText("drums")
    window.search.edit.returnPressed.emit()
    assert window.file_model.query.sort == "rank"
