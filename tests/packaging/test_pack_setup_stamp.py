"""scripts/setup.sh reinstalls when EARMARK_TORCH_INDEX changes (it used to ignore it).

The script runs from a copy in a temporary folder whose ``.venv/bin/python`` is a stand-in that
only records its arguments, with a PATH that holds no apt-get or pip: nothing is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("bash", "cat", "cut", "dirname", "grep", "head", "sha256sum", "tr")


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    if any(shutil.which(tool) is None for tool in TOOLS):
        pytest.skip(f"needs {', '.join(TOOLS)}")
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", repo)
    shutil.copy(ROOT / "scripts" / "setup.sh", repo / "scripts")
    python = repo / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\necho "$*" >> "{tmp_path / "calls.log"}"\n', encoding="utf-8")
    python.chmod(0o755)
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in TOOLS:
        (tools / tool).symlink_to(shutil.which(tool))  # type: ignore[arg-type]
    return repo


def _setup(repo: Path, index: str | None) -> list[str]:
    log = repo.parent / "calls.log"
    log.unlink(missing_ok=True)
    env = {"PATH": str(repo.parent / "bin"), "HOME": str(repo.parent)}
    if index is not None:
        env["EARMARK_TORCH_INDEX"] = index
    proc = subprocess.run(
        [str(repo.parent / "bin" / "bash"), str(repo / "scripts" / "setup.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_changing_the_torch_index_reinstalls_torch_from_it(sandbox: Path) -> None:
    cpu = "https://download.pytorch.org/whl/cpu"
    first = _setup(sandbox, None)
    assert first == ["-m pip install -q --upgrade pip", "-m pip install -q -e .[dev,eval]"]
    assert _setup(sandbox, None) == []  # set up already: nothing to do

    chosen = _setup(sandbox, cpu)
    assert (
        f"-m pip install -q --force-reinstall --no-deps --extra-index-url {cpu} torch>=2.4,<2.14"
        in chosen
    )
    assert chosen[-1] == f"-m pip install -q --extra-index-url {cpu} -e .[dev,eval]"
    assert _setup(sandbox, cpu) == []

    back = _setup(sandbox, "")
    assert "-m pip install -q --force-reinstall --no-deps torch>=2.4,<2.14" in back
    assert (sandbox / ".venv" / ".earmark-torch-index").read_text(encoding="utf-8") == "\n"


def test_first_set_up_with_an_index_installs_once_from_it(sandbox: Path) -> None:
    cpu = "https://download.pytorch.org/whl/cpu"
    calls = _setup(sandbox, cpu)
    assert not any("--force-reinstall" in call for call in calls)
    assert calls[-1] == f"-m pip install -q --extra-index-url {cpu} -e .[dev,eval]"
