"""The test suite leaves the user's home, and so the real Earmark data folder, untouched.

Part of the suite runs again in a child pytest whose HOME is an empty folder and which has no
EARMARK_HOME or XDG_* variables, as on a developer's machine; afterwards the folder must still
be empty. The chosen tests load a Captioner in a module-scoped fixture (which used to write the
keyword-embedding cache into ~/.local/share/Earmark), caption through the CLI, scan a library
and start the app.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = [
    "tests/captioner/test_cap_engine.py::test_caption_has_text_keywords_prompt_and_provenance",
    "tests/captioner/test_cap_cli.py::test_caption_json_line_with_paper_prompt",
    "tests/library/test_scan.py::test_scan_records_good_and_broken_files",
    "tests/app/test_cli_and_app.py::test_screenshot_writes_png",
]


@pytest.mark.slow
def test_a_test_run_writes_nothing_into_the_home_folder(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "EARMARK_HOME" and not key.startswith("XDG_")
    }
    env["HOME"] = str(home)
    pytest_cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    proc = subprocess.run(
        [*pytest_cmd, f"--basetemp={tmp_path / 'basetemp'}", *TESTS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"{len(TESTS)} passed" in proc.stdout
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    assert written == [], f"the tests wrote into the home folder: {written}"
