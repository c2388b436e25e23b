"""Opens the window's dialogs and reports what was chosen in them, by signal.

Every dialog is opened with ``open()`` (window-modal, no nested event loop) and deleted when
it closes; what the person chose leaves as a signal for the window to wire to a controller.
Open dialogs can be found by name (``dialog("settings")``), which tests use.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from desktop.gui.dialogs import pickers
from desktop.gui.dialogs.about import ShortcutsDialog, show_about
from desktop.gui.dialogs.batch_edit_dialog import BatchEditDialog
from desktop.gui.dialogs.confirm import show_details
from desktop.gui.dialogs.export_dialog import ExportDialog, ExportScope
from desktop.gui.dialogs.history_dialog import HistoryDialog
from desktop.gui.dialogs.models_dialog import ModelsDialog
from desktop.gui.dialogs.settings_dialog import SettingsDialog
from desktop.gui.tasks import TaskRunner
from desktop.library import CaptionRecord, FileRow, RemovalImpact, RootInfo
from desktop.settings import AppSettings

log = logging.getLogger(__name__)

__all__ = ["Dialogs"]


class Dialogs(QObject):
    """The window's dialogs.

    Signals:
        pathsChosen(list[str]): folders or files to add (File -> Add folder… / Add files…).
        settingsChosen(AppSettings, RootChanges): the settings dialog was accepted.
        modelsChosen(AppSettings, ready): the models dialog closed (``ready``: both present).
        exportChosen(scope, path, bom): the export dialog was accepted.
        restoreChosen(file_id, caption_id): Restore in the caption history.
        batchEditChosen(file_ids, add, remove, description): the batch edit was applied.
    """

    pathsChosen = Signal(object)
    settingsChosen = Signal(object, object)
    modelsChosen = Signal(object, bool)
    exportChosen = Signal(str, object, bool)
    restoreChosen = Signal(int, int)
    batchEditChosen = Signal(object, object, object, str)

    def __init__(self, window: QWidget, runner: TaskRunner) -> None:
        super().__init__(window)
        self._window = window
        self._runner = runner
        self._open: dict[str, QWidget] = {}

    def dialog(self, key: str) -> QWidget | None:
        """An open dialog by name (``settings``, ``models``, ``export``, ``history``…)."""
        return self._open.get(key)

    def choose_folder(self) -> None:
        """Ask for a folder of sounds."""
        path = pickers.choose_directory(self._window, "Add a folder of sounds")
        if path:
            self.pathsChosen.emit([path])

    def choose_files(self) -> None:
        """Ask for sound files (each is added alone, never its folder)."""
        paths = pickers.choose_files(self._window, "Add sound files")
        if paths:
            self.pathsChosen.emit(paths)

    def open_models(self, settings: AppSettings, reason: str = "") -> None:
        """The models dialog (raised if already open)."""
        existing = self._open.get("models")
        if existing is not None:
            existing.raise_()
            return
        dialog = ModelsDialog(settings, self._runner, self._window, reason=reason)

        def finished(_result: int) -> None:
            self.modelsChosen.emit(dialog.settings(), dialog.ready)

        self._show("models", dialog, finished)

    def open_settings(
        self, settings: AppSettings, roots: list[RootInfo], impacts: dict[int, RemovalImpact]
    ) -> None:
        """The settings dialog (ignored while one is open)."""
        if "settings" in self._open:
            return
        dialog = SettingsDialog(settings, roots, self._runner, impacts, self._window)

        def finished(result: int) -> None:
            if result == SettingsDialog.DialogCode.Accepted:
                self.settingsChosen.emit(dialog.settings(), dialog.root_changes)

        self._show("settings", dialog, finished)

    def open_export(self, counts: dict[str, int], scope: ExportScope) -> None:
        """What to export, and where."""
        dialog = ExportDialog(counts, Path.home() / "earmark-export.csv", scope, self._window)

        def finished(result: int) -> None:
            if result == ExportDialog.DialogCode.Accepted:
                self.exportChosen.emit(dialog.scope, dialog.path, dialog.bom)

        self._show("export", dialog, finished)

    def open_history(self, row: FileRow, history: list[CaptionRecord]) -> None:
        """Every caption ``row`` has had, with Restore."""
        dialog = HistoryDialog(row, history, self._window)
        dialog.restoreRequested.connect(self.restoreChosen)
        self._show("history", dialog)

    def open_batch_edit(self, file_ids: Sequence[int]) -> None:
        """Add/remove keywords or set one description across files."""
        ids = list(file_ids)
        dialog = BatchEditDialog(len(ids), self._window)

        def finished(result: int) -> None:
            if result == BatchEditDialog.DialogCode.Accepted:
                edit = dialog.edit()
                self.batchEditChosen.emit(ids, edit.add, edit.remove, edit.description)

        self._show("batch", dialog, finished)

    def open_shortcuts(self, shortcuts: list[tuple[str, str]]) -> None:
        """Help -> Keyboard shortcuts."""
        self._show("shortcuts", ShortcutsDialog(shortcuts, self._window))

    def open_about(self) -> None:
        """Help -> About."""
        self._track("about", show_about(self._window))

    def show_details(self, text: str) -> None:
        """A long message in full (Details…)."""
        show_details(self._window, "Earmark", text)

    def _show(self, key: str, dialog: QWidget, finished: object = None) -> None:
        self._track(key, dialog)
        if finished is not None:
            dialog.finished.connect(finished)  # type: ignore[attr-defined]
        dialog.finished.connect(dialog.deleteLater)  # type: ignore[attr-defined]
        dialog.open()  # type: ignore[attr-defined]

    def _track(self, key: str, dialog: QWidget) -> None:
        self._open[key] = dialog

        def gone() -> None:
            if self._open.get(key) is dialog:
                self._open.pop(key, None)

        dialog.destroyed.connect(gone)
