"""The audio-payload fingerprint: survives retagging on every format, tells apart sounds that
share size and silent ends."""

from __future__ import annotations

from pathlib import Path

import mutagen.flac
import numpy as np
import pytest
import soundfile as sf

from desktop.library.metadata import TagUpdate, audio_digest, payload_fingerprint, write_tags
from desktop.library.metadata.fingerprint import WINDOW_FRAMES, WINDOWS, fingerprint_spans
from tests.metadata.conftest import FFMPEG_FORMATS, make_sound


@pytest.mark.parametrize("kind", ["wav", "aiff", "flac", "mp3", "ogg", "opus", "m4a"])
def test_retag_keeps_fingerprint(tmp_path: Path, kind: str) -> None:
    path = make_sound(tmp_path, kind)
    before = payload_fingerprint(path)
    head = path.read_bytes()[: 1 << 16]
    assert before is not None and before.startswith("p1:")
    write_tags(path, TagUpdate(description="retagged " * 40, keywords=("a", "b")))
    assert path.read_bytes()[: 1 << 16] != head  # the old first-64-KiB fingerprint changes...
    assert payload_fingerprint(path) == before  # ...the audio did not


def test_retag_by_another_tool_keeps_fingerprint(tmp_path: Path) -> None:
    path = make_sound(tmp_path, "flac")
    before = payload_fingerprint(path)
    audio = mutagen.flac.FLAC(path)
    audio["COMMENT"] = "x" * 100_000  # a big block moves every audio frame
    audio.save()
    assert payload_fingerprint(path) == before


def test_same_size_same_silent_ends_do_not_collide(tmp_path: Path) -> None:
    rate = 48000
    silence = np.zeros(rate * 2, np.float32)  # 2 s: far more than 64 KiB at each end
    rng = np.random.default_rng(0)
    a = np.concatenate([silence, 0.3 * rng.standard_normal(rate * 3), silence]).astype(np.float32)
    b = np.concatenate([silence, 0.3 * rng.standard_normal(rate * 3), silence]).astype(np.float32)
    pa, pb = tmp_path / "a.wav", tmp_path / "b.wav"
    sf.write(pa, a, rate, subtype="PCM_16")
    sf.write(pb, b, rate, subtype="PCM_16")
    assert pa.stat().st_size == pb.stat().st_size
    assert pa.read_bytes()[: 1 << 16] == pb.read_bytes()[: 1 << 16]
    assert pa.read_bytes()[-(1 << 16) :] == pb.read_bytes()[-(1 << 16) :]
    assert payload_fingerprint(pa) != payload_fingerprint(pb)


def test_lossless_containers_agree_and_differences_show(tmp_path: Path) -> None:
    wav = make_sound(tmp_path, "wav", "x")
    flac = make_sound(tmp_path, "flac", "x")
    assert payload_fingerprint(wav) == payload_fingerprint(flac)
    assert audio_digest(wav) == audio_digest(flac)
    other = make_sound(tmp_path, "wav", "y", seed=1)
    assert payload_fingerprint(other) != payload_fingerprint(wav)
    data, rate = sf.read(wav, dtype="int16")
    data[len(data) // 2, 0] += 1  # one sample, one step
    sf.write(tmp_path / "z.wav", data, rate, subtype="PCM_16")
    assert audio_digest(tmp_path / "z.wav") != audio_digest(wav)


def test_formats_only_ffmpeg_reads_get_a_fingerprint(tmp_path: Path) -> None:
    for kind in ("alac.m4a", "caf", "wv", "wma", "ac3", "mp2", "aac"):
        assert kind in FFMPEG_FORMATS
        path = make_sound(tmp_path, kind)
        first = payload_fingerprint(path)
        assert first is not None, kind
        assert payload_fingerprint(path) == first, f"{kind} fingerprint is not repeatable"


def test_unreadable_and_spans(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all" * 10)
    assert payload_fingerprint(junk) is None
    assert payload_fingerprint(tmp_path / "absent.wav") is None
    assert fingerprint_spans(100) == [(0, 100)]
    spans = fingerprint_spans(10_000_000)
    assert len(spans) == WINDOWS and all(n == WINDOW_FRAMES for _, n in spans)
    assert spans[0][0] > 0 and spans[-1][0] + WINDOW_FRAMES < 10_000_000


def test_long_m4a_fingerprint_with_seeks_is_stable(tmp_path: Path) -> None:
    # 30 s: the windows are seconds apart, so the PyAV reader seeks between them.
    import subprocess

    from tests.metadata.conftest import require_tool

    rate = 44100
    t = np.arange(30 * rate) / rate
    rng = np.random.default_rng(5)
    x = (0.2 * np.sin(2 * np.pi * 330 * t) + 0.05 * rng.standard_normal(t.shape)).astype(np.float32)
    wav = tmp_path / "long.wav"
    sf.write(wav, np.stack([x, x], axis=1), rate)
    m4a = tmp_path / "long.m4a"
    subprocess.run(
        [require_tool("ffmpeg"), "-v", "error", "-y", "-i", str(wav), "-c:a", "aac", str(m4a)],
        check=True,
    )
    first = payload_fingerprint(m4a)
    assert first is not None and payload_fingerprint(m4a) == first
    write_tags(m4a, TagUpdate(description="moved moov " * 500))
    assert payload_fingerprint(m4a) == first
