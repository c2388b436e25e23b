"""The foundation: the CLI answers, the app renders a screenshot, data lives where it should."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop import __version__
from desktop.cli import build_parser, main, resolve_db_path

ROOT = Path(__file__).resolve().parents[2]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"earmark {__version__}"


def test_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    parser = build_parser()
    sub_action = next(a for a in parser._actions if a.dest == "command")
    names = list(sub_action.choices)  # type: ignore[arg-type]
    assert names, "no subcommands registered"
    for name in names:
        assert name in out


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: earmark" in capsys.readouterr().out


def test_db_defaults_to_earmark_home(_earmark_home: Path) -> None:
    args = build_parser().parse_args([])
    assert resolve_db_path(args) == _earmark_home / "library.db"
    args = build_parser().parse_args(["--db", "/tmp/x.db"])
    assert resolve_db_path(args) == Path("/tmp/x.db")


def test_screenshot_writes_png(tmp_path: Path) -> None:
    out = tmp_path / "shot.png"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "--db",
            str(tmp_path / "lib.db"),
            "--screenshot",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800)


def test_no_display_gives_a_clear_error(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}
    }
    env["EARMARK_HOME"] = str(tmp_path)
    if sys.platform.startswith(("win", "darwin")):
        pytest.skip("display detection is for X11/Wayland systems")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "--db", str(tmp_path / "lib.db")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 1
    assert "no display found" in proc.stderr
