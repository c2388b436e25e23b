"""The caption worker: signal order with a fake captioner, missing models, pause, embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QObject, Signal

from captioner.errors import ModelNotFoundError
from desktop.gui.worker import CaptionWorker, WorkerThread
from desktop.library import Library
from desktop.settings import AppSettings

from .conftest import FakeCaptioner, WorkerMirror

WAIT_MS = 10_000


class _Driver(QObject):
    go = Signal()
    stop = Signal()


@pytest.fixture
def make_worker(qtbot):
    started: list[tuple[WorkerThread, _Driver, CaptionWorker]] = []

    def make(db: Path, factory) -> tuple[CaptionWorker, _Driver, WorkerMirror]:
        thread = WorkerThread()
        worker = CaptionWorker(db, AppSettings(), factory)
        worker.moveToThread(thread)
        driver = _Driver()
        driver.go.connect(worker.run_queue)
        driver.stop.connect(worker.shutdown)
        thread.start()
        started.append((thread, driver, worker))  # keeps the worker alive until teardown
        return worker, driver, WorkerMirror(worker)

    yield make
    for thread, driver, _worker in started:
        driver.stop.emit()
        assert thread.wait(WAIT_MS)


def _queue(db: Path, names: list[str]) -> list[int]:
    with Library.open(db) as library:
        ids = [r.id for r in library.list_files(None, 0, 100) if r.name in names]
        library.enqueue(ids)
        return ids


def test_signals_in_strict_order(qtbot, library_db: Path, make_worker) -> None:
    fake = FakeCaptioner()
    _worker, driver, sig = make_worker(library_db, lambda _s: fake)
    kick, snare = _queue(library_db, ["kick_low.wav", "snare_crack.wav"])
    with Library.open(library_db) as library:
        first = library.jobs("queued")[0].file_id
    second = snare if first == kick else kick
    signals = [
        sig.loadingStarted,
        sig.modelLoaded,
        sig.jobStarted,
        sig.captioned,
        sig.progress,
        sig.jobStarted,
        sig.captioned,
        sig.progress,
        sig.idle,
    ]
    seen: list[tuple] = []
    for signal in (sig.jobStarted, sig.captioned, sig.progress):
        signal.connect(lambda *a: seen.append(a))
    with qtbot.waitSignals(signals, order="strict", timeout=WAIT_MS):
        driver.go.emit()
    assert [a for a in seen] == [(first,), (first,), (1, 2), (second,), (second,), (2, 2)]
    with Library.open(library_db) as library:
        assert library.queue_counts().done == 2
        assert library.current_caption(first).text.startswith("a sound of")


def test_bad_file_fails_and_queue_goes_on(
    qtbot, library_db: Path, sound_folder: Path, make_worker
) -> None:
    broken = sound_folder / "broken_take.wav"
    (sound_folder / "tone_a440.wav").rename(broken)
    with Library.open(library_db) as library:
        library.scan()
    _worker, driver, sig = make_worker(library_db, lambda _s: FakeCaptioner())
    _queue(library_db, ["broken_take.wav", "kick_low.wav"])
    failures: list[tuple[int, str]] = []
    sig.failed.connect(lambda fid, msg: failures.append((fid, msg)))
    with qtbot.waitSignal(sig.idle, timeout=WAIT_MS):
        driver.go.emit()
    assert [m for _, m in failures] == ["audio could not be decoded"]
    with Library.open(library_db) as library:
        counts = library.queue_counts()
        assert (counts.done, counts.failed, counts.queued) == (1, 1, 0)


def test_missing_models_reported_and_jobs_kept(qtbot, library_db: Path, make_worker) -> None:
    def missing(_settings: AppSettings):
        raise ModelNotFoundError("model x is not on this computer; download it with: ...")

    _worker, driver, sig = make_worker(library_db, missing)
    _queue(library_db, ["kick_low.wav"])
    messages: list[str] = []
    sig.modelsMissing.connect(messages.append)
    with qtbot.waitSignals([sig.modelsMissing, sig.idle], order="strict", timeout=WAIT_MS):
        driver.go.emit()
    assert len(messages) == 1 and "not on this computer" in messages[0]
    with Library.open(library_db) as library:
        assert library.queue_counts().queued == 1


def test_pause_finishes_current_file_and_keeps_the_rest(
    qtbot, library_db: Path, make_worker
) -> None:
    fake = FakeCaptioner()
    worker, driver, sig = make_worker(library_db, lambda _s: fake)
    # Pausing from inside the first caption mimics a click while a file is being captioned.
    fake.before_each = lambda _path: worker.set_paused(True)
    _queue(library_db, ["kick_low.wav", "snare_crack.wav", "rise_long.wav"])
    with qtbot.waitSignal(sig.idle, timeout=WAIT_MS):
        driver.go.emit()
    with Library.open(library_db) as library:
        counts = library.queue_counts()
    assert (counts.done, counts.queued, counts.running) == (1, 2, 0)
    # While paused a wake-up does nothing; resuming finishes the queue.
    fake.before_each = None
    with qtbot.waitSignal(sig.idle, timeout=WAIT_MS):
        driver.go.emit()
    with Library.open(library_db) as library:
        assert library.queue_counts().queued == 2
    worker.set_paused(False)
    with qtbot.waitSignal(sig.idle, timeout=WAIT_MS):
        driver.go.emit()
    with Library.open(library_db) as library:
        assert library.queue_counts().done == 3


def test_text_embedding_is_answered_by_the_worker_thread(
    qtbot, library_db: Path, make_worker
) -> None:
    worker, _driver, sig = make_worker(library_db, lambda _s: FakeCaptioner())
    with qtbot.waitSignal(sig.textEmbedded, timeout=WAIT_MS) as blocker:
        worker.request_text_embedding("rain on a roof")
    text, vector = blocker.args
    assert text == "rain on a roof"
    assert np.asarray(vector).shape == (8,)


def test_real_loader_reports_missing_models_without_importing_torch(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from captioner.errors import ModelNotFoundError\n"
        "from desktop.settings import AppSettings\n"
        "from desktop.gui.worker import load_captioner\n"
        "try:\n"
        f"    load_captioner(AppSettings(clap={str(tmp_path / 'absent')!r}))\n"
        "except ModelNotFoundError as exc:\n"
        "    print('missing:', exc)\n"
        "print('torch imported:', 'torch' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=root
    ).stdout
    assert "missing:" in out and "absent" in out
    assert "torch imported: False" in out


def test_the_paper_preset_means_the_same_models_as_on_the_command_line(tmp_path) -> None:
    from captioner.models import DEFAULT_CLAP, WAVCAPS_FOLDER, default_clap_for_preset, models_dir
    from desktop.gui.worker import model_refs

    assert model_refs(AppSettings(preset="paper")) == (DEFAULT_CLAP, "facebook/opt-1.3b")
    (models_dir() / WAVCAPS_FOLDER).mkdir(parents=True)  # an imported WavCaps model
    assert model_refs(AppSettings(preset="paper"))[0] == default_clap_for_preset("paper")
    assert model_refs(AppSettings(preset="paper"))[0].endswith(WAVCAPS_FOLDER)
    assert model_refs(AppSettings(preset="default"))[0] == DEFAULT_CLAP
    chosen = str(tmp_path / "my-clap")
    assert model_refs(AppSettings(preset="paper", clap=chosen))[0] == chosen
