"""Import first in every captioner test module: keeps ``captioner`` the real package.

pytest puts ``tests/`` on ``sys.path`` (for the root conftest), where this folder, named
``captioner`` and without ``__init__.py``, is found as a namespace package that shadows the real
one (the editable install's finder only runs after the path search fails). A regular package
anywhere on ``sys.path`` beats a namespace portion, so adding the repository root is enough.
(A ``pythonpath = ["."]`` line in pytest's settings would make this unnecessary.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.append(ROOT)


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
