"""The file table's context menu and the dialogs it opens (export, settings).

Kept apart from the window so the window file holds layout and wiring only.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint
from PySide6.QtWidgets import QMenu

from desktop.gui import background
from desktop.gui.export_dialog import ExportDialog, ExportScope
from desktop.gui.file_actions import copy_captions, reveal_in_file_manager
from desktop.gui.settings_dialog import SettingsDialog
from desktop.library import FileQuery, FileRow

if TYPE_CHECKING:  # pragma: no cover
    from desktop.gui.main_window import MainWindow

log = logging.getLogger(__name__)

__all__ = ["TableMenu", "export_request"]


def export_request(
    window: MainWindow, scope: ExportScope
) -> tuple[FileQuery | None, list[int] | None]:
    """What to pass to ``export_csv`` for a scope: ``(query, file_ids)``.

    Text searches export by query (streamed by the library, any size); semantic results and
    fixed lists (find similar) are already bounded, so their ids are exported exactly.
    """
    model = window.file_model
    if scope == "selection":
        return None, [r.id for r in window.selected_rows()]
    if scope == "library":
        return None, None
    if model.is_fixed_list() or model.query.mode in ("semantic", "hybrid"):
        return None, model.file_ids()
    return model.query, None


class TableMenu(QObject):
    """Builds the right-click menu for the selected rows and runs its actions."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    def popup_at(self, pos: QPoint) -> None:
        """Show the menu for the rows under the cursor's selection."""
        menu = self.build_menu(self.window.selected_rows())
        if menu is not None:
            menu.exec(self.window.table.viewport().mapToGlobal(pos))

    def build_menu(self, rows: list[FileRow]) -> QMenu | None:
        """The menu for ``rows`` (``None`` when nothing is selected)."""
        if not rows:
            return None
        menu = QMenu(self.window)
        first = rows[0]
        similar = menu.addAction("Find similar sounds")
        similar.setEnabled(len(rows) == 1)
        similar.triggered.connect(lambda: self.find_similar(first))
        menu.addAction("Reveal in file manager").triggered.connect(
            lambda: reveal_in_file_manager(first.path)
        )
        copy = menu.addAction("Copy caption" if len(rows) == 1 else "Copy captions")
        copy.setEnabled(any(r.caption for r in rows))
        copy.triggered.connect(lambda: copy_captions(rows))
        menu.addSeparator()
        menu.addAction("Caption again").triggered.connect(
            lambda: self.window.recaption([r.id for r in rows])
        )
        menu.addAction("Export selection…").triggered.connect(
            lambda: self.export_dialog("selection")
        )
        return menu

    def find_similar(self, row: FileRow) -> None:
        """Show the sounds closest to ``row`` (computed on the pool)."""
        window = self.window

        def done(hits: object) -> None:
            found = [h.file for h in hits]  # type: ignore[attr-defined]
            if not found:
                window.show_message(f"No similar sounds: {row.name} has not been captioned yet.")
                return
            window.show_similar(row, found)

        window.runner.run(
            lambda: background.find_similar(window.db_path, row.id),
            done,
            lambda exc: window.show_message(f"Cannot find similar sounds: {exc}"),
        )

    def export_dialog(self, scope: ExportScope) -> None:
        """Ask what to export and where, then write the CSV on the pool."""
        window = self.window
        counts = {
            "library": window.library.count_files(None),
            "search": window.file_model.rowCount(),
            "selection": len(window.selected_rows()),
        }
        dialog = ExportDialog(counts, Path.home() / "earmark-export.csv", scope, window)
        if dialog.exec() != ExportDialog.DialogCode.Accepted:
            return
        self.export(dialog.scope, dialog.path, dialog.bom)

    def export(self, scope: ExportScope, path: Path, bom: bool = False) -> None:
        """Write the CSV for ``scope`` to ``path`` on the pool; reports in the status bar."""
        window = self.window
        query, ids = export_request(window, scope)
        window.runner.run(
            lambda: background.export_rows(
                window.db_path, path, query=query, file_ids=ids, bom=bom
            ),
            lambda n: window.statusBar().showMessage(f"Exported {n:,} rows to {path}", 6000),
            lambda exc: window.show_message(f"Export failed: {exc}"),
        )

    def settings_dialog(self) -> None:
        """Edit settings and library roots."""
        window = self.window
        dialog = SettingsDialog(window.settings, window.library.roots(), window)
        if dialog.exec() != SettingsDialog.DialogCode.Accepted:
            return
        window.apply_settings(dialog.settings())
        changes = dialog.root_changes
        for root_id in changes.removed:
            window.library.remove_root(root_id)
        if changes.removed:
            window.file_model.refresh()
            window.refresh_side_panels()
        if changes.added:
            window.add_paths(changes.added)
