"""The bundle's entry point (packaging/earmark_bundle.py), run from source: app or CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _entry(*args: str, hide: str | None = None) -> subprocess.CompletedProcess[str]:
    # hide: a package made unimportable, as it is when left out of the bundle.
    code = (
        "import sys\n"
        + (f"sys.modules[{hide!r}] = None\n" if hide else "")
        + f"sys.path.insert(0, {str(ROOT / 'packaging')!r})\n"
        "import earmark_bundle\n"
        f"sys.exit(earmark_bundle.main({list(args)!r}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_cli_flag_runs_the_earmark_command() -> None:
    proc = _entry("--cli", "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: earmark ")
    assert "caption" in proc.stdout and "library" in proc.stdout


def test_eval_without_its_metrics_packages_says_so_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _entry(
        "--cli", "eval", "--dataset", "clotho", "--captions", str(tmp_path / "none.csv"),
        "--out", str(out),
        hide="aac_metrics",
    )  # fmt: skip
    assert proc.returncode == 2
    assert "'eval' is not part of the Earmark bundle" in proc.stderr
    assert "pip install 'earmark[eval]'" in proc.stderr
    assert not out.exists()
