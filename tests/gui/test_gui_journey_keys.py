"""Journeys of the keyboard and the layout: the habits of sample browsers, a steady window.

Driven with key presses and mouse clicks on the real window (fake captioner, fake sound
device). Geometry checks compare positions before, during and after captioning: a button
that moves under the cursor is the bug these catch.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QComboBox, QPushButton

from desktop.gui.ui_state import UiState
from desktop.gui.views.columns import COLUMNS, column_index
from desktop.library import Library

from .conftest import (
    SOUNDS,
    WAIT_MS,
    FakeCaptioner,
    WorkerMirror,
    click_row,
    write_tone,
)

CTRL = Qt.KeyboardModifier.ControlModifier


def test_ctrl_f_enter_f2_enter_esc_home_end(qtbot, make_window, library_db, sound_device):
    win = make_window(library_db)
    win.table.setFocus()
    qtbot.keyClick(win.table, Qt.Key.Key_F, CTRL)  # Ctrl+F: the search box
    assert win.search.edit.hasFocus()
    qtbot.keyClicks(win.search.edit, "snare")
    qtbot.keyClick(win.search.edit, Qt.Key.Key_Return)  # Enter: search now, go to results
    assert win.table.hasFocus()
    assert [win.file_model.index(r, 0).data() for r in range(win.file_model.rowCount())] == [
        "snare_crack.wav"
    ]
    assert win.detail.file is not None and win.detail.file.name == "snare_crack.wav"
    # The file is selected, not only current: Delete and Ctrl+K act on it (seen under X).
    assert [r.name for r in win.table.selected_rows()] == ["snare_crack.wav"]
    qtbot.keyClick(win.table, Qt.Key.Key_F2)  # F2: edit the description
    assert win.detail.caption_edit.hasFocus()
    qtbot.keyClicks(win.detail.caption_edit, "crisp snare")
    qtbot.keyClick(win.detail.caption_edit, Qt.Key.Key_Return)  # Enter accepts
    assert win.table.hasFocus()
    qtbot.waitUntil(lambda: not win.writer.pending, timeout=WAIT_MS)
    with Library.open(library_db) as library:
        assert library.current_caption(win.detail.file.id).text == "crisp snare"
    # Enter in the table edits too; Esc in the editor gives the keyboard back, edit kept.
    qtbot.keyClick(win.table, Qt.Key.Key_Return)
    assert win.detail.caption_edit.hasFocus()
    qtbot.keyClicks(win.detail.caption_edit, " with room")
    qtbot.keyClick(win.detail.caption_edit, Qt.Key.Key_Escape)
    assert win.table.hasFocus() and win.detail.is_dirty()
    # Space plays; Esc in the search box clears it and stops playback.
    qtbot.keyClick(win.table, Qt.Key.Key_Space)
    assert win.playback.is_playing()
    qtbot.keyClick(win.table, Qt.Key.Key_F, CTRL)
    qtbot.keyClick(win.search.edit, Qt.Key.Key_Escape)
    assert win.search.edit.text() == "" and not win.playback.is_playing()
    qtbot.waitUntil(lambda: win.file_model.rowCount() == len(SOUNDS), timeout=WAIT_MS)
    # Down from the search box goes to the results; Home and End go to first and last file.
    qtbot.keyClick(win.search.edit, Qt.Key.Key_Down)
    assert win.table.hasFocus()
    qtbot.keyClick(win.table, Qt.Key.Key_End)
    assert win.table.currentIndex().row() == len(SOUNDS) - 1
    qtbot.keyClick(win.table, Qt.Key.Key_Home)
    assert win.table.currentIndex().row() == 0
    # The edit left with Esc was saved when the selection moved on.
    qtbot.waitUntil(lambda: not win.writer.pending, timeout=WAIT_MS)
    with Library.open(library_db) as library:
        texts = {r.caption for r in library.list_files(None, 0, 100)}
    assert "crisp snare with room" in texts


def test_play_on_selection_plays_each_file_as_it_is_chosen(
    qtbot, make_window, library_db, sound_device
):
    win = make_window(library_db)
    win.window_actions.autoplay.trigger()  # Playback -> Play on selection
    click_row(qtbot, win.table, 0)
    assert win.playback.is_playing()
    first = win.playback.playing_path
    qtbot.keyClick(win.table, Qt.Key.Key_Down)
    assert win.playback.is_playing() and win.playback.playing_path != first
    assert len(sound_device.streams) == 2
    assert win.detail.play_button.text().endswith("Stop")


def _geometry(win) -> dict[str, tuple[QPoint, object]]:
    widgets = [w for w in win.findChildren(QPushButton) if w.isVisible()]
    widgets += [w for w in win.findChildren(QComboBox) if w.isVisible()]
    widgets += [win.queue_panel.state, win.queue_panel.counts, win.queue_panel.table]
    widgets += [win.detail, win.queue_panel, win.table]
    out = {}
    for w in widgets:
        key = f"{type(w).__name__}:{w.objectName() or getattr(w, 'text', lambda: '')()}"
        out[key] = (w.mapTo(win, QPoint(0, 0)), w.size())
    return out


def test_nothing_moves_while_captioning_starts_runs_and_stops(qtbot, make_window, library_db):
    long_name = "Ambience_Market_Street_Crowd_Voices_Traffic_Horns_Distant_Take_07_final_v2.wav"
    folder = Path(Library.open(library_db).roots()[0].path)
    write_tone(folder / long_name, 0.3, freq=300.0)
    with Library.open(library_db) as library:
        library.scan()
    held, release = threading.Event(), threading.Event()
    fake = FakeCaptioner()

    def hold_long(path: str) -> None:
        if Path(path).name == long_name:
            held.set()
            release.wait(WAIT_MS / 1000)

    fake.before_each = hold_long
    win = make_window(library_db, fake)
    click_row(qtbot, win.table, 0)
    before = _geometry(win)
    mirror = WorkerMirror(win.captioning.worker)
    win.window_actions.caption_uncaptioned.trigger()
    qtbot.waitUntil(held.is_set, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: long_name[:20] in win.queue_panel.state.text(), timeout=WAIT_MS)
    QApplication.processEvents()
    during = _geometry(win)
    with qtbot.waitSignal(mirror.idle, timeout=WAIT_MS):
        release.set()
    qtbot.waitUntil(lambda: win.queue_panel.state.text() == "Models ready", timeout=WAIT_MS)
    QApplication.processEvents()
    after = _geometry(win)
    moved = {k: (before[k], during.get(k)) for k in before if during.get(k) != before[k]}
    assert not moved, moved
    moved = {k: (before[k], after.get(k)) for k in before if after.get(k) != before[k]}
    assert not moved, moved
    assert win.queue_panel.bar.value() == 0  # nothing left part-filled


def test_first_launch_offers_a_way_in_and_disables_what_means_nothing(qtbot, make_window, tmp_path):
    win = make_window(tmp_path / "fresh.db")
    assert win.centre_stack.currentWidget() is win.empty_state
    assert win.empty_state.add_folder.isVisible() and win.empty_state.add_files.isVisible()
    assert not win.detail.play_button.isEnabled()
    assert not win.queue_panel.pause_button.isEnabled()
    assert not win.queue_panel.cancel_button.isEnabled()
    assert not win.window_actions.export.isEnabled()
    assert not win.window_actions.rescan.isEnabled()
    assert not win.window_actions.remove.isEnabled()
    menus = {
        m.title().replace("&", ""): m
        for m in win.menuBar().findChildren(type(win.menuBar().addMenu("x")))
    }
    file_entries = [a.text() for a in menus["File"].actions()]
    assert "Add files…" in file_entries and "Add folder…" in file_entries
    help_entries = [a.text() for a in menus["Help"].actions()]
    assert "About Earmark" in help_entries and "Keyboard shortcuts" in help_entries
    qtbot.keyClick(win, Qt.Key.Key_F1)  # the shortcut list
    qtbot.waitUntil(lambda: win.dialog("shortcuts") is not None, timeout=WAIT_MS)
    table = win.dialog("shortcuts").table
    listed = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert listed["Find"] == "Ctrl+F" and listed["Undo"] == "Ctrl+Z"
    assert listed["Remove from library"] == "Del"


def test_layout_sort_and_search_mode_are_remembered(qtbot, make_window, library_db):
    win = make_window(library_db)
    header = win.table.horizontalHeader()
    name = column_index("name")
    header.resizeSection(name, 260)
    qtbot.mouseClick(  # sort by Length, then descending
        header.viewport(),
        Qt.MouseButton.LeftButton,
        pos=QPoint(header.sectionViewportPosition(column_index("duration")) + 10, 8),
    )
    qtbot.mouseClick(
        header.viewport(),
        Qt.MouseButton.LeftButton,
        pos=QPoint(header.sectionViewportPosition(column_index("duration")) + 10, 8),
    )
    assert win.file_model.query.sort == "duration_s" and win.file_model.query.descending
    win.table.set_column_hidden("format", True)
    win.search.set_search_mode("hybrid")
    sizes = [200, 600, 480]
    win.main_splitter.setSizes(sizes)
    kept = win.main_splitter.sizes()
    win.close()
    again = make_window(library_db)
    assert again.table.horizontalHeader().sectionSize(name) == 260
    assert again.table.column_hidden("format")
    assert again.file_model.query.sort == "duration_s" and again.file_model.query.descending
    lengths = [again.file_model.row_at(r).duration_s for r in range(again.file_model.rowCount())]
    assert lengths == sorted(lengths, reverse=True)
    assert again.search.search_mode() == "hybrid"
    assert again.main_splitter.sizes() == kept


def test_the_column_chooser_hides_and_brings_back_columns(qtbot, make_window, library_db):
    win = make_window(library_db)
    menu = win.table.column_menu()
    entries = {a.text(): a for a in menu.actions() if a.isCheckable()}
    assert set(entries) == {c.title for c in COLUMNS}
    assert not entries["Description"].isEnabled()  # the description always stays
    was_hidden = win.table.column_hidden("keywords")
    entries["Keywords"].trigger()
    assert win.table.column_hidden("keywords") != was_hidden
    reset = next(a for a in menu.actions() if a.text() == "Reset columns")
    reset.trigger()
    assert not win.table.column_hidden("name")


def _clipped(win) -> list[str]:
    """Cells of visible fixed-width columns whose text does not fit their column."""
    table, metrics = win.table, win.table.fontMetrics()
    problems = []
    for index, column in enumerate(COLUMNS):
        if table.isColumnHidden(index) or column.stretch:
            continue
        width = table.columnWidth(index)
        header = win.table.horizontalHeader().fontMetrics().horizontalAdvance(column.title.upper())
        if header + 12 > width:
            problems.append(f"header {column.title} ({header} > {width})")
        for row in range(win.file_model.rowCount()):
            text = win.file_model.index(row, index).data() or ""
            if metrics.horizontalAdvance(text) + 12 > width:
                problems.append(f"{column.title}: {text!r} in {width} px")
    return problems


def test_default_columns_show_full_values_at_1024_and_1440(qtbot, make_window, library_db):
    for size in ((1024, 680), (1440, 900)):
        win = make_window(library_db, size=size, ui_state=UiState())  # a first launch
        qtbot.waitUntil(lambda w=win: w.table._layout_applied, timeout=WAIT_MS)
        assert _clipped(win) == [], size
        shown = [c.key for i, c in enumerate(COLUMNS) if not win.table.isColumnHidden(i)]
        assert {"name", "caption", "duration"} <= set(shown), size
        assert win.table.columnWidth(column_index("caption")) >= 200, size
        assert win.search.edit.width() >= 200, size
        if size[0] == 1440:
            assert {"keywords", "format", "rate"} <= set(shown)
        win.close()


def test_names_sort_naturally_and_ignore_case(qtbot, make_window, tmp_path):
    folder = tmp_path / "hits"
    folder.mkdir()
    for name in ("kick 10.wav", "Kick 2.wav", "kick 1.wav", "Snare.wav", "apple.wav"):
        write_tone(folder / name, 0.1, freq=200.0)
    db = tmp_path / "hits.db"
    with Library.open(db) as library:
        library.add_root(folder)
        library.scan()  # as the CLI would: keys only lower-cased so far
    win = make_window(db)  # refines the keys at start and re-reads
    expected = ["apple.wav", "kick 1.wav", "Kick 2.wav", "kick 10.wav", "Snare.wav"]
    qtbot.waitUntil(
        lambda: [win.file_model.index(r, 0).data() for r in range(5)] == expected,
        timeout=WAIT_MS,
    )


def test_a_rescan_keeps_my_place_and_my_unsaved_words(qtbot, make_window, library_db):
    win = make_window(library_db)
    row = [win.file_model.index(r, 0).data() for r in range(win.file_model.rowCount())].index(
        "rise_long.wav"
    )
    click_row(qtbot, win.table, row)
    qtbot.keyClick(win.table, Qt.Key.Key_F2)
    qtbot.keyClicks(win.detail.caption_edit, "half typed")
    qtbot.waitUntil(win.window_actions.rescan.isEnabled, timeout=WAIT_MS)
    win.window_actions.rescan.trigger()  # F5 from the menu while typing
    qtbot.waitUntil(lambda: "Scan finished" in win.statusBar().currentMessage(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: win.runner.pending == 0, timeout=WAIT_MS)
    assert win.detail.file is not None and win.detail.file.name == "rise_long.wav"
    assert win.detail.caption_edit.toPlainText() == "half typed" and win.detail.is_dirty()
    assert win.table.current_file().name == "rise_long.wav"
