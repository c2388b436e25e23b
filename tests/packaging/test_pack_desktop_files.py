"""The icon, the .desktop entry and the AppStream metainfo, and the app's use of them."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from desktop import __version__, resources

ROOT = Path(__file__).resolve().parents[2]


def test_every_icon_size_is_a_square_png_of_that_size_with_a_picture(qapp) -> None:
    from PySide6.QtGui import QImage

    for size in resources.ICON_SIZES:
        image = QImage(str(resources.icon_png(size)))
        assert not image.isNull(), size
        assert (image.width(), image.height()) == (size, size)
        assert image.hasAlphaChannel()
        # Transparent outside the tile, drawn inside it.
        assert image.pixelColor(0, 0).alpha() == 0
        assert image.pixelColor(size // 2, size * 3 // 4).alpha() == 255


def test_the_svg_icon_renders(qapp) -> None:
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(resources.icon_svg()))
    assert renderer.isValid()
    assert renderer.defaultSize().width() == renderer.defaultSize().height() == 512


def test_unknown_icon_size_is_refused() -> None:
    with pytest.raises(ValueError, match="sizes are 16"):
        resources.icon_png(20)


def test_desktop_entry_names_the_installed_program_and_the_icon() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(resources.desktop_entry(), encoding="utf-8")
    section = entry["Desktop Entry"]
    # The program pip installs from [project.gui-scripts].
    assert section["Exec"] == "earmark-gui"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '\n[project.gui-scripts]\nearmark-gui = "desktop.app:main"\n' in pyproject
    assert section["Icon"] == resources.APP_ID
    assert section["Type"] == "Application"


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-utils absent")
def test_desktop_entry_validates() -> None:
    proc = subprocess.run(
        ["desktop-file-validate", str(resources.desktop_entry())], capture_output=True, text=True
    )
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_metainfo_matches_the_app() -> None:
    root = ET.parse(resources.metainfo()).getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == resources.APP_ID
    assert root.findtext("launchable") == resources.desktop_entry().name
    assert root.findtext("project_license") == "MIT"
    # The newest release listed is the version being built.
    assert root.find("releases/release").get("version") == __version__  # type: ignore[union-attr]


@pytest.mark.skipif(not shutil.which("appstreamcli"), reason="appstream (appstreamcli) absent")
def test_metainfo_validates() -> None:
    proc = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(resources.metainfo())],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_app_sets_its_window_icon_and_desktop_file_name(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from desktop.app import main\n"
        f"assert main(['--db', {str(tmp_path / 'lib.db')!r}, "
        f"'--screenshot', {str(tmp_path / 'shot.png')!r}]) == 0\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication.instance()\n"
        "print(app.desktopFileName())\n"
        "print(sorted(s.width() for s in app.windowIcon().availableSizes()))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    name, sizes = proc.stdout.strip().splitlines()[-2:]
    assert name == resources.APP_ID
    assert sizes == str(list(resources.ICON_SIZES))


def _install_entry(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(data.parent), "XDG_DATA_HOME": str(data)}
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "install-desktop-entry.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_install_desktop_entry_puts_entry_icons_and_metainfo_in_place(tmp_path: Path) -> None:
    data = tmp_path / "share"
    program = tmp_path / "My Apps" / "earmark-gui"
    proc = _install_entry(data, "--exec", str(program))
    assert proc.returncode == 0, proc.stderr
    entry = (data / "applications" / f"{resources.APP_ID}.desktop").read_text(encoding="utf-8")
    assert f'\nExec="{program}"\n' in entry
    assert entry.replace(
        f'Exec="{program}"', "Exec=earmark-gui"
    ) == resources.desktop_entry().read_text(encoding="utf-8")
    for size in resources.ICON_SIZES:
        icon = data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{resources.APP_ID}.png"
        assert icon.read_bytes() == resources.icon_png(size).read_bytes()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / f"{resources.APP_ID}.svg").is_file()
    assert (data / "metainfo" / f"{resources.APP_ID}.metainfo.xml").is_file()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(
            ["desktop-file-validate", str(data / "applications" / f"{resources.APP_ID}.desktop")],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0 and not check.stdout.strip(), check.stdout

    assert _install_entry(data, "--uninstall").returncode == 0
    assert [p for p in data.rglob("*") if p.is_file()] == []


def test_install_desktop_entry_refuses_a_path_it_cannot_quote(tmp_path: Path) -> None:
    proc = _install_entry(tmp_path / "share", "--exec", str(tmp_path / "$HOME" / "earmark-gui"))
    assert proc.returncode == 2
    assert "cannot write" in proc.stderr
    assert not (tmp_path / "share" / "applications").exists()
