"""Fixtures for metadata tests: sound files of every format, made at test time, and the
independent tools (ffmpeg, exiftool, mediainfo) the round trips are checked with."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

#: (file name, ffmpeg codec arguments) for formats ffmpeg writes; soundfile writes WAV/AIFF/FLAC.
FFMPEG_FORMATS = {
    "m4a": ["-c:a", "aac", "-b:a", "96k"],
    "alac.m4a": ["-c:a", "alac"],
    "aac": ["-c:a", "aac", "-f", "adts"],
    "caf": ["-c:a", "alac"],
    "wv": ["-c:a", "wavpack"],
    "wma": ["-c:a", "wmav2"],
    "ac3": ["-c:a", "ac3"],
    "mp2": ["-c:a", "mp2"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
    "ogg": ["-c:a", "libvorbis"],
    "opus": ["-c:a", "libopus"],
    "flac": ["-c:a", "flac"],
}
#: Formats Earmark writes tags into.
WRITABLE = ("wav", "aiff", "flac", "mp3", "ogg", "opus", "m4a")


def require_tool(name: str) -> str:
    """The tool's path; skip when it is missing, except in CI (setup.sh installs it there)."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing in CI: scripts/setup.sh should install it")
        pytest.skip(f"{name} is not installed (scripts/setup.sh installs it)")
    return path


def tone(seconds: float = 1.5, rate: int = 44100, channels: int = 2, seed: int = 0) -> np.ndarray:
    """A chord plus a little noise, float32 ``(n, channels)``; ``seed`` changes the sound."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    freqs = 220.0 * (1 + seed % 5), 330.0 + 17 * seed
    mono = 0.2 * np.sin(2 * np.pi * freqs[0] * t) + 0.1 * np.sin(2 * np.pi * freqs[1] * t)
    mono = mono + 0.01 * rng.standard_normal(t.shape)
    out = np.stack([mono * (1 - 0.3 * c) for c in range(channels)], axis=1)
    return out.astype(np.float32)


def make_sound(folder: Path, kind: str, stem: str = "s", seed: int = 0) -> Path:
    """A short stereo file of ``kind`` (an extension, or ``alac.m4a``) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.{kind}"
    data = tone(seed=seed)
    if kind in ("wav", "aiff", "w64"):
        sf.write(path, data, 44100, subtype="PCM_16")
        return path
    ffmpeg = require_tool("ffmpeg")
    src = folder / f".{stem}-src.wav"
    sf.write(src, data, 44100, subtype="PCM_16")
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-i", str(src), *FFMPEG_FORMATS[kind], str(path)],
        check=True,
    )
    src.unlink()
    return path


def decoded_md5(path: Path) -> str:
    """MD5 of the audio as ffmpeg decodes it: an audio check independent of Earmark's."""
    ffmpeg = require_tool("ffmpeg")
    out = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(path), "-map", "0:a", "-f", "md5", "-"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def exiftool_text(path: Path) -> str:
    """exiftool's report of every tag (duplicates included), one ``[Group] Tag: value`` a line."""
    exe = require_tool("exiftool")
    return subprocess.run(
        [exe, "-G1", "-a", "-s", "-charset", "RIFF=UTF8", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def mediainfo_text(path: Path) -> str:
    """mediainfo's full report."""
    exe = require_tool("mediainfo")
    return subprocess.run(
        [exe, "--Full", str(path)], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def sounds(tmp_path: Path) -> dict[str, Path]:
    """One file per writable format."""
    return {kind: make_sound(tmp_path / "sounds", kind) for kind in WRITABLE}
