"""Build a small demo library (generated audio, captions written by a person) for screenshots.

    python -m desktop.gui.demo OUT_FOLDER [--tiny-models MODELS_FOLDER]

Every sound is synthesised here with numpy, so the demo needs no downloads. The descriptions
are written by hand to match each synthetic sound and are stored as *user* captions through
the library API (``Library.set_user_caption``); the app shows them as "Written by you". With
``--tiny-models`` the real job loop then runs the tiny test models over one deliberately broken
file, so the queue shows a genuine failure reason, and leaves a few files queued.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from desktop.library import Library

log = logging.getLogger(__name__)

__all__ = ["DEMO_SOUNDS", "build_demo_library"]

RATE = 48000
Synth = Callable[[np.random.Generator], np.ndarray]


def _env(n: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / RATE
    return np.minimum(1.0, t / max(attack, 1e-4)) * np.exp(-t / decay)


def _noise(rng: np.random.Generator, seconds: float) -> np.ndarray:
    return rng.standard_normal(int(seconds * RATE)).astype(np.float32)


def _lowpass(x: np.ndarray, alpha: float) -> np.ndarray:
    # One-pole filter via cumulative sums would drift; a short FIR is enough for a demo.
    kernel = np.ones(max(1, int(1 / alpha))) * alpha
    return np.convolve(x, kernel, mode="same").astype(np.float32)


def _rain(rng: np.random.Generator) -> np.ndarray:
    x = _lowpass(_noise(rng, 6.0), 0.25) * 0.25
    t = np.linspace(0.0, 1.0, len(x))
    # Rain comes in waves: a slow swell plus a couple of heavier bursts.
    x *= (
        0.55
        + 0.25 * np.sin(2 * np.pi * (1.3 * t + rng.uniform()))
        + 0.35 * np.exp(-((t - rng.uniform(0.3, 0.8)) ** 2) / 0.004)
    )
    for start in rng.integers(0, len(x) - 2000, 180):
        drop = np.sin(2 * np.pi * rng.uniform(2000, 5000) * np.arange(1500) / RATE)
        x[start : start + 1500] += 0.3 * drop * _env(1500, 0.0005, 0.004)
    return x


def _thunder(rng: np.random.Generator) -> np.ndarray:
    x = _lowpass(_noise(rng, 7.0), 0.01) * 6.0
    return x * _env(len(x), 0.4, 2.2)


def _footsteps(rng: np.random.Generator) -> np.ndarray:
    x = np.zeros(int(4.5 * RATE), dtype=np.float32)
    for i in range(8):
        start = int((0.25 + i * 0.52 + rng.uniform(-0.03, 0.03)) * RATE)
        hit = _lowpass(_noise(rng, 0.12), 0.2) * _env(int(0.12 * RATE), 0.002, 0.03)
        x[start : start + len(hit)] += 1.6 * hit
    return x


def _door(rng: np.random.Generator) -> np.ndarray:
    n = int(2.5 * RATE)
    t = np.arange(n) / RATE
    body = sum(np.sin(2 * np.pi * f * t) / (i + 1) for i, f in enumerate((82, 165, 247, 410)))
    x = 0.6 * body * _env(n, 0.001, 0.25) + 0.5 * _noise(rng, 2.5) * _env(n, 0.0005, 0.02)
    return x.astype(np.float32)


def _birds(rng: np.random.Generator) -> np.ndarray:
    x = 0.02 * _lowpass(_noise(rng, 5.0), 0.1)
    for start in rng.uniform(0.1, 4.5, 14):
        n = int(rng.uniform(0.06, 0.15) * RATE)
        t = np.arange(n) / RATE
        f0 = rng.uniform(3000, 5000)
        sweep = np.sin(2 * np.pi * (f0 * t + rng.uniform(-8000, 8000) * t * t))
        i = int(start * RATE)
        x[i : i + n] += 0.35 * sweep * np.hanning(n)
    return x


def _pad(_rng: np.random.Generator) -> np.ndarray:
    n = int(8.0 * RATE)
    t = np.arange(n) / RATE
    chord = sum(
        np.sin(2 * np.pi * f * t + 0.3 * np.sin(2 * np.pi * 0.2 * t)) for f in (220, 277.2, 329.6)
    )
    swell = np.sin(np.pi * t / t[-1]) ** 2
    return (0.22 * chord * swell).astype(np.float32)


def _engine(rng: np.random.Generator) -> np.ndarray:
    n = int(6.0 * RATE)
    t = np.arange(n) / RATE
    f = 38 + 6 * np.sin(2 * np.pi * 0.15 * t)
    phase = 2 * np.pi * np.cumsum(f) / RATE
    hum = sum(np.sin(k * phase) / k for k in range(1, 8))
    return (0.25 * hum * (1 + 0.3 * np.sin(2 * np.pi * 11 * t)) + 0.03 * _noise(rng, 6.0)).astype(
        np.float32
    )


def _whoosh(rng: np.random.Generator) -> np.ndarray:
    x = _lowpass(_noise(rng, 1.8), 0.12)
    t = np.linspace(0, 1, len(x))
    return (1.4 * x * np.exp(-((t - 0.55) ** 2) / 0.02)).astype(np.float32)


def _bell(_rng: np.random.Generator) -> np.ndarray:
    n = int(5.0 * RATE)
    t = np.arange(n) / RATE
    partials = ((523, 1.0, 2.5), (1320, 0.5, 1.2), (1760, 0.35, 0.9), (2490, 0.2, 0.5))
    x = np.zeros(n)
    for f, a, d in partials:
        x += a * np.sin(2 * np.pi * f * t) * np.exp(-t / d)
    return (0.3 * x).astype(np.float32)


def _clock(_rng: np.random.Generator) -> np.ndarray:
    x = np.zeros(int(5.0 * RATE), dtype=np.float32)
    for i in range(10):
        start = int(i * 0.5 * RATE)
        n = int(0.03 * RATE)
        tick = np.sin(2 * np.pi * (3200 if i % 2 else 2600) * np.arange(n) / RATE)
        x[start : start + n] += 0.5 * tick * _env(n, 0.0002, 0.004)
    return x


def _crowd(rng: np.random.Generator) -> np.ndarray:
    n = int(8.0 * RATE)
    t = np.arange(n) / RATE
    babble = np.zeros(n, dtype=np.float32)
    for _ in range(12):
        f = rng.uniform(110, 260)
        syll = (np.sin(2 * np.pi * rng.uniform(3, 6) * t + rng.uniform(0, 6)) > 0.3).astype(float)
        babble += 0.05 * np.sin(2 * np.pi * f * t) * _lowpass(syll.astype(np.float32), 0.01)
    return babble + 0.04 * _lowpass(_noise(rng, 8.0), 0.3)


#: (relative path, synthesiser, description, keywords, stereo)
DEMO_SOUNDS: tuple[tuple[str, Synth, str | None, tuple[str, ...], bool], ...] = (
    (
        "Weather/Rain_Tin_Roof_Steady.wav",
        _rain,
        "steady rain falls on a metal roof with scattered heavy drops",
        ("rain", "raindrop", "roof"),
        True,
    ),
    (
        "Weather/Thunder_Distant_Rumble.wav",
        _thunder,
        "distant thunder rumbles and slowly fades away",
        ("thunder", "thunderstorm", "rumble"),
        True,
    ),
    (
        "Foley/Footsteps/Footsteps_Wood_Hall.wav",
        _footsteps,
        "a person walks slowly across a wooden floor",
        ("walk, footsteps", "wood"),
        False,
    ),
    (
        "Foley/Doors/Door_Heavy_Slam.wav",
        _door,
        "a heavy wooden door slams shut with a low boom",
        ("door", "slam", "bang"),
        False,
    ),
    (
        "Ambience/Birds_Morning_Garden.wav",
        _birds,
        "small birds chirp and call in a quiet garden",
        ("bird", "chirp, tweet", "outside"),
        True,
    ),
    (
        "Ambience/Crowd_Cafe_Murmur.wav",
        _crowd,
        "a crowd murmurs indistinctly in a busy cafe",
        ("chatter", "crowd", "babbling"),
        True,
    ),
    (
        "Music/Pads/Pad_A_Minor_Swell.wav",
        _pad,
        "a soft synthesizer chord swells and fades",
        ("synthesizer", "music", "ambient music"),
        True,
    ),
    (
        "Vehicles/Engine_Idle_Diesel.wav",
        _engine,
        "a diesel engine idles with a low rough hum",
        ("engine", "idling", "vehicle"),
        False,
    ),
    (
        "Transitions/Whoosh_Fast_Pass.wav",
        _whoosh,
        "a fast whoosh passes by from left to right",
        ("whoosh, swoosh", "air"),
        True,
    ),
    (
        "Music/Bells/Bell_Hand_Single_Strike.wav",
        _bell,
        "a small bell rings once and rings out",
        ("bell", "chime", "ding"),
        False,
    ),
    (
        "Foley/Clock_Tick_Mantel.wav",
        _clock,
        "a mechanical clock ticks steadily",
        ("clock", "tick", "tick-tock"),
        False,
    ),
    (
        "Weather/Rain_Window_Light.wav",
        _rain,
        "light rain patters against a window pane",
        ("rain", "rain on surface", "window"),
        True,
    ),
    (
        "Weather/Thunder_Close_Crack.wav",
        _thunder,
        "a close thunderclap cracks and rolls away",
        ("thunder", "thunderstorm"),
        True,
    ),
    (
        "Foley/Footsteps/Footsteps_Heels_Marble.wav",
        _footsteps,
        "high heels click across a hard marble floor",
        ("walk, footsteps", "clicking"),
        False,
    ),
    (
        "Foley/Doors/Door_Car_Close.wav",
        _door,
        "a car door closes with a solid thud",
        ("door", "vehicle", "thump, thud"),
        False,
    ),
    (
        "Music/Bells/Bell_Temple_Large.wav",
        _bell,
        "a large temple bell rings with a long decay",
        ("bell", "church bell", "reverberation"),
        True,
    ),
    (
        "Ambience/Birds_Forest_Dawn.wav",
        _birds,
        "birds sing at dawn in a forest clearing",
        ("bird vocalization", "bird", "forest"),
        True,
    ),
    (
        "Vehicles/Truck_Pass_By_Slow.wav",
        _engine,
        "a heavy truck engine rumbles past slowly",
        ("truck", "engine", "rumble"),
        True,
    ),
    (
        "Transitions/Whoosh_Slow_Air.wav",
        _whoosh,
        "a slow airy whoosh rises and falls",
        ("whoosh, swoosh", "wind"),
        True,
    ),
    (
        "Music/Pads/Pad_Warm_Drone.wav",
        _pad,
        "a warm synthesizer drone with slow movement",
        ("synthesizer", "drone", "ambient music"),
        True,
    ),
    (
        "Ambience/Crowd_Station_Hall.wav",
        _crowd,
        "people talk in a large echoing hall",
        ("crowd", "speech", "reverberation"),
        True,
    ),
    (
        "Foley/Clock_Wall_Slow.wav",
        _clock,
        "a wall clock ticks in a quiet room",
        ("clock", "tick"),
        False,
    ),
    (
        "Weather/Rain_Heavy_Downpour.wav",
        _rain,
        "heavy rain pours down onto pavement",
        ("rain", "heavy rain", "splash"),
        True,
    ),
    (
        "Weather/Storm_Rain_And_Thunder.wav",
        _thunder,
        "thunder rolls over steady rain",
        ("thunderstorm", "rain", "thunder"),
        True,
    ),
    (
        "Weather/Rain_On_Umbrella.wav",
        _rain,
        "rain drums on an umbrella overhead",
        ("rain", "rain on surface"),
        True,
    ),
    (
        "Ambience/Cafe_Rainy_Afternoon.wav",
        _crowd,
        "people chat in a cafe while rain falls outside",
        ("chatter", "rain", "inside, public space"),
        True,
    ),
    (
        "Vehicles/Car_Wet_Road_Pass.wav",
        _engine,
        "a car drives past on a wet road in the rain",
        ("car passing by", "vehicle", "rain"),
        True,
    ),
    (
        "Foley/Footsteps/Footsteps_Puddles_Rain.wav",
        _footsteps,
        "footsteps splash through puddles in the rain",
        ("walk, footsteps", "splash", "rain"),
        False,
    ),
    # Left uncaptioned: they sit in the queue.
    ("Weather/Rain_Gutter_Drip.wav", _rain, None, (), False),
    ("Foley/Footsteps/Footsteps_Gravel_Run.wav", _footsteps, None, (), True),
    ("Vehicles/Engine_Rev_Short.wav", _engine, None, (), True),
)


def build_demo_library(
    folder: Path, db_path: Path, tiny_models: Path | None = None
) -> dict[str, int]:
    """Write the demo sounds under ``folder`` and a library at ``db_path``; return counts."""
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True, exist_ok=True)
    for rel, synth, _text, _keywords, stereo in DEMO_SOUNDS:
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        mono = synth(rng)
        peak = float(np.max(np.abs(mono))) or 1.0
        mono = (0.9 * mono / peak).astype(np.float32)
        data = np.stack([mono, np.roll(mono, 240)], axis=1) if stereo else mono
        sf.write(str(path), data, RATE, subtype="PCM_24")
    broken = folder / "Foley" / "Impact_Take_07_corrupt.wav"
    # Valid header, NaN samples: scans fine, fails honestly when the engine decodes it.
    sf.write(str(broken), np.full(RATE, np.nan, dtype=np.float32), RATE, subtype="FLOAT")
    with Library.open(db_path) as library:
        library.add_root(folder)
        library.scan()
        for rel, _synth, text, keywords, _stereo in DEMO_SOUNDS:
            file_id = library.file_id_for_path(folder / rel)
            if file_id is not None and text:
                library.set_user_caption(file_id, text, list(keywords))
        broken_id = library.file_id_for_path(broken)
        if tiny_models is not None and broken_id is not None:
            _fail_broken_file(library, broken_id, tiny_models)
        waiting = [
            file_id
            for rel, _synth, text, _kw, _stereo in DEMO_SOUNDS
            if not text and (file_id := library.file_id_for_path(folder / rel)) is not None
        ]
        library.enqueue(waiting)
        counts = library.queue_counts()
        return {
            "files": library.count_files(None),
            "queued": counts.queued,
            "failed": counts.failed,
        }


def _fail_broken_file(library: Library, file_id: int, tiny_models: Path) -> None:
    from captioner import Captioner, CaptionerConfig
    from desktop.library import run_jobs

    captioner = Captioner.load(
        CaptionerConfig.preset("default"),
        clap=str(tiny_models / "clap"),
        llm=str(tiny_models / "llm"),
        device="cpu",
    )
    library.enqueue([file_id])
    run_jobs(library, captioner)


def main(argv: list[str] | None = None) -> int:
    """Command line entry: build the demo library and print where it is."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the sounds and demo.db")
    parser.add_argument("--tiny-models", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    db = args.out / "demo.db"
    counts = build_demo_library(args.out / "Sound Library", db, args.tiny_models)
    print(f"demo library: {db} ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
