"""The library sidebar: "All sounds", each library folder and its subfolders, with counts."""

from __future__ import annotations

import logging

from PySide6.QtCore import QModelIndex, Qt, Signal, Slot
from PySide6.QtWidgets import QHeaderView, QTreeView, QWidget

from desktop.gui.views.side_models import FOLDER_ROLE, ROOT_ROLE, FolderTreeModel
from desktop.library import FolderCount, RootInfo

log = logging.getLogger(__name__)

__all__ = ["SidebarView"]


class SidebarView(QTreeView):
    """Tree of roots and folders; choosing one scopes the table.

    Signals:
        scopeChanged(root_id, folder): ``(None, None)`` is the whole library.
    """

    scopeChanged = Signal(object, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        self.tree = FolderTreeModel(self)
        self.setModel(self.tree)
        self.setHeaderHidden(True)
        self.setIndentation(12)
        self.header().setStretchLastSection(False)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.selectionModel().currentChanged.connect(self._on_current)
        self._shape: object = None

    def populate(self, roots: list[RootInfo], folders: dict[int, list[FolderCount]]) -> None:
        """Rebuild the tree, keeping the folder the person had chosen.

        Rebuilding moves the current item; that must not re-run the table's query (it would
        reset the table and drop the selection after every caption), so no scope change is
        announced unless the chosen folder is gone.
        """
        shape = (
            tuple((r.id, r.path, r.files) for r in roots),
            tuple((k, tuple((f.folder, f.files) for f in v)) for k, v in sorted(folders.items())),
        )
        if shape == self._shape:
            return  # only captioned counts moved (every caption): not worth a rebuild
        self._shape = shape
        current = self.currentIndex()
        key = (current.data(ROOT_ROLE), current.data(FOLDER_ROLE)) if current.isValid() else None
        selection = self.selectionModel()
        selection.blockSignals(True)
        try:
            self.tree.populate(roots, folders)
            self.expandToDepth(0)
            found = self._reselect(key) if key is not None else True
        finally:
            selection.blockSignals(False)
        if not found:
            self.setCurrentIndex(self.tree.index(0, 0))
            self.scopeChanged.emit(None, None)

    def _reselect(self, key: tuple[object, object]) -> bool:
        if key == (None, None):
            self.setCurrentIndex(self.tree.index(0, 0))
            return True
        matches = self.tree.match(
            self.tree.index(0, 0),
            FOLDER_ROLE,
            key[1],
            -1,
            Qt.MatchFlag.MatchRecursive | Qt.MatchFlag.MatchExactly,
        )
        for index in matches:
            if index.data(ROOT_ROLE) == key[0]:
                self.setCurrentIndex(index)
                return True
        return False

    @Slot(QModelIndex, QModelIndex)
    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.scopeChanged.emit(current.data(ROOT_ROLE), current.data(FOLDER_ROLE))
