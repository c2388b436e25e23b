"""Shared test setup: offline, offscreen, and tiny models built once per session."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


@pytest.fixture(autouse=True, scope="session")
def _session_earmark_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One data folder for work done outside a test, e.g. module-scoped fixtures loading a
    Captioner (it writes the keyword-embedding cache). Session-scoped fixtures are set up before
    module- and function-scoped ones, so nothing ever falls back to the user's data folder.
    """
    home = tmp_path_factory.mktemp("earmark-session-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EARMARK_HOME", str(home))
        yield home


@pytest.fixture(autouse=True)
def _earmark_home(
    _session_earmark_home: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """Keep every test's data folder (databases, caches, settings) out of the user's home."""
    home = tmp_path_factory.mktemp("earmark-home")
    monkeypatch.setenv("EARMARK_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with tiny random-weight models: ``clap/`` and ``llm/`` (built once per session)."""
    from captioner.testing.tiny_models import build_tiny_models

    out = tmp_path_factory.mktemp("tiny-models")
    build_tiny_models(out)
    return out


def write_tone(
    path: Path,
    seconds: float = 1.0,
    sample_rate: int = 16000,
    freq: float = 440.0,
    channels: int = 1,
    subtype: str | None = None,
) -> Path:
    """Write a sine tone to ``path`` (format from the extension) and return the path."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    mono = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    data = np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono
    sf.write(str(path), data, sample_rate, subtype=subtype)
    return path


@pytest.fixture
def tone(tmp_path: Path) -> Path:
    """A one-second 440 Hz mono WAV at 16 kHz."""
    return write_tone(tmp_path / "tone.wav")
