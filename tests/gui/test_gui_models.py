"""Item models: Qt's model tester, lazy blocks, sorting, search and drag-out mime data."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtTest import QAbstractItemModelTester

from desktop.gui.background import load_snapshot
from desktop.gui.views import file_model as fm
from desktop.gui.views.columns import COLUMNS
from desktop.gui.views.file_model import FileTableModel
from desktop.gui.views.side_models import FOLDER_ROLE, FolderTreeModel, QueueModel
from desktop.library import FileQuery, Library

from .conftest import SOUNDS

Mode = QAbstractItemModelTester.FailureReportingMode


@pytest.fixture
def library(library_db: Path) -> Library:
    lib = Library.open(library_db)
    yield lib  # type: ignore[misc]
    lib.close()


def _names(model: FileTableModel) -> list[str]:
    return [model.index(r, 0).data() for r in range(model.rowCount())]


def test_file_model_passes_tester_through_queries_and_sorts(qtbot, library: Library) -> None:
    model = FileTableModel(library)
    QAbstractItemModelTester(model, Mode.Fatal)
    assert model.rowCount() == len(SOUNDS)
    assert model.columnCount() == len(COLUMNS)
    model.sort(3, Qt.SortOrder.DescendingOrder)  # length
    lengths = [model.row_at(r).duration_s for r in range(model.rowCount())]
    assert lengths == sorted(lengths, reverse=True)
    model.set_query(FileQuery(text="snare"))
    assert _names(model) == ["snare_crack.wav"]
    model.set_query(FileQuery(text="no such sound anywhere"))
    assert model.rowCount() == 0
    model.set_query(FileQuery())
    assert sorted(_names(model)) == sorted(Path(p).name for p, _, _ in SOUNDS)


def test_file_model_fetches_in_blocks(qtbot, library: Library, monkeypatch) -> None:
    monkeypatch.setattr(fm, "BLOCK_ROWS", 2)
    calls: list[tuple[int, int]] = []
    real = library.list_files

    def counting(query=None, offset=0, limit=100):
        calls.append((offset, limit))
        return real(query, offset, limit)

    monkeypatch.setattr(library, "list_files", counting)
    model = FileTableModel(library)
    assert calls == []  # only the count is read up front
    model.index(0, 0).data()
    model.index(1, 1).data()
    assert calls == [(0, 2)]
    model.index(4, 0).data()
    assert calls == [(0, 2), (4, 2)]
    QAbstractItemModelTester(model, Mode.Fatal)


def test_fixed_list_sorts_and_mime_data_gives_file_urls(qtbot, library: Library) -> None:
    model = FileTableModel(library)
    QAbstractItemModelTester(model, Mode.Fatal)
    rows = [model.row_at(r) for r in range(3)]
    model.show_rows(rows)
    assert model.is_fixed_list() and model.rowCount() == 3
    model.sort(0, Qt.SortOrder.DescendingOrder)
    names = _names(model)
    assert names == sorted(names, reverse=True)
    mime = model.mimeData([model.index(0, 0), model.index(0, 1), model.index(2, 0)])
    paths = [u.toLocalFile() for u in mime.urls()]
    assert paths == [model.row_at(0).path, model.row_at(2).path]
    assert all(Path(p).is_file() for p in paths)
    assert model.flags(model.index(0, 0)) & Qt.ItemFlag.ItemIsDragEnabled


def test_folder_tree_nests_folders_with_totals(qtbot, library_db: Path) -> None:
    model = FolderTreeModel()
    QAbstractItemModelTester(model, Mode.Fatal)
    snap = load_snapshot(library_db)
    model.populate(snap.roots, snap.folders)
    assert model.index(0, 0).data() == "All sounds"
    assert model.index(0, 1).data() == str(len(SOUNDS))
    root = model.index(1, 0)
    children = {model.index(r, 0, root).data(): r for r in range(model.rowCount(root))}
    assert set(children) == {"drums", "fx"}
    fx = model.index(children["fx"], 0, root)
    assert model.index(children["fx"], 1, root).data() == "2"  # includes fx/sub
    sub = model.index(0, 0, fx)
    assert sub.data() == "sub"
    assert sub.data(FOLDER_ROLE).endswith("fx/sub")
    model.populate(snap.roots, snap.folders)  # rebuilding keeps the tester happy
    assert model.rowCount(QModelIndex()) == 2


def test_queue_model_shows_states_and_reasons(qtbot, library_db: Path) -> None:
    with Library.open(library_db) as library:
        library.enqueue("all")
        job = library.claim_jobs(1)[0]
        library.fail_job(job.id, "audio could not be decoded")
    model = QueueModel()
    QAbstractItemModelTester(model, Mode.Fatal)
    model.set_jobs(load_snapshot(library_db).jobs)
    assert model.rowCount() == len(SOUNDS)
    states = [model.index(r, 0).data() for r in range(model.rowCount())]
    assert states.count("Queued") == len(SOUNDS) - 1
    failed = states.index("Failed")
    assert model.index(failed, 2).data() == "audio could not be decoded"


def test_far_blocks_arrive_from_the_background_reader(
    qtbot, library_db: Path, library: Library, monkeypatch
) -> None:
    monkeypatch.setattr(fm, "BLOCK_ROWS", 1)
    model = FileTableModel(library, background_db=library_db)
    try:
        QAbstractItemModelTester(model, Mode.Fatal)
        expected = [r.name for r in library.list_files(None, 0, 100)]
        assert model.index(0, 0).data() == expected[0]  # first block: read at once
        far = model.index(3, 0)
        placeholder = far.data()
        # Far from block 0: a placeholder until the background read lands.
        qtbot.waitUntil(lambda: model.index(3, 0).data() == expected[3], timeout=10_000)
        assert placeholder in ("…", expected[3])
        assert model.row_at(3).name == expected[3]
        # A new query drops answers for the old one.
        model.set_query(FileQuery(text="snare"))
        assert [model.index(r, 0).data() for r in range(model.rowCount())] == ["snare_crack.wav"]
    finally:
        model.shutdown()
