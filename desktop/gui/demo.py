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
from pathlib import Path

import numpy as np
import soundfile as sf

from desktop.gui import demo_synths as synths
from desktop.gui.demo_synths import RATE, Synth
from desktop.library import Library

log = logging.getLogger(__name__)

__all__ = ["DEMO_SOUNDS", "build_demo_library"]

#: (relative path, synthesiser, description, keywords, stereo)
DEMO_SOUNDS: tuple[tuple[str, Synth, str | None, tuple[str, ...], bool], ...] = (
    (
        "Weather/Rain_Tin_Roof_Steady.wav",
        synths.rain,
        "steady rain falls on a metal roof with scattered heavy drops",
        ("rain", "raindrop", "roof"),
        True,
    ),
    (
        "Weather/Thunder_Distant_Rumble.wav",
        synths.thunder,
        "distant thunder rumbles and slowly fades away",
        ("thunder", "thunderstorm", "rumble"),
        True,
    ),
    (
        "Foley/Footsteps/Footsteps_Wood_Hall.wav",
        synths.footsteps,
        "a person walks slowly across a wooden floor",
        ("walk, footsteps", "wood"),
        False,
    ),
    (
        "Foley/Doors/Door_Heavy_Slam.wav",
        synths.door,
        "a heavy wooden door slams shut with a low boom",
        ("door", "slam", "bang"),
        False,
    ),
    (
        "Ambience/Birds_Morning_Garden.wav",
        synths.birds,
        "small birds chirp and call in a quiet garden",
        ("bird", "chirp, tweet", "outside"),
        True,
    ),
    (
        "Ambience/Crowd_Cafe_Murmur.wav",
        synths.crowd,
        "a crowd murmurs indistinctly in a busy cafe",
        ("chatter", "crowd", "babbling"),
        True,
    ),
    (
        "Music/Pads/Pad_A_Minor_Swell.wav",
        synths.pad,
        "a soft synthesizer chord swells and fades",
        ("synthesizer", "music", "ambient music"),
        True,
    ),
    (
        "Vehicles/Engine_Idle_Diesel.wav",
        synths.engine,
        "a diesel engine idles with a low rough hum",
        ("engine", "idling", "vehicle"),
        False,
    ),
    (
        "Transitions/Whoosh_Fast_Pass.wav",
        synths.whoosh,
        "a fast whoosh passes by from left to right",
        ("whoosh, swoosh", "air"),
        True,
    ),
    (
        "Music/Bells/Bell_Hand_Single_Strike.wav",
        synths.bell,
        "a small bell rings once and rings out",
        ("bell", "chime", "ding"),
        False,
    ),
    (
        "Foley/Clock_Tick_Mantel.wav",
        synths.clock,
        "a mechanical clock ticks steadily",
        ("clock", "tick", "tick-tock"),
        False,
    ),
    (
        "Weather/Rain_Window_Light.wav",
        synths.rain,
        "light rain patters against a window pane",
        ("rain", "rain on surface", "window"),
        True,
    ),
    (
        "Weather/Thunder_Close_Crack.wav",
        synths.thunder,
        "a close thunderclap cracks and rolls away",
        ("thunder", "thunderstorm"),
        True,
    ),
    (
        "Foley/Footsteps/Footsteps_Heels_Marble.wav",
        synths.footsteps,
        "high heels click across a hard marble floor",
        ("walk, footsteps", "clicking"),
        False,
    ),
    (
        "Foley/Doors/Door_Car_Close.wav",
        synths.door,
        "a car door closes with a solid thud",
        ("door", "vehicle", "thump, thud"),
        False,
    ),
    (
        "Music/Bells/Bell_Temple_Large.wav",
        synths.bell,
        "a large temple bell rings with a long decay",
        ("bell", "church bell", "reverberation"),
        True,
    ),
    (
        "Ambience/Birds_Forest_Dawn.wav",
        synths.birds,
        "birds sing at dawn in a forest clearing",
        ("bird vocalization", "bird", "forest"),
        True,
    ),
    (
        "Vehicles/Truck_Pass_By_Slow.wav",
        synths.engine,
        "a heavy truck engine rumbles past slowly",
        ("truck", "engine", "rumble"),
        True,
    ),
    (
        "Transitions/Whoosh_Slow_Air.wav",
        synths.whoosh,
        "a slow airy whoosh rises and falls",
        ("whoosh, swoosh", "wind"),
        True,
    ),
    (
        "Music/Pads/Pad_Warm_Drone.wav",
        synths.pad,
        "a warm synthesizer drone with slow movement",
        ("synthesizer", "drone", "ambient music"),
        True,
    ),
    (
        "Ambience/Crowd_Station_Hall.wav",
        synths.crowd,
        "people talk in a large echoing hall",
        ("crowd", "speech", "reverberation"),
        True,
    ),
    (
        "Foley/Clock_Wall_Slow.wav",
        synths.clock,
        "a wall clock ticks in a quiet room",
        ("clock", "tick"),
        False,
    ),
    (
        "Weather/Rain_Heavy_Downpour.wav",
        synths.rain,
        "heavy rain pours down onto pavement",
        ("rain", "heavy rain", "splash"),
        True,
    ),
    (
        "Weather/Storm_Rain_And_Thunder.wav",
        synths.thunder,
        "thunder rolls over steady rain",
        ("thunderstorm", "rain", "thunder"),
        True,
    ),
    (
        "Weather/Rain_On_Umbrella.wav",
        synths.rain,
        "rain drums on an umbrella overhead",
        ("rain", "rain on surface"),
        True,
    ),
    (
        "Ambience/Cafe_Rainy_Afternoon.wav",
        synths.crowd,
        "people chat in a cafe while rain falls outside",
        ("chatter", "rain", "inside, public space"),
        True,
    ),
    (
        "Vehicles/Car_Wet_Road_Pass.wav",
        synths.engine,
        "a car drives past on a wet road in the rain",
        ("car passing by", "vehicle", "rain"),
        True,
    ),
    (
        "Foley/Footsteps/Footsteps_Puddles_Rain.wav",
        synths.footsteps,
        "footsteps splash through puddles in the rain",
        ("walk, footsteps", "splash", "rain"),
        False,
    ),
    # Left uncaptioned: they sit in the queue.
    ("Weather/Rain_Gutter_Drip.wav", synths.rain, None, (), False),
    ("Foley/Footsteps/Footsteps_Gravel_Run.wav", synths.footsteps, None, (), True),
    ("Vehicles/Engine_Rev_Short.wav", synths.engine, None, (), True),
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
