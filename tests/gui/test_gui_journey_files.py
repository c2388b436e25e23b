"""Journeys about files and folders: drops, filters, hostile files, model folders, failures."""

from __future__ import annotations

import faulthandler
import json
import os
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QPushButton

from captioner.errors import ModelLoadError
from desktop.gui.dialogs import pickers
from desktop.library import Library
from desktop.settings import AppSettings

from .conftest import WAIT_MS, click_row, question_box, row_of, write_tone


def _names(win) -> list[str]:
    return [win.file_model.index(r, 0).data() for r in range(win.file_model.rowCount())]


def _settled(qtbot, win) -> None:
    qtbot.waitUntil(lambda: win.runner.pending == 0 and not win.writer.pending, timeout=WAIT_MS)


def _drag_in(win, paths: list[Path], offered: Qt.DropAction) -> QDropEvent:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPointF(30, 30), offered, mime, buttons, mods)
    enter.setDropAction(Qt.DropAction.MoveAction)  # what a file manager proposes
    QApplication.sendEvent(win, enter)
    drop = QDropEvent(QPointF(30, 30), offered, mime, buttons, mods)
    drop.setDropAction(Qt.DropAction.MoveAction)
    QApplication.sendEvent(win, drop)
    return drop


def test_a_dropped_file_is_added_alone_and_the_drop_is_a_copy(qtbot, make_window, tmp_path):
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    wanted = write_tone(downloads / "door_creak.wav", 0.4, freq=300.0)
    for i in range(3):
        write_tone(downloads / f"unrelated_{i}.wav", 0.2, freq=500.0 + i)
    win = make_window(tmp_path / "lib.db")
    win.captioning.set_paused(True)
    drop = _drag_in(win, [wanted], Qt.DropAction.CopyAction | Qt.DropAction.MoveAction)
    assert drop.isAccepted() and drop.dropAction() == Qt.DropAction.CopyAction
    qtbot.waitUntil(lambda: _names(win) == ["door_creak.wav"], timeout=WAIT_MS)
    assert win.centre_stack.currentWidget() is win.table  # no longer a first launch
    # F5 rescans: the folder it came from is not adopted.
    qtbot.waitUntil(win.window_actions.rescan.isEnabled, timeout=WAIT_MS)
    win.table.setFocus()
    qtbot.keyClick(win.table, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: "Scan finished" in win.statusBar().currentMessage(), timeout=WAIT_MS)
    _settled(qtbot, win)
    assert _names(win) == ["door_creak.wav"]
    assert wanted.is_file() and len(list(downloads.iterdir())) == 4  # nothing moved away
    # A drop that only offers Move is refused: Earmark never takes files away.
    move_only = _drag_in(win, [downloads / "unrelated_0.wav"], Qt.DropAction.MoveAction)
    assert not move_only.isAccepted()
    # Link is fine too (the file stays where it is).
    linked = _drag_in(win, [downloads / "unrelated_1.wav"], Qt.DropAction.LinkAction)
    assert linked.isAccepted() and linked.dropAction() == Qt.DropAction.LinkAction


def test_rescan_finds_new_files_and_queues_them(qtbot, make_window, library_db, sound_folder):
    win = make_window(library_db)
    win.captioning.set_paused(True)
    write_tone(sound_folder / "drums" / "hat_open.wav", 0.3, freq=6000.0)
    win.table.setFocus()
    qtbot.keyClick(win.table, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: "Scan finished" in win.statusBar().currentMessage(), timeout=WAIT_MS)
    assert "1 queued" in win.statusBar().currentMessage()
    with Library.open(library_db) as library:
        (job,) = library.jobs("queued")
        assert Path(job.path).name == "hat_open.wav"


def test_show_filters_missing_unreadable_written_by_me_length_and_format_families(
    qtbot, make_window, library_db, sound_folder
):
    import numpy as np
    import soundfile as sf

    sweep = (0.2 * np.sin(np.linspace(0, 4000, 9600))).astype(np.float32)
    sf.write(str(sound_folder / "fx" / "sweep.aif"), sweep, 16000, format="AIFF")
    (sound_folder / "fx" / "broken.wav").write_bytes(b"RIFF not really a wave file")
    with Library.open(library_db) as library:
        library.scan()
    win = make_window(library_db)
    (sound_folder / "tone_a440.wav").unlink()
    qtbot.keyClick(win.table, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: "Scan finished" in win.statusBar().currentMessage(), timeout=WAIT_MS)
    _settled(qtbot, win)
    assert "tone_a440.wav" not in _names(win)
    show = win.search.show_filter
    show.setCurrentIndex(show.findText("Missing"))
    assert _names(win) == ["tone_a440.wav"]
    row = win.file_model.row_at(0)
    assert win.file_model.index(0, 1).data().startswith("Missing from disk")
    assert win.file_model.index(0, 0).data(Qt.ItemDataRole.FontRole).italic()
    click_row(qtbot, win.table, 0)
    assert "Missing from disk" in win.detail.provenance.text() and row.status == "missing"
    show.setCurrentIndex(show.findText("Unreadable"))
    assert _names(win) == ["broken.wav"]
    assert win.file_model.index(0, 1).data().startswith("Unreadable")
    show.setCurrentIndex(show.findText("All files"))
    fmt = win.search.format
    fmt.setCurrentIndex(fmt.findText("AIFF"))
    assert _names(win) == ["sweep.aif"]  # .aif belongs to AIFF
    fmt.setCurrentIndex(fmt.findText("Any format"))
    length = win.search.length
    length.setCurrentIndex(length.findText("1 – 5 s"))
    assert set(_names(win)) == {"rise_long.wav"}
    length.setCurrentIndex(length.findText("Any length"))
    click_row(qtbot, win.table, row_of(win, "kick_low.wav"))
    qtbot.keyClick(win.table, Qt.Key.Key_F2)
    qtbot.keyClicks(win.detail.caption_edit, "deep kick")
    qtbot.keyClick(win.detail.caption_edit, Qt.Key.Key_Return)
    _settled(qtbot, win)
    show.setCurrentIndex(show.findText("Written by me"))
    assert _names(win) == ["kick_low.wav"]


@pytest.fixture
def hang_guard():
    """A hang becomes a failure with a traceback instead of a stuck CI job."""
    faulthandler.dump_traceback_later(120, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_a_fifo_in_the_table_never_blocks_the_window(
    qtbot, make_window, library_db, sound_folder, sound_device, hang_guard
):
    win = make_window(library_db)
    target = sound_folder / "fx" / "sub" / "alarm_beep.wav"
    target.unlink()
    os.mkfifo(target)  # replaced after the scan: the scan-to-open race
    click_row(qtbot, win.table, row_of(win, "alarm_beep.wav"))
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT_MS)
    assert win.detail.waveform.overview() is None
    assert "not a regular file" in win.detail.waveform._message
    qtbot.keyClick(win.table, Qt.Key.Key_Space)
    assert not win.playback.is_playing()
    assert "not a regular file" in win.message_bar.text()
    assert sound_device.streams == []
    win.close()  # returns: no thread is stuck on the pipe
    assert not win.captioning.worker_thread.isRunning()


def _models_dialog(qtbot, win):
    win.window_actions.models.trigger()  # Captioning -> Models…
    qtbot.waitUntil(lambda: win.dialog("models") is not None, timeout=WAIT_MS)
    dialog = win.dialog("models")
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT_MS)
    return dialog


def test_a_wrong_model_folder_is_refused_with_a_readable_reason(
    qtbot, make_window, library_db, sound_folder, tiny_models, monkeypatch
):
    win = make_window(library_db)
    dialog = _models_dialog(qtbot, win)
    choose = dialog.findChild(QPushButton, "choose-clap")
    monkeypatch.setattr(pickers, "choose_directory", lambda *_a, **_k: str(sound_folder / "drums"))
    qtbot.mouseClick(choose, Qt.MouseButton.LeftButton)
    problem = dialog.folder_problem
    qtbot.waitUntil(lambda: problem.text().startswith("Not used"), timeout=WAIT_MS)
    assert "drums is not a model folder (it holds 2 sound file(s))" in problem.text()
    assert dialog.settings().clap == AppSettings().clap  # not taken
    # The language model offered as the audio model: refused, saying which is which.
    monkeypatch.setattr(pickers, "choose_directory", lambda *_a, **_k: str(tiny_models / "llm"))
    qtbot.mouseClick(choose, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "opt model, not a CLAP" in problem.text(), timeout=WAIT_MS)
    assert "choose it as the language model" in problem.text()
    # The right folder is taken.
    monkeypatch.setattr(pickers, "choose_directory", lambda *_a, **_k: str(tiny_models / "clap"))
    qtbot.mouseClick(choose, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.settings().clap == str(tiny_models / "clap"), timeout=WAIT_MS)
    assert problem.isHidden()
    state = dialog.rows["clap"][1]
    qtbot.waitUntil(lambda: state.text().startswith("✓ on this computer"), timeout=WAIT_MS)


def test_settings_refuses_a_folder_of_sounds_as_a_model(
    qtbot, make_window, library_db, sound_folder, monkeypatch
):
    win = make_window(library_db)
    win.window_actions.settings.trigger()
    qtbot.waitUntil(lambda: win.dialog("settings") is not None, timeout=WAIT_MS)
    dialog = win.dialog("settings")
    monkeypatch.setattr(pickers, "choose_directory", lambda *_a, **_k: str(sound_folder / "fx"))
    qtbot.mouseClick(dialog.findChild(QPushButton, "llmBrowse"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.model_problem("llm").startswith("Not used"), timeout=WAIT_MS)
    assert "fx is not a model folder" in dialog.model_problem("llm")
    assert dialog.llm.text() == AppSettings().llm


def test_a_failed_model_load_stays_readable_in_the_queue_panel(qtbot, library_db):
    from desktop.gui.main_window import MainWindow

    reason = (
        "audio-language model /models/clap: cannot load it (size mismatch for "
        "text_model.embeddings.word_embeddings.weight: copying a param with shape "
        "[50265, 768] from checkpoint, the shape in current model is [1000, 32])"
    )

    def failing(_settings):
        raise ModelLoadError(reason)

    win = MainWindow(library_db, AppSettings(), failing, autostart=False)
    qtbot.addWidget(win)
    win.resize(1024, 680)
    win.show()
    win.window_actions.caption_uncaptioned.trigger()
    qtbot.waitUntil(
        lambda: win.queue_panel.state.text() == "Models failed to load", timeout=WAIT_MS
    )
    qtbot.wait(50)
    panel = win.queue_panel
    assert panel.problem.text().endswith(reason) and panel.problem.isVisible()
    assert panel.details_button.isVisible() and panel.models_button.isVisible()
    assert win.message_bar.text().endswith(reason)  # and over the table, until dismissed
    qtbot.mouseClick(panel.details_button, Qt.MouseButton.LeftButton)
    box = question_box(qtbot)
    assert box.text().endswith(reason)  # the whole text, not cut
    box.close()
    qtbot.mouseClick(win.message_bar.dismiss, Qt.MouseButton.LeftButton)
    assert not win.message_bar.isVisible()
    assert panel.problem.text().endswith(reason)  # kept while the state lasts


def test_model_check_reasons(tmp_path, tiny_models) -> None:
    from desktop.gui.model_check import check_model_folder

    assert check_model_folder(tiny_models / "clap", "clap").ok
    assert check_model_folder(tiny_models / "llm", "llm").ok
    verdict = check_model_folder(tiny_models / "clap", "llm")
    assert not verdict.ok and "choose it as the audio model" in verdict.reason
    no_weights = tmp_path / "half"
    shutil.copytree(tiny_models / "llm", no_weights)
    (no_weights / "model.safetensors").unlink()
    assert "no weights" in check_model_folder(no_weights, "llm").reason
    stub = tmp_path / "stub"
    shutil.copytree(tiny_models / "clap", stub)
    tokenizer = json.loads((stub / "tokenizer.json").read_text())
    tokenizer["model"]["vocab"] = dict(list(tokenizer["model"]["vocab"].items())[:5])
    (stub / "tokenizer.json").write_text(json.dumps(tokenizer))
    assert "only 5 tokens" in check_model_folder(stub, "clap").reason
    wavcaps = tmp_path / "wavcaps"
    wavcaps.mkdir()
    (wavcaps / "earmark_wavcaps.json").write_text("{}")
    assert "model.safetensors is missing" in check_model_folder(wavcaps, "clap").reason
    assert "not a language model" in check_model_folder(wavcaps, "llm").reason
    assert not check_model_folder(tmp_path / "absent", "clap").ok
