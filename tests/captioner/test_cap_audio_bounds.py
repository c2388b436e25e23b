"""Decoding is bounded by what the model needs: absurd rates refused, blocks resampled, crops.

Hand-made WAV headers claim sample rates the data was never recorded at; peak memory is measured
in a fresh interpreter (``VmHWM``), never timed.
"""

from __future__ import annotations

import random
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from captioner.audio import (
    MAX_SAMPLE_RATE,
    ReleasedCrops,
    load_windows,
    model_rate_length,
    source_length,
)
from captioner.errors import AudioDecodeError

ROOT = Path(__file__).resolve().parents[2]


def write_header_claiming(path: Path, rate: int, frames: int, channels: int = 1) -> Path:
    """A 16-bit PCM WAV whose header says ``rate`` Hz, holding ``frames`` frames of a tone."""
    t = np.arange(frames) / 16000.0
    mono = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    data = np.repeat(mono[:, None], channels, axis=1).tobytes()
    fmt = struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    riff = b"WAVE" + b"fmt " + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    return path


def test_a_header_claiming_100_mhz_is_refused_with_a_reason(tmp_path: Path) -> None:
    path = write_header_claiming(tmp_path / "claims-100MHz.wav", 100_000_000, 16000)
    with pytest.raises(AudioDecodeError) as err:
        load_windows(path, target_rate=16000, window_seconds=2.0)
    message = str(err.value)
    assert "claims-100MHz.wav" in message and "100,000,000 Hz" in message
    assert "damaged" in message
    with pytest.raises(AudioDecodeError, match="above the 1,536,000 Hz"):
        load_windows((np.zeros(10, np.float32), 2_000_000), target_rate=16000, window_seconds=2)


def test_the_highest_allowed_rate_still_decodes(tmp_path: Path) -> None:
    path = write_header_claiming(tmp_path / "fast.wav", MAX_SAMPLE_RATE, 160_000)
    out = load_windows(path, target_rate=16000, window_seconds=2.0)
    assert out.windows.shape == (1, 32000) and out.policy == "pad"
    assert out.duration_s == pytest.approx(160_000 / MAX_SAMPLE_RATE)


_MEASURE = """
import sys
sys.path.insert(0, {root!r})
import numpy, soundfile, soxr
from captioner.audio import load_windows

def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024

before = hwm()
load_windows({path!r}, target_rate=16000, window_seconds=10.0)
print(hwm() - before)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_peak_memory_does_not_grow_with_the_claimed_rate(tmp_path: Path) -> None:
    # 10 M frames (20 MB) that a 1.536 MHz header makes 6.5 s: one model window, read whole.
    # Reading it in one piece peaked at +57 MB; block by block it stays near +2 MB.
    path = write_header_claiming(tmp_path / "fast.wav", MAX_SAMPLE_RATE, 10_000_000)
    script = textwrap.dedent(_MEASURE.format(root=str(ROOT), path=str(path)))
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    grown_mb = float(run.stdout.strip().splitlines()[-1])
    assert grown_mb < 25, f"decoding grew the peak memory by {grown_mb:.0f} MB"


def test_block_resampling_gives_the_samples_of_one_call(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    stereo = (rng.normal(scale=0.1, size=(44100 * 7, 2))).astype(np.float32)
    path = tmp_path / "noise.wav"
    sf.write(str(path), stereo, 44100, subtype="FLOAT")
    out = load_windows(path, target_rate=16000, window_seconds=2.0, policy="first")
    mono = stereo[: 2 * 44100].mean(axis=1, dtype=np.float32)
    want = soxr.resample(mono, 44100, 16000)[:32000]
    assert np.array_equal(out.windows[0], want)


# ------------------------------------------------------------------ the released crops
def test_released_crops_are_one_seeded_stream_drawn_by_long_clips_only() -> None:
    crops = ReleasedCrops(4182)
    reference = random.Random(4182)
    lengths = [320_000, 100_000, 500_000, 500_000, 320_001, 12]
    got = [crops.draw(n, 320_000) for n in lengths]
    want = [reference.randint(0, n - 320_000) if n > 320_000 else None for n in lengths]
    assert got == want
    assert got[0] is None and got[1] is None  # exactly one window, and shorter: no draw
    assert got[2] != got[3]  # two clips of the same length get different crops
    assert crops.draws == 3


def test_model_rate_length_is_librosas_fixed_length() -> None:
    assert model_rate_length(441_000, 44_100, 32_000) == 320_000
    assert model_rate_length(441_001, 44_100, 32_000) == 320_001  # ceil
    assert model_rate_length(16_000, 16_000, 16_000) == 16_000


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_released_crop_equals_resampling_the_whole_file_then_cutting(
    tmp_path: Path, where: str
) -> None:
    rate, target, window = 44_100, 32_000, 2.0
    rng = np.random.default_rng(7)
    samples = (rng.normal(scale=0.1, size=rate * 9)).astype(np.float32)
    path = tmp_path / "long.wav"
    sf.write(str(path), samples, rate, subtype="FLOAT")
    whole = soxr.resample(samples, rate, target)
    total = model_rate_length(len(samples), rate, target)
    win = int(window * target)
    start = {"start": 0, "middle": 123_457, "end": total - win}[where]
    out = load_windows(
        path,
        target_rate=target,
        window_seconds=window,
        policy="released-crop",
        crop_start=start,
    )
    assert out.policy == "released-crop" and out.windows.shape == (1, win)
    want = np.zeros(win, np.float32)
    piece = whole[start : start + win]
    want[: piece.size] = piece
    assert np.max(np.abs(out.windows[0] - want)) < 1e-5


def test_a_short_clip_under_the_released_policy_is_zero_padded(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    sf.write(str(path), np.full(8000, 0.25, np.float32), 16000)
    out = load_windows(path, target_rate=16000, window_seconds=2.0, policy="released-crop")
    assert out.policy == "pad" and np.all(out.windows[0, :8000] == 0.25)
    assert np.all(out.windows[0, 8000:] == 0)
    assert source_length(path) == (8000, 16000)
