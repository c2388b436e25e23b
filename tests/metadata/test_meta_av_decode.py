"""The PyAV fallback decoder: every format ffmpeg writes opens and decodes, lossless ones match
soundfile bit for bit, seeks land on the exact frame, non-regular files are refused; and
format names as users say them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from captioner.av_decode import open_av, probe_av
from captioner.errors import AudioDecodeError
from desktop.library.metadata import format_label
from tests.metadata.conftest import FFMPEG_FORMATS, make_sound

LOSSLESS = ("flac", "alac.m4a", "caf", "wv")
EXPECTED = {
    "m4a": ("mov,mp4,m4a,3gp,3g2,mj2", "aac", "M4A/AAC"),
    "alac.m4a": ("mov,mp4,m4a,3gp,3g2,mj2", "alac", "M4A/ALAC"),
    "aac": ("aac", "aac", "AAC (ADTS)"),
    "caf": ("caf", "alac", "CAF/ALAC"),
    "wv": ("wv", "wavpack", "WavPack"),
    "wma": ("asf", "wmav2", "WMA"),
    "ac3": ("ac3", "ac3", "AC3"),
    "mp2": ("mp3", "mp2", "MP2"),
    "mp3": ("mp3", "mp3float", "MP3"),
    "ogg": ("ogg", "vorbis", "Ogg Vorbis"),
    "opus": ("ogg", "opus", "Opus"),
    "flac": ("flac", "flac", "FLAC"),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("av")
    return {kind: make_sound(folder, kind) for kind in FFMPEG_FORMATS}


@pytest.mark.parametrize("kind", sorted(FFMPEG_FORMATS))
def test_probe_and_decode_every_format(files: dict[str, Path], kind: str) -> None:
    container, codec, label = EXPECTED[kind]
    probe = probe_av(files[kind])
    assert (probe.container, probe.codec) == (container, codec)
    assert probe.sample_rate in (44100, 48000) and probe.channels == 2
    assert probe.duration_s is not None and abs(probe.duration_s - 1.5) < 0.1
    assert format_label(probe.container, probe.codec) == label
    with open_av(files[kind]) as f:
        whole = f.read(0, 10**7)
        assert whole.dtype == np.float32 and whole.shape[1] == 2
        assert abs(whole.shape[0] - f.samplerate * 1.5) < 0.05 * f.samplerate
        assert 0.05 < float(np.abs(whole).max()) <= 1.0  # the tone is there
        assert f.count_frames() == whole.shape[0] and f.frames_exact
        # Reads in any order give the frames a from-the-start decode gives.
        for start, n in [(40000, 3000), (1000, 500), (60000, 2000), (0, 64)]:
            got = f.read(start, n)
            want = whole[start : start + n]
            if kind in LOSSLESS or kind == "flac":
                assert np.array_equal(got, want), (kind, start)
            else:
                # Lossy decoders (AAC's noise substitution) depend on decoder state after a
                # seek: the position must be exact (best alignment at lag 0), values close.
                assert got.shape == want.shape, (kind, start)
                if start >= 1000:
                    lags = range(-600, 601)
                    err = [
                        np.mean((got - whole[start + lag : start + lag + n]) ** 2) for lag in lags
                    ]
                    assert lags[int(np.argmin(err))] == 0, (kind, start)
                    assert err[600] < 0.01 * np.mean(want**2), (kind, start)
        assert f.read(10**8, 10).shape == (0, 2)


@pytest.mark.parametrize("kind", ["flac", "wav", "aiff"])
def test_bit_identical_to_soundfile_for_lossless(tmp_path: Path, kind: str) -> None:
    path = make_sound(tmp_path, kind)
    with sf.SoundFile(path) as s:
        ref = s.read(dtype="float32", always_2d=True)
    with open_av(path) as f:
        got = f.read(0, len(ref) + 10)
        assert np.array_equal(got, ref)
        assert np.array_equal(f.read(30000, 777), ref[30000:30777])


def test_24_bit_flac_matches_soundfile(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    data = (rng.integers(-(2**23), 2**23, (20000, 2)) / 2**23).astype(np.float32)
    path = tmp_path / "deep.flac"
    sf.write(path, data, 96000, subtype="PCM_24")
    ref, _ = sf.read(path, dtype="float32", always_2d=True)
    with open_av(path) as f:
        assert np.array_equal(f.read(0, 30000), ref)


def test_refusals(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.m4a"
    os.mkfifo(fifo)
    with pytest.raises(AudioDecodeError, match="not a regular file"):
        open_av(fifo)  # returns at once instead of blocking on the pipe
    with pytest.raises(AudioDecodeError, match="folder"):
        open_av(tmp_path)
    with pytest.raises(AudioDecodeError, match="no such file"):
        open_av(tmp_path / "absent.m4a")
    junk = tmp_path / "junk.m4a"
    junk.write_bytes(b"\0\0\0\x20ftypM4A " + os.urandom(2000))
    with pytest.raises(AudioDecodeError):
        open_av(junk)
    empty = tmp_path / "empty.wma"
    empty.write_bytes(b"")
    with pytest.raises(AudioDecodeError):
        probe_av(empty)


def test_truncated_file_reads_what_is_there(files: dict[str, Path], tmp_path: Path) -> None:
    cut = tmp_path / "cut.wv"
    cut.write_bytes(files["wv"].read_bytes()[: files["wv"].stat().st_size // 2])
    with open_av(cut) as f:
        got = f.read(0, 10**7)
    assert 0 < got.shape[0] < 66150


def test_format_labels_from_libsndfile_names() -> None:
    assert format_label("WAVEX", "PCM_24") == "WAV"
    assert format_label("WAV", "PCM_16", has_bext=True) == "BWF"
    assert format_label("WAV", "IMA_ADPCM") == "WAV"
    assert format_label("OGG", "OPUS") == "Opus"
    assert format_label("OGG", "VORBIS") == "Ogg Vorbis"
    assert format_label("AIFF", "PCM_16") == "AIFF"
    assert format_label("AIFF", "FLOAT") == "AIFF-C"
    assert format_label("CAF", "ALAC_16") == "CAF/ALAC"
    assert format_label("MPEG", "MPEG_LAYER_III") == "MP3"
    assert format_label("W64", "PCM_16") == "Wave64"
    assert format_label("RF64", "PCM_24") == "RF64"
    assert format_label("matroska,webm", "opus", ext="webm") == "WebM/Opus"
    assert format_label(None) is None
