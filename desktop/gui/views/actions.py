"""The window's menu actions and their keys, in one place (the shortcut list reads them).

Keys that belong to the table or an editor (Space, Enter, F2, Delete, Esc, Home/End) are
handled by those widgets, so typing in a text field never triggers them; their menu entries
show the key as a label only.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenuBar

__all__ = ["WindowActions"]


class WindowActions(QObject):
    """Every menu action of the main window (connected by the window's wiring table)."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.add_folder = self._action("Add folder…", QKeySequence.StandardKey.Open)
        self.add_files = self._action("Add files…", "Ctrl+Shift+O")
        self.rescan = self._action("Rescan library", "F5")
        self.export = self._action("Export CSV…", "Ctrl+E")
        self.settings = self._action("Settings…", "Ctrl+,")
        self.quit = self._action("Quit", QKeySequence.StandardKey.Quit)
        self.undo = self._action("Undo", QKeySequence.StandardKey.Undo)
        self.redo = self._action("Redo", QKeySequence.StandardKey.Redo)
        self.find = self._action("Find", QKeySequence.StandardKey.Find)
        self.edit_description = self._action("Edit description", label="F2")
        self.edit_selected = self._action("Edit selected files…", "Ctrl+K")
        self.history = self._action("Caption history…", "Ctrl+H")
        self.remove = self._action("Remove from library…", label="Del")
        self.select_all = self._action("Select all", QKeySequence.StandardKey.SelectAll)
        self.play = self._action("Play / stop", label="Space")
        self.autoplay = self._action("Play on selection")
        self.autoplay.setCheckable(True)
        self.caption_uncaptioned = self._action("Caption everything not captioned")
        self.caption_again = self._action("Caption selection again", "Ctrl+R")
        self.pause = self._action("Pause captioning", "Ctrl+P")
        self.pause.setCheckable(True)
        self.models = self._action("Models…")
        self.shortcuts = self._action("Keyboard shortcuts", QKeySequence.StandardKey.HelpContents)
        self.about = self._action("About Earmark")

    def _action(
        self,
        text: str,
        keys: QKeySequence.StandardKey | str | None = None,
        label: str = "",
    ) -> QAction:
        action = QAction(text, self)
        if keys is not None:
            action.setShortcut(QKeySequence(keys))
        if label:
            action.setText(f"{text}\t{label}")
            action.setData(label)
        return action

    def build_menus(self, bar: QMenuBar) -> None:
        """Fill the menu bar."""
        sections: list[tuple[str, list[QAction | None]]] = [
            (
                "&File",
                [
                    self.add_folder,
                    self.add_files,
                    self.rescan,
                    None,
                    self.export,
                    None,
                    self.settings,
                    None,
                    self.quit,
                ],
            ),
            (
                "&Edit",
                [
                    self.undo,
                    self.redo,
                    None,
                    self.find,
                    self.select_all,
                    None,
                    self.edit_description,
                    self.edit_selected,
                    self.history,
                    None,
                    self.remove,
                ],
            ),
            ("&Playback", [self.play, self.autoplay]),
            (
                "&Captioning",
                [self.caption_uncaptioned, self.caption_again, self.pause, None, self.models],
            ),
            ("&Help", [self.shortcuts, None, self.about]),
        ]
        for title, actions in sections:
            menu = bar.addMenu(title)
            for action in actions:
                if action is None:
                    menu.addSeparator()
                else:
                    menu.addAction(action)

    def shortcut_list(self) -> list[tuple[str, str]]:
        """``(what, keys)`` for the Help dialog: the menus' keys and the table's own."""
        out: list[tuple[str, str]] = []
        for action in self.findChildren(QAction):
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            keys = keys or str(action.data() or "")
            if keys:
                out.append((action.text().split("\t")[0].rstrip("…"), keys))
        out += [
            ("Move into the results from the search box", "Down / Enter"),
            ("Clear the search and stop playback", "Esc"),
            ("Edit the description of the selected file", "Enter / F2"),
            ("Save the edit (new line: Shift+Enter)", "Enter"),
            ("Back to the table, keeping the edit", "Esc"),
            ("First / last file", "Home / End"),
            ("Stop playback", "Esc"),
        ]
        return out
