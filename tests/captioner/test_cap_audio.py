"""Audio decoding, mono mix, resampling, windows and every bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from captioner.audio import load_windows, plan_windows
from captioner.errors import AudioDecodeError
from tests.conftest import write_tone


def windows(src, policy: str = "mean", rate: int = 16000, seconds: float = 2.0):
    return load_windows(src, target_rate=rate, window_seconds=seconds, policy=policy, max_windows=4)


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "aiff"])
def test_decodes_formats_to_mono_at_the_model_rate(tmp_path: Path, ext: str) -> None:
    path = write_tone(tmp_path / f"t.{ext}", seconds=1.0, sample_rate=22050, channels=2)
    out = windows(path)
    assert out.windows.shape == (1, 32000)
    assert out.windows.dtype == np.float32
    assert out.policy == "pad"
    assert out.duration_s == pytest.approx(1.0, abs=0.01)
    # One second of tone, then the paper's zero padding on the right.
    assert np.abs(out.windows[0, 1000:15000]).max() > 0.2
    assert np.all(out.windows[0, 16100:] == 0)


def test_mp3_when_libsndfile_supports_it(tmp_path: Path) -> None:
    if "MP3" not in sf.available_formats():
        pytest.skip("libsndfile without MP3")
    path = write_tone(tmp_path / "t.mp3", seconds=1.0, sample_rate=44100)
    assert windows(path).windows.shape == (1, 32000)


def test_resampling_keeps_the_pitch(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "t.wav", seconds=1.0, sample_rate=44100, freq=1000.0)
    w = windows(path).windows[0, :16000]
    peak_hz = np.argmax(np.abs(np.fft.rfft(w))) * 16000 / len(w)
    assert peak_hz == pytest.approx(1000.0, abs=2.0)


def test_long_file_uses_evenly_spaced_windows(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "long.wav", seconds=30.0, sample_rate=8000)
    out = windows(path)
    assert out.windows.shape == (4, 32000)
    assert out.policy == "mean-of-4x2s"
    crop = windows(path, policy="random-crop")
    assert crop.windows.shape == (1, 32000) and crop.policy == "random-crop"
    assert np.array_equal(crop.windows, windows(path, policy="random-crop").windows)  # seeded


def test_plan_windows_covers_start_and_end() -> None:
    spans, policy = plan_windows(100_000, 1000, 10.0, "mean", 8, 0)
    assert spans[0] == (0, 10_000) and spans[-1] == (90_000, 10_000)
    assert len(spans) == 8 and policy == "mean-of-8x10s"
    assert plan_windows(5_000, 1000, 10.0, "mean", 8, 0) == ([(0, 5_000)], "pad")
    assert plan_windows(15_000, 1000, 10.0, "first", 8, 0) == ([(0, 10_000)], "first")


def test_eight_channels_at_192k(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "multi.wav", seconds=3.0, sample_rate=192000, channels=8)
    out = windows(path)
    assert out.windows.shape == (2, 32000) and out.policy == "mean-of-2x2s"
    assert np.abs(out.windows).max() == pytest.approx(0.3, abs=0.01)


def test_ten_minute_file_reads_only_its_windows(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    with sf.SoundFile(str(path), "w", 8000, 1, subtype="PCM_16") as fh:
        for _ in range(60):  # ten minutes, written in blocks
            fh.write(np.full(80000, 1000, dtype=np.int16))
    out = windows(path)
    assert out.windows.shape == (4, 32000)
    assert out.duration_s == pytest.approx(600.0)
    assert np.allclose(out.windows[:, 1000:-1000], 1000 / 32768, atol=1e-3)  # edges: resampler


def test_peak_memory_does_not_grow_with_file_length(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "long.wav"
    with sf.SoundFile(str(path), "w", 8000, 2, subtype="PCM_16") as fh:
        for _ in range(60):  # ten minutes of stereo: 38 MB once decoded to float32
            fh.write(np.full((80000, 2), 1000, dtype=np.int16))
    tracemalloc.start()
    try:
        windows(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000  # a few windows and one read block, never the whole file


def test_array_input_and_channel_mix() -> None:
    stereo = np.stack([np.ones(8000), -np.ones(8000)], axis=1).astype(np.float32)
    out = windows((stereo, 16000))
    assert np.allclose(out.windows[0, :8000], 0.0)
    pcm = (np.ones(8000) * 16384).astype(np.int16)
    assert np.allclose(windows((pcm, 16000)).windows[0, :8000], 0.5)  # int PCM scaled like files
    with pytest.raises(AudioDecodeError, match="sample rate"):
        windows((stereo, 0))
    with pytest.raises(AudioDecodeError, match="shape"):
        windows((np.zeros((2, 2, 2)), 16000))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b""), "not a readable audio file"),
        (lambda p: p.write_bytes(b"this is not audio at all" * 50), "not a readable audio file"),
        (lambda p: sf.write(str(p), np.zeros(0, np.float32), 16000), "no audio samples"),
        (
            lambda p: sf.write(str(p), np.full(1000, np.nan, np.float32), 16000, subtype="FLOAT"),
            "NaN",
        ),
    ],
    ids=["empty-file", "non-audio", "zero-samples", "nan"],
)
def test_bad_files_give_clear_errors(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioDecodeError, match=message):
        windows(path)


def test_missing_file_and_nan_array(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="no such file"):
        windows(tmp_path / "nope.wav")
    with pytest.raises(AudioDecodeError, match="NaN"):
        windows((np.array([0.0, np.inf], np.float32), 16000))
    with pytest.raises(AudioDecodeError, match="no audio samples"):
        windows((np.zeros(0, np.float32), 16000))


def test_truncated_wav_keeps_what_is_there(tmp_path: Path) -> None:
    path = write_tone(tmp_path / "t.wav", seconds=1.0, sample_rate=16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    out = windows(path)
    assert out.windows.shape == (1, 32000)
    assert np.abs(out.windows[0, :4000]).max() > 0.2
