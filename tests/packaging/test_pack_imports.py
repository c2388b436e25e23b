"""What a bundler and an installed copy need: visible imports, package data, a cheap import."""

from __future__ import annotations

import ast
import modulefinder
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("captioner", "desktop")
NOT_IMPORTED_BY_THE_APP = {
    # Test and demo helpers, run as programs (python -m ...): no bundle needs them.
    "captioner.testing",
    "captioner.testing.tiny_models",
    "desktop.gui.demo",
    "desktop.gui.demo_synths",
    # The UCS list and suggestion: an engine API that neither the app nor the CLI calls yet.
    "captioner.ucs",
    "captioner.ucs_suggest",
    "captioner._xlsx",
}


def _project_modules() -> set[str]:
    names = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_a_bundler_finds_every_module_from_the_bundle_entry_point() -> None:
    # modulefinder reads import statements like PyInstaller does (inside functions too) and
    # cannot see importlib.import_module("name"). Only the project is on its path, so the scan
    # stays inside it; third-party imports are merely noted as missing.
    finder = modulefinder.ModuleFinder(path=[str(ROOT)])
    finder.run_script(str(ROOT / "packaging" / "earmark_bundle.py"))
    found = {name for name in finder.modules if name.split(".")[0] in PACKAGES}
    unseen = _project_modules() - found - NOT_IMPORTED_BY_THE_APP
    assert not unseen, f"modules no import statement reaches (a bundle would lack them): {unseen}"
    # The lazy names of `import captioner` are among them.
    assert {"captioner.facade", "captioner.config", "captioner.types"} <= found


def test_no_module_is_imported_by_name() -> None:
    offenders = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and (
                    (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                    or (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"import by name (bundlers cannot see it): {offenders}"


def test_import_captioner_stays_cheap_and_its_lazy_names_resolve() -> None:
    code = (
        "import sys, captioner\n"
        "print('torch' in sys.modules, 'transformers' in sys.modules)\n"
        "print(captioner.Caption.__name__, captioner.KeywordScore.__module__)\n"
        "print(captioner.CaptionerConfig.__name__, captioner.Captioner.__module__)\n"
        "try:\n"
        "    captioner.Nope\n"
        "except AttributeError as exc:\n"
        "    print(exc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "False False",
        "Caption captioner.types",
        "CaptionerConfig captioner.facade",
        "module 'captioner' has no attribute 'Nope'",
    ]


def test_the_vocabulary_is_package_data() -> None:
    from captioner.vocabulary import AUDIOSET_CSV, load_vocabulary

    audioset = files("captioner") / "resources" / "audioset"
    for name in ("class_labels_indices.csv", "ontology.json", "README.md"):
        assert (audioset / name).is_file(), name
    assert AUDIOSET_CSV.is_file()
    assert len(load_vocabulary(None).keywords) == 614
    assert not (ROOT / "resources").exists(), "data outside the packages is not installed"


def test_no_shipped_module_reaches_outside_its_package_by_path() -> None:
    # Path(__file__).parent.parent and friends find files in a checkout only: an installed
    # wheel has no repository root above its packages.
    offenders = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "__file__" in text and (".parent.parent" in text or ".parents[" in text):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders
