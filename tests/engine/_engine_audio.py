"""Audio fixture helper for the captioner engine tests.

These tests live in ``tests/engine/``, not ``tests/captioner/``: pytest puts ``tests/`` on
``sys.path`` (for the root conftest), and a ``tests/captioner`` folder without ``__init__.py``
is then found as a namespace package named ``captioner`` that shadows the real one whenever the
repository root is not on ``sys.path`` (the editable install's finder runs after the path search),
breaking ``import desktop`` in every other test folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def write_tone(
    path: Path,
    seconds: float = 1.0,
    sample_rate: int = 16000,
    freq: float = 440.0,
    channels: int = 1,
) -> Path:
    """Write a sine tone (format from the extension); same as the root conftest's helper."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    mono = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    data = np.repeat(mono[:, None], channels, axis=1) if channels > 1 else mono
    sf.write(str(path), data, sample_rate)
    return path
