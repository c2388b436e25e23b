"""Widgets and helpers on their own: waveform overview and cache, playback, settings, tasks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QCoreApplication, QThreadPool

from desktop.gui.controllers import playback
from desktop.gui.controllers.playback import NO_DEVICE_MESSAGE, PlaybackController
from desktop.gui.tasks import TaskRunner
from desktop.gui.views.detail import DetailPanel
from desktop.gui.views.waveform import WaveformView
from desktop.gui.waveforms import WaveformCache, compute_overview
from desktop.settings import AppSettings

WAIT_MS = 10_000


def test_overview_holds_min_and_max_per_bucket(tmp_path: Path) -> None:
    rate = 8000
    data = np.zeros((rate * 2, 2), dtype=np.float32)
    data[rate // 2 : rate, 0] = 0.8  # a loud block in the first quarter's second half
    data[rate // 2 : rate, 1] = 0.4
    data[rate + 100, :] = -0.5
    path = tmp_path / "steps.wav"
    sf.write(str(path), data, rate, subtype="FLOAT")
    overview = compute_overview(path, buckets=4)
    assert overview.shape == (4, 2)
    np.testing.assert_allclose(overview[0], [0.0, 0.0])
    np.testing.assert_allclose(overview[1], [0.6, 0.6], atol=1e-6)  # mono mix of 0.8 and 0.4
    np.testing.assert_allclose(overview[2], [-0.5, 0.0], atol=1e-6)


def test_overview_of_long_file_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "long.flac"
    sf.write(str(path), np.random.default_rng(0).uniform(-1, 1, 300_001) * 0.5, 16000)
    overview = compute_overview(path, buckets=800)
    assert 790 <= len(overview) <= 800
    assert overview[:, 0].min() >= -0.5 and overview[:, 1].max() <= 0.5


def test_cache_reuses_disk_copy_and_notices_edits(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    sf.write(str(path), np.full(4000, 0.25, dtype=np.float32), 8000, subtype="FLOAT")
    cache = WaveformCache(tmp_path / "cache")
    assert cache.peek(path) is None
    first = cache.get(path)
    assert cache.peek(path) is first
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    fresh = WaveformCache(tmp_path / "cache")  # a new session reads the disk copy
    np.testing.assert_array_equal(fresh.get(path), first)
    sf.write(str(path), np.full(4000, -0.75, dtype=np.float32), 8000, subtype="FLOAT")
    assert fresh.get(path)[:, 0].min() == pytest.approx(-0.75)


def test_unreadable_file_raises_and_view_shows_message(qtbot, tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    from captioner.errors import AudioDecodeError

    with pytest.raises(AudioDecodeError):
        compute_overview(bad)
    view = WaveformView()
    qtbot.addWidget(view)
    view.resize(300, 100)
    view.set_overview(None, "Cannot read audio")
    assert not view.grab().isNull()
    view.set_overview(np.array([[-0.5, 0.5]] * 50, dtype=np.float32))
    view.set_playhead(0.5)
    image = view.grab().toImage()
    # The filled shape reaches above and below the centre line.
    centre_column = [image.pixelColor(150, y).red() for y in range(10, 90)]
    assert max(centre_column) > 150


class _NoPortAudio:
    def __getattr__(self, name: str):
        raise AssertionError("must not be used")


def test_playback_without_portaudio_or_device_says_so(qtbot, tone: Path) -> None:
    def no_library():
        raise OSError("PortAudio library not found")

    player = PlaybackController(load_backend=no_library)
    with qtbot.waitSignal(player.failed, timeout=WAIT_MS) as blocker:
        assert player.play(tone) is False
    assert blocker.args[0].startswith(NO_DEVICE_MESSAGE)
    assert not player.is_playing()


def test_playback_on_this_machine_never_crashes(qtbot, tone: Path) -> None:
    """Real sounddevice: plays where there is a device, else reports the plain message."""
    messages: list[str] = []
    player = PlaybackController()
    player.failed.connect(messages.append)
    ok = player.play(tone)
    if ok:
        assert player.is_playing()
        with qtbot.waitSignal(player.stopped, timeout=WAIT_MS):
            player.toggle(tone)
    else:
        assert messages and messages[0].startswith(NO_DEVICE_MESSAGE)


def test_playback_of_unreadable_file_names_it(qtbot, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(playback, "_import_sounddevice", lambda: _NoPortAudio())
    bad = tmp_path / "junk.wav"
    bad.write_bytes(b"junk")
    player = PlaybackController()
    with qtbot.waitSignal(player.failed, timeout=WAIT_MS) as blocker:
        player.play(bad)
    assert "junk.wav" in blocker.args[0]


def test_settings_round_trip_and_bad_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings = AppSettings(clap="/models/clap", preset="paper", overrides={"beta": 0.4})
    settings.save(path)
    assert AppSettings.load(path) == settings
    path.write_text(json.dumps({"batch_size": "many"}))
    assert AppSettings.load(path) == AppSettings()
    assert (tmp_path / "settings.json.bad").is_file()
    assert AppSettings.load(tmp_path / "absent.json") == AppSettings()


def test_task_runner_delivers_results_and_errors_on_the_gui_thread(qtbot) -> None:
    from PySide6.QtCore import QThread

    runner = TaskRunner(QThreadPool())
    gui_thread = QThread.currentThread()
    results: list[object] = []
    progress: list[tuple[int, bool]] = []

    def record(result) -> None:
        value = result.value if result.ok else result.error
        results.append((value, QThread.currentThread() == gui_thread))

    def counting(ctx) -> int:
        for step in range(3):
            ctx.report(step)
        return 6 * 7

    runner.run(
        counting, record, lambda p: progress.append((p, QThread.currentThread() == gui_thread))
    )
    runner.run(lambda _ctx: 1 / 0, record)
    qtbot.waitUntil(lambda: len(results) == 2, timeout=WAIT_MS)
    values = dict((type(v).__name__, on_gui) for v, on_gui in results)
    assert values == {"int": True, "ZeroDivisionError": True}
    assert progress == [(0, True), (1, True), (2, True)]  # in order, before the result
    assert runner.pending == 0


def test_a_cancelled_task_stops_at_its_next_check(qtbot) -> None:
    import threading

    runner = TaskRunner(QThreadPool())
    started = threading.Event()
    results = []

    def loop(ctx) -> int:
        started.set()
        steps = 0
        while not ctx.cancelled():
            steps += 1
            threading.Event().wait(0.001)
        return steps

    handle = runner.run(loop, results.append)
    assert started.wait(5)
    handle.cancel()
    qtbot.waitUntil(lambda: bool(results), timeout=WAIT_MS)
    assert results[0].ok and results[0].value >= 1


def test_detail_panel_accept_needs_an_edit(qtbot) -> None:
    panel = DetailPanel()
    qtbot.addWidget(panel)
    assert not panel.accept_button.isEnabled()
    panel.keywords_edit.setText("Rain, rain , roof,,")
    assert panel.keywords() == ["Rain", "roof"]


class _FakeStream:
    def __init__(self, samplerate, channels, dtype, callback, finished_callback) -> None:
        self.samplerate, self.channels = samplerate, channels
        self.callback, self.finished_callback = callback, finished_callback
        self.started = self.closed = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True


class _FakeSoundDevice:
    class PortAudioError(Exception):
        pass

    class CallbackStop(Exception):
        pass

    def __init__(self) -> None:
        self.streams: list[_FakeStream] = []

    def OutputStream(self, **kwargs):
        stream = _FakeStream(**kwargs)
        self.streams.append(stream)
        return stream


def test_playback_streams_the_file_and_a_late_finish_cannot_stop_the_next(
    qtbot, tone: Path, tmp_path: Path, monkeypatch
) -> None:
    import threading

    device = _FakeSoundDevice()
    monkeypatch.setattr(playback, "_stop_exception", lambda: device.CallbackStop())
    player = PlaybackController(load_backend=lambda: device)
    with qtbot.waitSignal(player.started, timeout=WAIT_MS):
        assert player.play(tone)
    first = device.streams[0]
    assert (first.samplerate, first.channels) == (16000, 1)
    out = np.zeros((4000, 1), dtype=np.float32)
    first.callback(out, 4000, None, None)  # PortAudio asks for a block
    expected, _ = sf.read(str(tone), frames=4000, dtype="float32")
    np.testing.assert_allclose(out[:, 0], expected, atol=1e-4)
    other = tmp_path / "other.wav"
    sf.write(str(other), np.zeros((800, 2), dtype=np.float32), 8000)
    player.play(other)  # replaces the first stream
    assert first.closed and player.playing_path == str(other)
    # The first stream's "finished" arrives late, from PortAudio's thread: ignored.
    late = threading.Thread(target=first.finished_callback)
    late.start()
    late.join()
    QCoreApplication.processEvents()  # the queued report was posted before join returned
    assert player.is_playing()
    second = device.streams[1]
    with qtbot.waitSignal(player.stopped, timeout=WAIT_MS):
        with pytest.raises(device.CallbackStop):
            second.callback(np.zeros((1000, 2), dtype=np.float32), 1000, None, None)
        threading.Thread(target=second.finished_callback).start()
    assert not player.is_playing()


def test_signals_can_be_emitted_forever(qtbot) -> None:
    """PySide6 6.12.0 loses a reference to True per emit; the guard keeps a reserve."""
    import sys

    from PySide6.QtCore import QObject, Signal

    from desktop.gui import qt_fixes

    class Talker(QObject):
        said = Signal(object)

    talker = Talker()
    if not qt_fixes.emit_leaks_references():
        pytest.skip("this Qt binding does not lose references on emit")
    assert qt_fixes.install_refcount_guard()
    start = sys.getrefcount(True)
    assert start >= qt_fixes.RESERVE
    for _ in range(50_000):
        talker.said.emit(None)
    assert sys.getrefcount(True) < start - 49_000  # the leak is real...
    qtbot.wait(400)  # ...and the guard's timer refills the reserve
    assert sys.getrefcount(True) >= qt_fixes.RESERVE
    assert sys.getrefcount(None) >= qt_fixes.RESERVE


def test_edit_journal_survives_a_torn_line_and_keeps_other_libraries(tmp_path: Path) -> None:
    from desktop.gui.journal import EditJournal

    path = tmp_path / "j.jsonl"
    mine = EditJournal(tmp_path / "a.db", path)
    other = EditJournal(tmp_path / "b.db", path)
    first = mine.add({"kind": "save_caption", "args": {"file_id": 1, "text": "x", "keywords": []}})
    kept = other.add({"kind": "save_caption", "args": {"file_id": 2, "text": "y", "keywords": []}})
    second = mine.add({"kind": "add_keywords", "args": {"file_ids": [1], "keywords": ["k"]}})
    with path.open("a", encoding="utf-8") as f:
        f.write('{"id": "torn", "db": "')  # a crash in the middle of a write
    assert [i for i, _ in mine.pending()] == [first, second]
    mine.done(first)
    assert [op["kind"] for _, op in mine.pending()] == ["add_keywords"]
    assert [i for i, _ in other.pending()] == [kept]
    mine.done(second)
    other.done(kept)
    assert not path.exists()  # emptied once nothing is pending
