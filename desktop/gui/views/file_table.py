"""The file table: keyboard habits of sample browsers, a column chooser, the context menu.

Keys: Up/Down move, Home/End go to the first/last file, Space plays or stops, Enter or F2
edit the description, Delete asks to remove the selection from the library, Esc stops
playback. Everything the person asks for leaves as a signal; the table decides nothing.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QItemSelection, QModelIndex, QPoint, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView, QWidget

from desktop.gui.views.columns import COLUMNS, column_index, default_layout
from desktop.gui.views.file_model import FileTableModel
from desktop.gui.views.widgets import MiddleElideDelegate
from desktop.library import FileQuery, FileRow

log = logging.getLogger(__name__)

__all__ = ["FileTableView"]


class FileTableView(QTableView):
    """The table of files over a :class:`FileTableModel`.

    Signals:
        currentFileChanged(FileRow | None): the file with the keyboard focus changed.
        selectionCountChanged(int): how many files are selected.
        editRequested(): Enter or F2: edit the current file's description.
        playRequested(): Space.
        stopRequested(): Esc.
        removeRequested(list[FileRow]): Delete, or the menu.
        findSimilarRequested(FileRow), revealRequested(FileRow), historyRequested(FileRow)
        copyRequested(list[FileRow]), captionAgainRequested(list[FileRow]),
        editSelectedRequested(list[FileRow]), exportSelectionRequested().
    """

    currentFileChanged = Signal(object)
    selectionCountChanged = Signal(int)
    editRequested = Signal()
    playRequested = Signal()
    stopRequested = Signal()
    removeRequested = Signal(object)
    findSimilarRequested = Signal(object)
    revealRequested = Signal(object)
    historyRequested = Signal(object)
    copyRequested = Signal(object)
    captionAgainRequested = Signal(object)
    editSelectedRequested = Signal(object)
    exportSelectionRequested = Signal()

    def __init__(self, model: FileTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fileTable")
        self.setModel(model)
        self._model = model
        self._current_id: int | None = None
        self.setSortingEnabled(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self._name_delegate = MiddleElideDelegate(self)
        self.setItemDelegateForColumn(column_index("name"), self._name_delegate)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(26)
        self.setDragEnabled(True)
        # Drag out only: drops land on the window, which adds the files to the library.
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        header = self.horizontalHeader()
        header.setSortIndicator(column_index("name"), Qt.SortOrder.AscendingOrder)
        header.setStretchLastSection(False)
        header.setSectionsMovable(True)
        header.setMinimumSectionSize(28)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(column_index("caption"), QHeaderView.ResizeMode.Stretch)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._row_menu)
        self.selectionModel().selectionChanged.connect(self._on_selection)
        self.selectionModel().currentRowChanged.connect(self._on_current)
        model.modelAboutToBeReset.connect(self._before_reset)
        model.modelReset.connect(self._on_reset)
        self._keep_id: int | None = None
        self._layout_applied = False

    # -- what is selected --------------------------------------------------------------------

    def selected_rows(self) -> list[FileRow]:
        """Files selected, in table order."""
        rows = sorted({i.row() for i in self.selectionModel().selectedRows()})
        found = (self._model.row_at(r) for r in rows)
        return [r for r in found if r is not None]

    def current_file(self) -> FileRow | None:
        """The file with the keyboard focus (the one the detail panel shows)."""
        index = self.currentIndex()
        return self._model.row_at(index.row()) if index.isValid() else None

    @Slot(object)
    def show_sort_for(self, query: FileQuery) -> None:
        """Search results come in relevance order: no column is the sort key then."""
        self.horizontalHeader().setSortIndicatorShown(query.sort != "rank" or not query.text)

    def focus_results(self) -> None:
        """Move the keyboard into the table, with the current file (or the first) selected.

        Qt gives a focused view a current index without selecting it; a current row that is
        not selected would make Delete or Ctrl+K act on nothing.
        """
        if self._model.rowCount() > 0:
            current = self.currentIndex()
            row = current.row() if current.isValid() else 0
            if not self.selectionModel().isRowSelected(row, QModelIndex()):
                self.selectRow(row)
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def acted_on(self) -> list[FileRow]:
        """The selection, or the current file when nothing is selected (what keys act on)."""
        rows = self.selected_rows()
        if not rows:
            current = self.current_file()
            rows = [current] if current is not None else []
        return rows

    # -- menu requests on the files acted on ----------------------------------------------

    @Slot()
    def request_remove(self) -> None:
        """Edit -> Remove from library…"""
        if rows := self.acted_on():
            self.removeRequested.emit(rows)

    @Slot()
    def request_edit_selected(self) -> None:
        """Edit -> Edit selected files…"""
        if rows := self.acted_on():
            self.editSelectedRequested.emit(rows)

    @Slot()
    def request_caption_again(self) -> None:
        """Captioning -> Caption selection again."""
        if rows := self.acted_on():
            self.captionAgainRequested.emit(rows)

    @Slot()
    def request_history(self) -> None:
        """Edit -> Caption history…"""
        if (row := self.current_file()) is not None:
            self.historyRequested.emit(row)

    # -- columns -------------------------------------------------------------------------------

    def apply_default_columns(self, available: int | None = None) -> None:
        """Widths from the values' own sizes; optional columns that do not fit are hidden."""
        header = self.horizontalHeader()
        width = available if available is not None else max(self.viewport().width(), 300)
        widths, hidden = default_layout(width, self.fontMetrics(), header.fontMetrics())
        for index, column in enumerate(COLUMNS):
            header.setSectionHidden(index, column.key in hidden)
            if not column.stretch:
                header.resizeSection(index, widths[column.key])
        self._layout_applied = True

    def column_hidden(self, key: str) -> bool:
        """Whether the column named ``key`` is hidden."""
        return self.isColumnHidden(column_index(key))

    def set_column_hidden(self, key: str, hidden: bool) -> None:
        """Show or hide the column named ``key`` (the description always stays)."""
        if key != "caption":
            self.setColumnHidden(column_index(key), hidden)

    def _header_menu(self, pos: QPoint) -> None:
        self.column_menu().popup(self.horizontalHeader().mapToGlobal(pos))

    def column_menu(self) -> QMenu:
        """The column chooser: a checkable entry per column, and a reset."""
        menu = QMenu(self)
        menu.setObjectName("columnMenu")
        for column in COLUMNS:
            action = QAction(column.title, menu)
            action.setCheckable(True)
            action.setChecked(not self.column_hidden(column.key))
            action.setEnabled(column.key != "caption")
            action.setData(column.key)
            action.toggled.connect(self._on_column_toggled)
            menu.addAction(action)
        menu.addSeparator()
        reset = menu.addAction("Reset columns")
        reset.triggered.connect(self._reset_columns)
        return menu

    @Slot(bool)
    def _on_column_toggled(self, checked: bool) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.set_column_hidden(str(action.data()), not checked)

    @Slot()
    def _reset_columns(self) -> None:
        header = self.horizontalHeader()
        for visual in range(header.count()):  # restore the original order first
            logical = header.logicalIndex(visual)
            if logical != visual:
                header.moveSection(header.visualIndex(visual), visual)
        self.apply_default_columns()

    # -- keys and menus ----------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        plain = event.modifiers() in (
            Qt.KeyboardModifier.NoModifier,
            Qt.KeyboardModifier.KeypadModifier,
        )
        if plain and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_F2):
            if self.currentIndex().isValid():
                self.editRequested.emit()
            event.accept()
        elif plain and key == Qt.Key.Key_Space:
            self.playRequested.emit()
            event.accept()
        elif plain and key == Qt.Key.Key_Escape:
            self.stopRequested.emit()
            event.accept()
        elif plain and key == Qt.Key.Key_Delete:
            rows = self.acted_on()
            if rows:
                self.removeRequested.emit(rows)
            event.accept()
        else:
            super().keyPressEvent(event)

    def moveCursor(
        self, action: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        # Home and End mean the first and last file here, not the first and last column.
        count = self._model.rowCount()
        column = max(self.currentIndex().column(), 0)
        if action == QAbstractItemView.CursorAction.MoveHome and count:
            return self._model.index(0, column)
        if action == QAbstractItemView.CursorAction.MoveEnd and count:
            return self._model.index(count - 1, column)
        return super().moveCursor(action, modifiers)

    def _row_menu(self, pos: QPoint) -> None:
        menu = self.row_menu(self.selected_rows())
        if menu is not None:
            menu.popup(self.viewport().mapToGlobal(pos))

    def row_menu(self, rows: list[FileRow]) -> QMenu | None:
        """The right-click menu for ``rows`` (``None`` when nothing is selected)."""
        if not rows:
            return None
        menu = QMenu(self)
        menu.setObjectName("rowMenu")
        first = rows[0]
        single = len(rows) == 1
        similar = menu.addAction("Find similar sounds")
        similar.setEnabled(single)
        similar.triggered.connect(lambda: self.findSimilarRequested.emit(first))
        menu.addAction("Reveal in file manager").triggered.connect(
            lambda: self.revealRequested.emit(first)
        )
        copy = menu.addAction("Copy description" if single else "Copy descriptions")
        copy.setEnabled(any(r.caption for r in rows))
        copy.triggered.connect(lambda: self.copyRequested.emit(rows))
        history = menu.addAction("Caption history…")
        history.setEnabled(single)
        history.triggered.connect(lambda: self.historyRequested.emit(first))
        menu.addSeparator()
        edit = menu.addAction("Edit selected files…" if not single else "Edit keywords…")
        edit.triggered.connect(lambda: self.editSelectedRequested.emit(rows))
        again = menu.addAction("Caption again")
        again.setEnabled(any(r.status == "ok" for r in rows))
        again.triggered.connect(lambda: self.captionAgainRequested.emit(rows))
        menu.addAction("Export selection…").triggered.connect(self.exportSelectionRequested)
        menu.addSeparator()
        menu.addAction("Remove from library…").triggered.connect(
            lambda: self.removeRequested.emit(rows)
        )
        return menu

    # -- internals ---------------------------------------------------------------------------

    @Slot(QItemSelection, QItemSelection)
    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        self.selectionCountChanged.emit(len(self.selectionModel().selectedRows()))

    @Slot(QModelIndex, QModelIndex)
    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = self._model.row_at(current.row()) if current.isValid() else None
        new_id = row.id if row is not None else None
        if new_id != self._current_id:
            self._current_id = new_id
            self.currentFileChanged.emit(row)

    @Slot()
    def _before_reset(self) -> None:
        self._keep_id = self._current_id

    @Slot()
    def _on_reset(self) -> None:
        # A refresh (a scan finished, files were added) must not take the person's place:
        # the file they were on is found again and stays current, its edit untouched.
        keep, self._keep_id = self._keep_id, None
        row = self._model.find_row(keep) if keep is not None else None
        if row is not None:
            self.selectionModel().blockSignals(True)
            self.selectRow(row)
            self.selectionModel().blockSignals(False)
            self.viewport().update()
            self.selectionCountChanged.emit(1)
            return
        # A reset drops the current index without a currentRowChanged: say so once.
        if self._current_id is not None:
            self._current_id = None
            self.currentFileChanged.emit(None)
        self.selectionCountChanged.emit(0)
