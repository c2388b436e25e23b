"""Playback of the selected file with sounddevice, streamed from disk.

sounddevice is imported on first play: a machine without PortAudio or without an output device
still opens the app, and trying to play says so in one sentence instead of crashing. Files are
opened with :func:`captioner.audio.open_sound_file`, which refuses a FIFO, device or socket on
the opened descriptor without blocking: Space on such a row must never hang the window. The audio
callback runs on PortAudio's thread and only reads from an open ``SoundFile``; everything that
touches Qt happens on the GUI thread through queued signals and a timer.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import soundfile as sf
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from captioner.audio import open_sound_file
from captioner.errors import AudioDecodeError

log = logging.getLogger(__name__)

__all__ = ["NO_DEVICE_MESSAGE", "PlaybackController"]

NO_DEVICE_MESSAGE = "No audio output device is available, so this sound cannot be played."


def _import_sounddevice() -> ModuleType:
    import sounddevice

    return sounddevice


class PlaybackController(QObject):
    """Plays one file at a time; ``toggle`` is what the space bar does.

    Signals:
        started(path): Playback began.
        stopped(): Playback ended (finished, stopped, or replaced).
        failed(message): Playback could not start; the message is fit to show a user.
        positionChanged(fraction): Progress through the file, about 30 times a second.
        playingChanged(playing): started (True) or stopped (False).
    """

    started = Signal(str)
    stopped = Signal()
    playingChanged = Signal(bool)
    failed = Signal(str)
    positionChanged = Signal(float)
    _streamFinished = Signal(int)

    def __init__(
        self,
        parent: QObject | None = None,
        load_backend: Callable[[], ModuleType] | None = None,
    ) -> None:
        super().__init__(parent)
        self._load_backend = load_backend
        self._stream: Any = None
        self._file: sf.SoundFile | None = None
        self._path: str | None = None
        self._frames_done = 0
        self._frames_total = 0
        self._lock = threading.Lock()
        # Each stream gets a number, so a late "finished" from a stopped stream cannot stop
        # the one that replaced it.
        self._token = 0
        self._timer = QTimer(self)
        self._timer.setInterval(33)
        self._timer.timeout.connect(self._report_position)
        self._streamFinished.connect(self._on_stream_finished)

    @property
    def playing_path(self) -> str | None:
        """The file playing now, or ``None``."""
        return self._path

    def is_playing(self) -> bool:
        """True while a file is playing."""
        return self._path is not None

    def toggle(self, path: str | os.PathLike[str] | None) -> None:
        """Stop if something is playing, else play ``path`` (ignored when ``None``)."""
        if self.is_playing():
            self.stop()
        elif path is not None:
            self.play(path)

    def play(self, path: str | os.PathLike[str]) -> bool:
        """Start playing ``path``; returns False (and emits ``failed``) when it cannot."""
        self.stop()
        try:
            sd = (self._load_backend or _import_sounddevice)()
        except (ImportError, OSError) as exc:
            # sounddevice raises OSError when the PortAudio library itself is missing.
            log.info("sounddevice unavailable: %s", exc)
            self.failed.emit(f"{NO_DEVICE_MESSAGE} (audio library missing: {exc})")
            return False
        try:
            audio = open_sound_file(path)
        except AudioDecodeError as exc:
            self.failed.emit(f"Cannot play {exc}")
            return False
        channels = min(audio.channels, 2)
        self._token += 1
        token = self._token
        port_audio_error: type[BaseException] = getattr(sd, "PortAudioError", OSError)
        try:
            stream = sd.OutputStream(
                samplerate=audio.samplerate,
                channels=channels,
                dtype="float32",
                callback=self._make_callback(audio, channels),
                finished_callback=lambda: self._streamFinished.emit(token),
            )
            stream.start()
        except (port_audio_error, OSError, ValueError) as exc:
            audio.close()
            log.info("cannot open audio output: %s", exc)
            self.failed.emit(NO_DEVICE_MESSAGE)
            return False
        with self._lock:
            self._stream = stream
            self._file = audio
            self._frames_done = 0
            self._frames_total = max(1, audio.frames)
        self._path = os.fspath(path)
        self._timer.start()
        self.started.emit(self._path)
        self.playingChanged.emit(True)
        return True

    def _make_callback(self, audio: sf.SoundFile, channels: int) -> Callable[..., None]:
        def callback(outdata: np.ndarray, frames: int, _time: Any, _status: Any) -> None:
            # PortAudio's thread: read the next block, never touch Qt here.
            block = audio.read(frames, dtype="float32", always_2d=True)
            got = len(block)
            outdata[:got] = block[:, :channels]
            outdata[got:] = 0
            with self._lock:
                self._frames_done += got
            if got < frames:
                raise _stop_exception()

        return callback

    @Slot()
    def stop(self) -> None:
        """Stop playback, if any (safe to call at any time)."""
        with self._lock:
            stream, audio = self._stream, self._file
            self._stream = None
            self._file = None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception as exc:  # a device that vanished mid-play must not crash the app
                log.info("closing audio stream: %s", exc)
        if audio is not None:
            audio.close()
        self._timer.stop()
        if self._path is not None:
            self._path = None
            self.stopped.emit()
            self.playingChanged.emit(False)
            self.positionChanged.emit(-1.0)  # hides the playhead

    @Slot(int)
    def _on_stream_finished(self, token: int) -> None:
        with self._lock:
            ended_alone = self._stream is not None and token == self._token
        if ended_alone:
            self.positionChanged.emit(1.0)
            self.stop()

    @Slot()
    def _report_position(self) -> None:
        with self._lock:
            fraction = self._frames_done / self._frames_total if self._frames_total else 0.0
        self.positionChanged.emit(min(fraction, 1.0))


def _stop_exception() -> BaseException:
    try:
        import sounddevice

        return sounddevice.CallbackStop()
    except (ImportError, OSError):  # pragma: no cover - the stream exists, so it imported
        return RuntimeError("stop")
