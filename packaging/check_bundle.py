"""Check a built one-folder bundle: it renders its window and captions a file on its own.

``python packaging/check_bundle.py dist/Earmark [--json OUT]`` (``scripts/build-bundle.sh
--check`` runs it and writes ``benchmarks/results/bundle.json``: sizes, step times, versions).
This interpreter only prepares the inputs (tiny random-weight models, a test tone); everything
checked runs in the bundle's executable, from an empty folder outside the source tree, with
``PYTHONPATH`` unset and a fresh home and data folder. It prints one line per step with its time
and exits non-zero on the first failure. Too slow for the default test run (the bundle takes
minutes to build), so it is a script, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Starting torch and Qt from a cold bundle on a busy machine takes a while; a hang is a failure.
STEP_TIMEOUT_S = 600


def _env(home: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "EARMARK_HOME")
        and not key.startswith("XDG_")
    }
    env.update(
        HOME=str(home),
        EARMARK_HOME=str(home / "earmark"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        QT_QPA_PLATFORM="offscreen",
        TOKENIZERS_PARALLELISM="false",
    )
    return env


def _disk_bytes(folder: Path) -> int:
    seen: set[tuple[int, int]] = set()
    total = 0
    for path in folder.rglob("*"):
        st = path.lstat()
        if (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def _sizes(bundle: Path) -> dict[str, object]:
    internal = bundle / "_internal"
    parts = {p.name: _disk_bytes(p) for p in internal.iterdir() if p.is_dir()}
    biggest = sorted(parts.items(), key=lambda item: -item[1])[:8]
    return {
        "disk_bytes": _disk_bytes(bundle),
        "files": sum(1 for p in bundle.rglob("*") if p.is_file()),
        "largest_folders_bytes": dict(biggest),
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("pyinstaller", "torch", "transformers", "PySide6-Essentials", "av")
    return {name: version(name) for name in names} | {"python": platform.python_version()}


STEPS: dict[str, float] = {}


def _run(step: str, cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    start = time.monotonic()
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S
    )
    took = time.monotonic() - start
    if proc.returncode != 0:
        print(f"FAIL {step} (exit {proc.returncode}, {took:.1f} s)\n{proc.stdout}{proc.stderr}")
        raise SystemExit(1)
    print(f"ok   {step} ({took:.1f} s)")
    STEPS[step] = round(took, 2)
    return proc.stdout


def main(argv: list[str] | None = None) -> int:
    """Run the checks; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="the bundle folder (dist/Earmark)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write the measurements here")
    parser.add_argument(
        "--build-seconds", type=float, default=None, help="how long the build took (recorded)"
    )
    args = parser.parse_args(argv)
    exe = (args.bundle / "Earmark").resolve()
    if not exe.is_file():
        print(f"error: no executable at {exe}; build it with scripts/build-bundle.sh")
        return 2

    import numpy as np
    import soundfile as sf

    from captioner.testing.tiny_models import build_tiny_models

    with tempfile.TemporaryDirectory(prefix="earmark-bundle-check-") as tmp_name:
        tmp = Path(tmp_name)
        models, home, work = tmp / "models", tmp / "home", tmp / "work"
        for folder in (home, work):
            folder.mkdir()
        build_tiny_models(models)
        t = np.arange(16000) / 16000
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        sf.write(str(work / "tone.wav"), tone, 16000)
        env = _env(home)

        version = _run("--cli --version", [str(exe), "--cli", "--version"], work, env).strip()
        print(f"     {version}")

        shot = work / "shot.png"
        _run(
            "--screenshot",
            [str(exe), "--db", str(work / "shot.db"), "--screenshot", str(shot)],
            work,
            env,
        )
        header = shot.read_bytes()[:24]
        width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
        if header[:8] != b"\x89PNG\r\n\x1a\n" or (width, height) != (1280, 800):
            print(f"FAIL --screenshot wrote no 1280x800 PNG ({width}x{height})")
            return 1
        print(f"     {shot.name}: {width}x{height} PNG, {shot.stat().st_size} bytes")

        caption = [str(exe), "--cli", "caption", "tone.wav", "--json", "--device", "cpu"]
        tiny = ["--clap", str(models / "clap"), "--llm", str(models / "llm")]
        out = _run("--cli caption (tiny models)", [*caption, *tiny], work, env)
        record = json.loads(out.strip().splitlines()[-1])
        if not record.get("caption") or not record.get("keywords"):
            print(f"FAIL caption record lacks a caption or keywords: {record}")
            return 1
        print(f"     caption: {record['caption']!r}")
        print(f"     keywords: {[k['keyword'] for k in record['keywords']]}")
    if args.json:
        result = {
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
            "versions": _versions(),
            "build_seconds": args.build_seconds,
            "bundle": _sizes(args.bundle),
            "check_step_seconds": STEPS,
            "caption": {"text": record["caption"], "keywords": record["keywords"]},
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"     measurements: {args.json}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
