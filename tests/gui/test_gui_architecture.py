"""Who may import whom inside desktop.gui (docs/ARCHITECTURE.md, "The window")."""

from __future__ import annotations

import ast
from pathlib import Path

GUI = Path(__file__).resolve().parents[2] / "desktop" / "gui"


def _imports(path: Path) -> set[str]:
    """Modules a file imports (absolute names; relative ones resolved in its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(GUI.parents[1]).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((GUI / folder).glob("*.py"))


def test_views_import_no_controller_and_no_dialog() -> None:
    for path in _modules("views"):
        bad = {
            m
            for m in _imports(path)
            if m.startswith(("desktop.gui.controllers", "desktop.gui.dialogs"))
        }
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_controllers_import_no_view_and_no_dialog() -> None:
    for path in _modules("controllers"):
        bad = {
            m for m in _imports(path) if m.startswith(("desktop.gui.views", "desktop.gui.dialogs"))
        }
        assert not bad, f"{path.name} imports {sorted(bad)}"
        assert not any(m.startswith("PySide6.QtWidgets") for m in _imports(path)), path.name


def test_dialogs_import_no_controller() -> None:
    for path in _modules("dialogs"):
        bad = {m for m in _imports(path) if m.startswith("desktop.gui.controllers")}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_only_the_app_imports_the_main_window_and_helpers_import_no_ui() -> None:
    helpers = [p for p in GUI.glob("*.py") if p.name not in ("main_window.py", "demo.py")]
    for path in [*helpers, *_modules("views"), *_modules("controllers"), *_modules("dialogs")]:
        imports = _imports(path)
        assert "desktop.gui.main_window" not in imports, path.name
        if path.parent == GUI:
            ui = {
                m
                for m in imports
                if m.startswith(
                    ("desktop.gui.views", "desktop.gui.dialogs", "desktop.gui.controllers")
                )
            }
            assert not ui, f"{path.name} (a helper) imports {sorted(ui)}"


def test_the_old_window_parts_are_gone() -> None:
    for name in ("captioning.py", "window_layout.py", "table_menu.py"):
        assert not (GUI / name).exists(), name
