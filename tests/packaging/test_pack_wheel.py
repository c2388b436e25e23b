"""The sdist and the wheel carry everything; the wheel alone, installed, captions a file.

The sdist is built from a copy of the source tree and the wheel from the unpacked sdist (as
``python -m build`` does), so a file missing from the sdist breaks the wheel too. The wheel is
installed into a fresh virtual environment with no dependencies (``--no-deps --no-index``);
only afterwards does a ``.pth`` line make this environment's site-packages importable for
torch, transformers and the rest. A ``.pth`` line adds a folder without running the ``.pth``
files inside it, so the editable install of the checkout stays inactive: ``captioner`` and
``desktop`` can only come from the wheel, which the test asserts. Everything runs from an empty
folder outside the repository with PYTHONPATH unset.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from desktop import __version__
from desktop.resources import APP_ID
from tests.conftest import write_tone

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Left out of the copy the sdist is built from: not source, and possibly large.
_NOT_SOURCE = {".git", ".venv", "build", "dist", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
PACKAGE_DATA = [
    "captioner/resources/audioset/class_labels_indices.csv",
    "captioner/resources/audioset/ontology.json",
    "captioner/resources/audioset/README.md",
    "captioner/resources/ucs/README.md",
    "captioner/resources/ucs/ucs_v8.2.1.csv",
    f"desktop/resources/{APP_ID}.svg",
    f"desktop/resources/{APP_ID}.desktop",
    f"desktop/resources/{APP_ID}.metainfo.xml",
    "desktop/resources/README.md",
    f"desktop/resources/icons/16x16/{APP_ID}.png",
    f"desktop/resources/icons/512x512/{APP_ID}.png",
]


def _ignore_top_level(folder: str, names: list[str]) -> set[str]:
    if Path(folder) != ROOT:
        return {name for name in names if name == "__pycache__"}
    return {name for name in names if name in _NOT_SOURCE or name.endswith(".egg-info")}


def _build(kind: str, source: Path, out: Path) -> Path:
    proc = subprocess.run(
        [sys.executable, "-m", "build", f"--{kind}", "--no-isolation", "--outdir", str(out)],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    suffix = ".tar.gz" if kind == "sdist" else ".whl"
    (built,) = out.glob(f"earmark-{__version__}*{suffix}")
    return built


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(sdist, wheel)``: the sdist from a copy of the tree, the wheel from the sdist."""
    work = tmp_path_factory.mktemp("dists")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=_ignore_top_level)
    sdist = _build("sdist", source, work / "out")
    with tarfile.open(sdist) as tar:
        tar.extractall(work / "unpacked", filter="data")
    wheel = _build("wheel", work / "unpacked" / f"earmark-{__version__}", work / "out")
    return sdist, wheel


def test_the_sdist_holds_the_package_data_and_what_builds_and_tests_it(
    dists: tuple[Path, Path],
) -> None:
    sdist, _ = dists
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    extra = ["LICENSE", "README.md", "MANIFEST.in", "pyproject.toml", "main.py"]
    extra += ["packaging/earmark.spec", "scripts/build-bundle.sh", "tests/conftest.py"]
    missing = [name for name in PACKAGE_DATA + extra if name not in names]
    assert not missing, missing
    assert not any(name.startswith("resources/") for name in names)
    assert not any("__pycache__" in name for name in names)


def test_the_wheel_holds_the_package_data_and_only_the_packages(dists: tuple[Path, Path]) -> None:
    _, wheel = dists
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in PACKAGE_DATA if name not in names]
    assert not missing, missing
    tops = {name.split("/")[0] for name in names}
    assert tops == {"captioner", "desktop", f"earmark-{__version__}.dist-info"}


def _fresh_env(home: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "EARMARK_HOME")
        and not key.startswith("XDG_")
    }
    env.update(HOME=str(home), EARMARK_HOME=str(home / "earmark"), QT_QPA_PLATFORM="offscreen")
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{cmd}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    return proc.stdout


def test_the_wheel_installed_in_a_fresh_venv_captions_a_file(
    dists: tuple[Path, Path], tiny_models: Path, tmp_path: Path
) -> None:
    _, wheel = dists
    venv, home, work = tmp_path / "venv", tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = _fresh_env(home)
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work, env)
    python = venv / "bin" / "python"
    # pip runs inside the new interpreter, which sees only the empty venv yet: nothing else can
    # satisfy, replace or be uninstalled.
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    _run([*pip, "--no-deps", "--no-index", "--no-cache-dir", str(wheel)], work, env)
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(_run([str(python), "-c", purelib], work, env).strip())
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "earmark_test_dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")

    probe = (
        "import json, sys, captioner, desktop, desktop.resources\n"
        "print(json.dumps({'captioner': captioner.__file__, 'desktop': desktop.__file__,"
        " 'icon': str(desktop.resources.icon_svg()), 'path': sys.path,"
        " 'editable': [m for m in sys.modules if 'editable' in m]}))"
    )
    where = json.loads(_run([str(python), "-c", probe], work, env))
    assert Path(where["captioner"]).is_relative_to(site)
    assert Path(where["desktop"]).is_relative_to(site)
    assert Path(where["icon"]).is_relative_to(site)
    assert where["editable"] == []
    assert str(ROOT) not in where["path"] and "" not in where["path"][1:]

    write_tone(work / "tone.wav")
    models = ["--clap", str(tiny_models / "clap"), "--llm", str(tiny_models / "llm")]
    caption = [str(venv / "bin" / "earmark"), "caption", "tone.wav", "--json", "--device", "cpu"]
    out = _run([*caption, *models], work, env)
    record = json.loads(out.strip().splitlines()[-1])
    assert record["path"] == "tone.wav" and record["caption"]
    from captioner.vocabulary import load_vocabulary

    keywords = [k["keyword"] for k in record["keywords"]]
    assert keywords and set(keywords) <= set(load_vocabulary(None).keywords)

    # The app from the wheel finds its icon and renders its window.
    shot = work / "shot.png"
    gui = [str(venv / "bin" / "earmark-gui"), "--db", str(work / "lib.db")]
    _run([*gui, "--screenshot", str(shot)], work, env)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
