"""Benchmark embedded metadata: per-file cost of reading tags, the payload fingerprint, the
full-decode audio digest and a verified tag write, per format and length.

    python benchmarks/bench_metadata.py [--seconds 10 60] [--repeats 5]
                                        [--out benchmarks/results/metadata.json]

Files are 48 kHz stereo (WAV 24-bit, FLAC 24-bit, MP3 192k and M4A/AAC 192k made with
ffmpeg), tagged like a library file (bext, iXML, INFO or the format's tags). Each figure is the
median of ``--repeats`` runs with a warm page cache (what a rescan sees); the old byte
fingerprint (size + first and last 64 KiB) is timed beside the payload fingerprint.
Torch-free; needs ffmpeg.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import machine_info
from desktop.library.metadata import (
    TagUpdate,
    audio_digest,
    payload_fingerprint,
    read_metadata,
    write_tags,
)
from desktop.library.scanning import fingerprint as byte_fingerprint

FORMATS = {
    "wav": None,
    "flac": ["-c:a", "flac", "-sample_fmt", "s32"],
    "mp3": ["-c:a", "libmp3lame", "-b:a", "192k"],
    "m4a": ["-c:a", "aac", "-b:a", "192k"],
}


def _make(folder: Path, kind: str, seconds: float) -> Path:
    rate = 48000
    rng = np.random.default_rng(int(seconds))
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.2 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.shape)
    data = np.stack([mono, mono * 0.8], axis=1).astype(np.float32)
    wav = folder / f"{seconds:g}s.wav"
    if not wav.exists():
        sf.write(wav, data, rate, subtype="PCM_24")
    if kind == "wav":
        return wav
    out = folder / f"{seconds:g}s.{kind}"
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("ffmpeg is needed to make the MP3/FLAC/M4A files")
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-i", str(wav), *FORMATS[kind], str(out)], check=True
    )
    return out


def _median(func: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "metadata.json"
    )
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for seconds in args.seconds:
            for kind in FORMATS:
                path = _make(folder, kind, seconds)
                update = TagUpdate(
                    description="A heavy wooden door slams shut in a stone hall",
                    keywords=("door", "slam", "wood", "hall"),
                    catid="DOORWood",
                    category="DOORS",
                    subcategory="WOOD",
                )
                write_tags(path, update)  # the file now looks like a tagged library file
                size = path.stat().st_size
                counter = iter(range(10**9))
                row = {
                    "format": kind,
                    "seconds": seconds,
                    "bytes": size,
                    "read_metadata_ms": 1000
                    * _median(lambda p=path: read_metadata(p), args.repeats),
                    "payload_fingerprint_ms": 1000
                    * _median(lambda p=path: payload_fingerprint(p), args.repeats),
                    "byte_fingerprint_ms": 1000
                    * _median(lambda p=path, s=size: byte_fingerprint(str(p), s), args.repeats),
                    "audio_digest_ms": 1000 * _median(lambda p=path: audio_digest(p), args.repeats),
                    "write_tags_ms": 1000
                    * _median(
                        lambda p=path, c=counter: write_tags(
                            p, TagUpdate(description=f"take {next(c)}")
                        ),
                        args.repeats,
                    ),
                }
                rows.append(row)
                print(json.dumps(row))
    result = {
        "machine": machine_info(),
        "repeats": args.repeats,
        "note": "medians, warm page cache; write_tags includes two full-decode audio digests "
        "(before and after) and the read-back verification",
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
