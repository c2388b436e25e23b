"""Journeys that could lose a person's words, driven through the widgets like a person would.

Each test clicks rows, presses keys and answers questions with the mouse; none calls the
window's methods to do the work. What is checked is what a person cares about: their words
are in the library (read with a fresh connection), and nothing was replaced unasked.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from desktop.library import Library

from .conftest import (
    SOUNDS,
    WAIT_MS,
    FakeCaptioner,
    WorkerMirror,
    answer,
    caption_of,
    click_row,
    question_box,
    reactivate,
    row_of,
)

CTRL = Qt.KeyboardModifier.ControlModifier


def _type_description(qtbot, win, row: int, text: str) -> None:
    """Select a row with the mouse, press F2 and type (replacing what was there)."""
    click_row(qtbot, win.table, row)
    qtbot.keyClick(win.table, Qt.Key.Key_F2)
    assert win.detail.caption_edit.hasFocus()
    win.detail.caption_edit.selectAll()
    qtbot.keyClicks(win.detail.caption_edit, text)


def _settled(qtbot, win) -> None:
    qtbot.waitUntil(lambda: not win.writer.pending and win.runner.pending == 0, timeout=WAIT_MS)


def test_typing_then_selecting_another_row_keeps_the_words(qtbot, make_window, library_db):
    win = make_window(library_db)
    first = row_of(win, "snare_crack.wav")
    _type_description(qtbot, win, first, "a tight snare crack")
    qtbot.keyClicks(win.detail.keywords_edit, "snare, crack")
    # The person clicks another file without pressing Save.
    click_row(qtbot, win.table, row_of(win, "kick_low.wav"))
    _settled(qtbot, win)
    record = caption_of(library_db, "snare_crack.wav")
    assert (record.text, record.source) == ("a tight snare crack", "user")
    assert [k for k, _ in record.keywords] == ["snare", "crack"]
    # Coming back shows the saved words, and the table says so too.
    click_row(qtbot, win.table, row_of(win, "snare_crack.wav"))
    assert win.detail.caption_edit.toPlainText() == "a tight snare crack"
    assert win.file_model.index(row_of(win, "snare_crack.wav"), 1).data() == "a tight snare crack"
    assert "Written by you" in win.detail.provenance.text()


def test_closing_the_window_mid_edit_keeps_the_words(qtbot, make_window, library_db):
    win = make_window(library_db)
    _type_description(qtbot, win, row_of(win, "tone_a440.wav"), "a pure tone at a440")
    win.close()
    record = caption_of(library_db, "tone_a440.wav")
    assert record is not None and record.text == "a pure tone at a440"


def test_caption_again_over_my_words_asks_and_keeps_them_unless_confirmed(
    qtbot, make_window, library_db
):
    fake = FakeCaptioner()
    win = make_window(library_db, fake)
    mirror = WorkerMirror(win.captioning.worker)
    _type_description(qtbot, win, row_of(win, "kick_low.wav"), "my kick, deep and short")
    qtbot.keyClick(win.detail.caption_edit, Qt.Key.Key_Return)  # Enter accepts
    _settled(qtbot, win)
    assert win.table.hasFocus()  # back in the table after Enter
    # "Caption again" on that file: a question, not a replacement.
    qtbot.mouseClick(win.detail.again_button, Qt.MouseButton.LeftButton)
    text = answer(qtbot, "cancel")
    assert "You wrote this file's description" in text and "history" in text
    _settled(qtbot, win)
    assert Library.open(library_db).queue_counts().queued == 0
    # The same on two files, one of them mine: keep mine, caption the other.
    click_row(qtbot, win.table, row_of(win, "snare_crack.wav"), CTRL)
    assert len(win.selected_rows()) == 2
    with qtbot.waitSignal(mirror.idle, timeout=WAIT_MS):
        qtbot.keyClick(win.table, Qt.Key.Key_R, CTRL)  # Captioning -> Caption selection again
        assert "1 of these 2 files" in answer(qtbot, "keep")
    _settled(qtbot, win)
    assert caption_of(library_db, "kick_low.wav").text == "my kick, deep and short"
    assert caption_of(library_db, "snare_crack.wav").source == "model"
    assert [Path(p).name for p in fake.captioned_paths] == ["snare_crack.wav"]


def test_a_replaced_caption_comes_back_with_undo_and_from_the_history(
    qtbot, make_window, library_db
):
    win = make_window(library_db)
    mirror = WorkerMirror(win.captioning.worker)
    kick = row_of(win, "kick_low.wav")
    _type_description(qtbot, win, kick, "my own kick")
    qtbot.keyClick(win.detail.caption_edit, Qt.Key.Key_Return)
    _settled(qtbot, win)
    click_row(qtbot, win.table, kick)
    with qtbot.waitSignal(mirror.idle, timeout=WAIT_MS):
        qtbot.mouseClick(win.detail.again_button, Qt.MouseButton.LeftButton)
        answer(qtbot, "replace")
    _settled(qtbot, win)
    assert caption_of(library_db, "kick_low.wav").source == "model"
    qtbot.waitUntil(lambda: win.detail.caption_edit.toPlainText().startswith("a sound of"))
    # Ctrl+Z in the table: my words are back.
    win.table.setFocus()
    assert win.window_actions.undo.isEnabled()
    qtbot.keyClick(win.table, Qt.Key.Key_Z, CTRL)
    _settled(qtbot, win)
    assert caption_of(library_db, "kick_low.wav").text == "my own kick"
    qtbot.waitUntil(lambda: win.detail.caption_edit.toPlainText() == "my own kick")
    # The history lists all three versions; restoring the AI caption is one click away.
    qtbot.mouseClick(win.detail.history_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.dialog("history") is not None, timeout=WAIT_MS)
    dialog = win.dialog("history")
    texts = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    assert len(texts) == 2 and any(t.startswith("a sound of") for t in texts)
    assert texts[0].startswith("a sound of") and "my own kick" in texts[1]
    dialog.list.setCurrentRow(0)
    qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
    reactivate(qtbot, win)
    _settled(qtbot, win)
    assert caption_of(library_db, "kick_low.wav").source == "model"
    qtbot.keyClick(win.table, Qt.Key.Key_Z, CTRL)  # and that restore is undoable too
    _settled(qtbot, win)
    assert caption_of(library_db, "kick_low.wav").text == "my own kick"


def test_cancel_queued_asks_with_the_count(qtbot, make_window, library_db):
    win = make_window(library_db)
    with Library.open(library_db) as library:
        library.enqueue("all")  # queued by another session; this window has not started
    win.library_actions.refresh_snapshot()
    qtbot.waitUntil(win.queue_panel.cancel_button.isEnabled, timeout=WAIT_MS)
    qtbot.mouseClick(win.queue_panel.cancel_button, Qt.MouseButton.LeftButton)
    assert f"{len(SOUNDS)} waiting" in answer(qtbot, "cancel")
    _settled(qtbot, win)
    assert Library.open(library_db).queue_counts().queued == len(SOUNDS)
    qtbot.mouseClick(win.queue_panel.cancel_button, Qt.MouseButton.LeftButton)
    answer(qtbot, "cancel_jobs")
    _settled(qtbot, win)
    assert Library.open(library_db).queue_counts().queued == 0


def test_delete_asks_then_removes_from_the_library_only(qtbot, make_window, library_db):
    win = make_window(library_db)
    row = row_of(win, "alarm_beep.wav")
    path = Path(win.file_model.row_at(row).path)
    click_row(qtbot, win.table, row)
    qtbot.keyClick(win.table, Qt.Key.Key_Delete)
    text = answer(qtbot, "cancel")
    assert "Remove alarm_beep.wav from the library?" in text and "not touched" in text
    _settled(qtbot, win)
    assert win.file_model.rowCount() == len(SOUNDS)
    qtbot.keyClick(win.table, Qt.Key.Key_Delete)
    answer(qtbot, "remove")
    _settled(qtbot, win)
    qtbot.waitUntil(lambda: win.file_model.rowCount() == len(SOUNDS) - 1, timeout=WAIT_MS)
    assert path.is_file()  # the sound itself is untouched


def test_removing_a_library_folder_asks_first_and_says_what_it_forgets(
    qtbot, make_window, library_db
):
    win = make_window(library_db)
    _type_description(qtbot, win, row_of(win, "kick_low.wav"), "mine")
    qtbot.keyClick(win.detail.caption_edit, Qt.Key.Key_Return)
    _settled(qtbot, win)
    win.window_actions.settings.trigger()  # File -> Settings…
    qtbot.waitUntil(lambda: win.dialog("settings") is not None, timeout=WAIT_MS)
    dialog = win.dialog("settings")
    qtbot.waitExposed(dialog)
    item = dialog.roots.item(0)
    qtbot.mouseClick(
        dialog.roots.viewport(),
        Qt.MouseButton.LeftButton,
        pos=dialog.roots.visualItemRect(item).center(),
    )
    remove = dialog.findChild(type(dialog.ok_button), "removeRoot")
    qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)
    text = answer(qtbot, "cancel")
    assert f"{len(SOUNDS)} file(s)" in text and "1 written by you" in text
    assert dialog.roots.count() == 1  # kept
    qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)
    answer(qtbot, "remove")
    assert dialog.roots.count() == 0
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    _settled(qtbot, win)
    with Library.open(library_db) as library:
        assert library.roots() == [] and library.count_files() == 0


def test_a_locked_library_never_freezes_saving_nor_loses_the_edit(qtbot, make_window, library_db):
    from .conftest import LockHolder

    win = make_window(library_db)
    holder = LockHolder(library_db)  # another program holds the write lock
    try:
        _type_description(qtbot, win, row_of(win, "rise_long.wav"), "a long rising sweep")
        qtbot.keyClick(win.detail.caption_edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: win.writer.waiting, timeout=WAIT_MS)
        assert "Waiting for the library" in win.waiting_label.text()
        assert "kept" in win.detail.provenance.text()
        # Meanwhile the window answers: moving around and typing still work.
        click_row(qtbot, win.table, row_of(win, "tone_a440.wav"))
        assert win.detail.file.name == "tone_a440.wav"
        # The edit is on disk already, so even a crash now would not lose it.
        journal = win.writer.journal
        assert [op["args"]["text"] for _, op in journal.pending()] == ["a long rising sweep"]
    finally:
        holder.release()
    _settled(qtbot, win)
    assert caption_of(library_db, "rise_long.wav").text == "a long rising sweep"
    assert not win.waiting_label.isVisible()
    assert win.writer.journal.pending() == []


def test_an_edit_waiting_at_quit_is_saved_at_the_next_start(qtbot, make_window, library_db):
    from .conftest import LockHolder

    win = make_window(library_db)
    holder = LockHolder(library_db)
    try:
        _type_description(qtbot, win, row_of(win, "snare_crack.wav"), "typed while locked")
        qtbot.keyClick(win.detail.caption_edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: win.writer.waiting, timeout=WAIT_MS)
        win.close()  # does not wait for the lock
        assert caption_of(library_db, "snare_crack.wav") is None
    finally:
        holder.release()
    again = make_window(library_db)  # replays the journal
    _settled(qtbot, again)
    assert caption_of(library_db, "snare_crack.wav").text == "typed while locked"
    assert again.writer.journal.pending() == []
    click_row(qtbot, again.table, row_of(again, "snare_crack.wav"))
    assert again.detail.caption_edit.toPlainText() == "typed while locked"


def test_batch_keywords_on_a_selection_and_undo(qtbot, make_window, library_db):
    win = make_window(library_db)
    mirror = WorkerMirror(win.captioning.worker)
    with qtbot.waitSignal(mirror.idle, timeout=WAIT_MS):
        win.window_actions.caption_uncaptioned.trigger()
    _settled(qtbot, win)
    click_row(qtbot, win.table, 0)
    click_row(qtbot, win.table, 2, Qt.KeyboardModifier.ShiftModifier)
    rows = win.selected_rows()
    assert len(rows) == 3
    qtbot.keyClick(win.table, Qt.Key.Key_K, CTRL)  # Edit -> Edit selected files…
    qtbot.waitUntil(lambda: win.dialog("batch") is not None, timeout=WAIT_MS)
    dialog = win.dialog("batch")
    qtbot.keyClicks(dialog.add_edit, "foley, close")
    qtbot.keyClicks(dialog.remove_edit, "tone")
    apply = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(apply, Qt.MouseButton.LeftButton)
    reactivate(qtbot, win)
    _settled(qtbot, win)
    with Library.open(library_db) as library:
        for r in rows:
            assert list(library.get_file(r.id).keywords) == ["foley", "close"]
    win.table.setFocus()
    qtbot.keyClick(win.table, Qt.Key.Key_Z, CTRL)  # the keyword removal
    qtbot.keyClick(win.table, Qt.Key.Key_Z, CTRL)  # the keyword addition
    _settled(qtbot, win)
    with Library.open(library_db) as library:
        for r in rows:
            assert list(library.get_file(r.id).keywords) == ["tone"]


def test_question_boxes_default_to_the_safe_answer(qtbot, make_window, library_db):
    win = make_window(library_db)
    click_row(qtbot, win.table, 0)
    qtbot.keyClick(win.table, Qt.Key.Key_Delete)
    box = question_box(qtbot)
    qtbot.keyClick(box, Qt.Key.Key_Escape)  # Esc never removes anything
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=WAIT_MS)
    _settled(qtbot, win)
    assert win.file_model.rowCount() == len(SOUNDS)
