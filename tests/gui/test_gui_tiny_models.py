"""The window with the real engine: tiny random-weight models caption files, the table updates."""

from __future__ import annotations

from pathlib import Path

from desktop.gui.main_window import MainWindow
from desktop.library import Library
from desktop.settings import AppSettings

from .conftest import SOUNDS, WorkerMirror

WAIT_MS = 60_000


def test_tiny_models_caption_through_the_window(qtbot, library_db: Path, tiny_models: Path) -> None:
    settings = AppSettings(
        clap=str(tiny_models / "clap"), llm=str(tiny_models / "llm"), device="cpu"
    )
    # The real loader (desktop.gui.worker.load_captioner) runs on the worker thread.
    window = MainWindow(library_db, settings, autostart=False)
    qtbot.addWidget(window)
    with Library.open(library_db) as library:
        ids = [r.id for r in library.list_files(None, 0, 2)]
        library.enqueue(ids)
    loaded: list[str] = []
    sig = WorkerMirror(window.captioning.worker)
    sig.modelLoaded.connect(loaded.append)
    with qtbot.waitSignals(
        [sig.loadingStarted, sig.modelLoaded, sig.idle],
        order="strict",
        timeout=WAIT_MS,
    ):
        window.captioning.start()
    assert loaded and loaded[0]
    with Library.open(library_db) as library:
        records = [library.current_caption(i) for i in ids]
        assert library.queue_counts().done == 2
    assert all(r is not None and r.text.strip() and r.source == "model" for r in records)
    shown = {
        window.file_model.row_at(r).id: window.file_model.index(r, 1).data()
        for r in range(len(SOUNDS))
    }
    for file_id, record in zip(ids, records):
        assert shown[file_id] == record.text
