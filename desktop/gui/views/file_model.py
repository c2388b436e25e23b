"""The file table's model: a lazily fetched, block-cached view of the library database.

Only the row count is known up front; rows are read in blocks of :data:`BLOCK_ROWS` when the
view first asks for them and kept in a small LRU, so a million-row library costs a handful of
small queries while scrolling. Sorting and filtering build a new :class:`FileQuery` and reset.
A model can also show a fixed list of rows (``find similar``).
"""

from __future__ import annotations

import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QMimeData,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QColor, QFont

from desktop.gui.block_fetcher import BlockFetcher
from desktop.gui.views.columns import COLUMNS, column_index
from desktop.library import FileQuery, FileRow, Library, natural_name_key

log = logging.getLogger(__name__)

__all__ = ["BLOCK_ROWS", "FILE_ID_ROLE", "FILE_ROW_ROLE", "FileTableModel"]

BLOCK_ROWS = 256
_MAX_BLOCKS = 64

Index = QModelIndex | QPersistentModelIndex

FILE_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1
FILE_ROW_ROLE = int(Qt.ItemDataRole.UserRole) + 2

_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_ROLES = frozenset(
    {_DISPLAY, _TOOLTIP, _ALIGNMENT, _FOREGROUND, _FONT, FILE_ID_ROLE, FILE_ROW_ROLE}
)
_NUMERIC_COLUMNS = frozenset(i for i, c in enumerate(COLUMNS) if c.numeric)
_DIM_COLUMNS = frozenset(i for i, c in enumerate(COLUMNS) if c.dim)
_CAPTION = column_index("caption")
_KEYWORDS = column_index("keywords")
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ROW_FLAGS = (
    Qt.ItemFlag.ItemIsEnabled
    | Qt.ItemFlag.ItemIsSelectable
    | Qt.ItemFlag.ItemIsDragEnabled
    | Qt.ItemFlag.ItemNeverHasChildren
)
_ERROR_COLOUR = QColor("#e5534b")
_MUTED_COLOUR = QColor("#6e7681")
_DIM_COLOUR = QColor("#8b949e")
_MISSING_FONT = QFont()
_MISSING_FONT.setItalic(True)


class FileTableModel(QAbstractTableModel):
    """Table of files over a GUI-thread :class:`Library` connection.

    Signals:
        queryFailed(message): a query could not run (bad advanced syntax, no embedder); the
            table shows nothing until the next query.

    Args:
        library: The GUI thread's library connection.
        parent: Qt parent.
        background_db: When given, blocks far from the loaded ones are read on a
            :class:`BlockFetcher` thread with its own connection to this database.
    """

    queryFailed = Signal(str)

    def __init__(
        self,
        library: Library,
        parent: QObject | None = None,
        background_db: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._query = FileQuery()
        self._fixed: list[FileRow] | None = None
        self._count = 0
        self._blocks: OrderedDict[int, list[FileRow]] = OrderedDict()
        self._error: str | None = None
        self._generation = 0
        self._requested: set[int] = set()
        self._fetcher: BlockFetcher | None = None
        if background_db is not None:
            self._fetcher = BlockFetcher(background_db, BLOCK_ROWS)
            self._fetcher.fetched.connect(self._on_fetched)
        self._count = self._safe_count()

    def shutdown(self) -> None:
        """Stop the background reader, if any (call before closing the library)."""
        if self._fetcher is not None:
            self._fetcher.stop()
            self._fetcher = None

    # -- what is shown -----------------------------------------------------------------------

    @property
    def query(self) -> FileQuery:
        """The query on show (ignored while a fixed list is shown)."""
        return self._query

    @property
    def last_error(self) -> str | None:
        """Why the last query failed (bad advanced syntax, no embedder), or ``None``."""
        return self._error

    def is_fixed_list(self) -> bool:
        """True while showing a fixed list (``find similar``) instead of a query."""
        return self._fixed is not None

    def set_query(self, query: FileQuery) -> None:
        """Show the files matching ``query``."""
        self.beginResetModel()
        self._new_generation()
        self._query = query
        self._fixed = None
        self._blocks.clear()
        self._count = self._safe_count()
        self.endResetModel()
        if self._error:
            self.queryFailed.emit(self._error)

    def show_rows(self, rows: Sequence[FileRow]) -> None:
        """Show exactly these rows (e.g. similar sounds) until the next :meth:`set_query`."""
        self.beginResetModel()
        self._new_generation()
        self._fixed = list(rows)
        self._blocks.clear()
        self._count = len(self._fixed)
        self._error = None
        self.endResetModel()

    def refresh(self) -> None:
        """Re-read everything (after scans or captions changed many rows)."""
        if self._fixed is not None:
            ids = [r.id for r in self._fixed]
            rows = [self._library.get_file(i) for i in ids]
            self.show_rows([r for r in rows if r is not None])
        else:
            self.set_query(self._query)

    def refresh_file(self, file_id: int) -> None:
        """Re-read one file's row if it is loaded, without a reset (keeps the selection)."""
        self.refresh_files([file_id])

    def refresh_files(self, file_ids: Sequence[int]) -> None:
        """Re-read these files' rows where they are loaded, without a reset."""
        wanted = set(file_ids)
        for start, rows in self._loaded_blocks():
            for offset, row in enumerate(rows):
                if row.id not in wanted:
                    continue
                fresh = self._library.get_file(row.id)
                if fresh is None:
                    continue  # removed: the next refresh() drops the row
                rows[offset] = replace(fresh, score=row.score)
                r = start + offset
                self.dataChanged.emit(self.index(r, 0), self.index(r, len(COLUMNS) - 1))

    def row_at(self, row: int, wait: bool = True) -> FileRow | None:
        """The file shown at ``row``, fetching its block if needed.

        With ``wait=False`` a block far from the loaded ones is requested in the background
        and ``None`` is returned; the rows fill in with ``dataChanged`` when it arrives.
        """
        if row < 0 or row >= self._count:
            return None
        if self._fixed is not None:
            return self._fixed[row]
        block = row // BLOCK_ROWS
        rows = self._blocks.get(block)
        if rows is None:
            if not wait and self._can_defer(block):
                if block not in self._requested and self._fetcher is not None:
                    self._requested.add(block)
                    self._fetcher.request(self._generation, self._query, block)
                return None
            rows = self._fetch_block(block)
        else:
            self._blocks.move_to_end(block)
        offset = row - block * BLOCK_ROWS
        return rows[offset] if offset < len(rows) else None

    def row_of_file(self, file_id: int) -> int | None:
        """The row of a file among loaded rows, or ``None``."""
        for start, rows in self._loaded_blocks():
            for offset, row in enumerate(rows):
                if row.id == file_id:
                    return start + offset
        return None

    def find_row(self, file_id: int, max_rows: int = 4 * 256) -> int | None:
        """The row of a file, reading at most the first ``max_rows`` rows to find it."""
        found = self.row_of_file(file_id)
        if found is not None:
            return found
        for row in range(0, min(self._count, max_rows), BLOCK_ROWS):
            self.row_at(row)  # loads that block
            found = self.row_of_file(file_id)
            if found is not None:
                return found
        return None

    def file_ids(self) -> list[int]:
        """Ids of every row on show, in order (reads the whole result; used for export)."""
        return [r.id for r in (self.row_at(i) for i in range(self._count)) if r is not None]

    # -- Qt model API --------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section].title
            if role == Qt.ItemDataRole.TextAlignmentRole and section in _NUMERIC_COLUMNS:
                return _RIGHT
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        return _ROW_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called thousands of times per scroll: answer unknown roles before any lookup, and
        # reuse prebuilt colours and strings.
        if role not in _ROLES or not index.isValid():
            return None
        row = self.row_at(index.row(), wait=False)
        if row is None:
            return "…" if role == _DISPLAY and index.column() == 0 else None
        column = index.column()
        if role == _DISPLAY:
            return COLUMNS[column].display(row)
        if role == _FOREGROUND:
            if row.status == "error":
                return _ERROR_COLOUR
            if row.status == "missing" or (column == _CAPTION and not row.caption):
                return _MUTED_COLOUR
            return _DIM_COLOUR if column in _DIM_COLUMNS else None
        if role == _FONT:
            return _MISSING_FONT if row.status == "missing" else None
        if role == _ALIGNMENT:
            return _RIGHT if column in _NUMERIC_COLUMNS else None
        if role == _TOOLTIP:
            if row.status == "missing":
                return f"Missing from disk: {row.path}"
            if row.status == "error":
                return f"Unreadable: {row.error}"
            if column in (_CAPTION, _KEYWORDS) and row.caption:
                return f"{row.caption}\n\nKeywords: {', '.join(row.keywords)}"
            return row.path
        if role == FILE_ID_ROLE:
            return row.id
        return row  # FILE_ROW_ROLE

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        key = COLUMNS[column].sort
        descending = order == Qt.SortOrder.DescendingOrder
        if self._fixed is not None:
            if key is None:
                return
            self.beginResetModel()
            self._fixed.sort(key=lambda r: _sort_value(r, key), reverse=descending)
            self.endResetModel()
            return
        if key is None or (key == self._query.sort and descending == self._query.descending):
            return
        self.set_query(replace(self._query, sort=key, descending=descending))  # type: ignore[arg-type]

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list", "text/plain"]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        """File URLs of the dragged rows, so a DAW or file manager receives the files."""
        mime = QMimeData()
        seen: set[int] = set()
        paths: list[str] = []
        for index in indexes:
            if index.row() in seen:
                continue
            seen.add(index.row())
            row = self.row_at(index.row())
            if row is not None:
                paths.append(row.path)
        mime.setUrls([QUrl.fromLocalFile(p) for p in paths])
        mime.setText("\n".join(paths))
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    # -- internals -----------------------------------------------------------------------------

    def _safe_count(self) -> int:
        try:
            self._error = None
            return self._library.count_files(self._query)
        except ValueError as exc:  # bad advanced syntax, semantic search without an embedder
            self._error = str(exc)
            return 0
        except sqlite3.Error as exc:  # a damaged or vanished database: say so, show nothing
            log.warning("count failed: %s", exc)
            self._error = f"The library could not be read: {exc}"
            return 0

    def _fetch_block(self, block: int) -> list[FileRow]:
        try:
            rows = self._library.list_files(self._query, block * BLOCK_ROWS, BLOCK_ROWS)
        except (ValueError, sqlite3.Error) as exc:
            self._error = str(exc)
            rows = []
        self._blocks[block] = rows
        while len(self._blocks) > _MAX_BLOCKS:
            self._blocks.popitem(last=False)
        return rows

    def _new_generation(self) -> None:
        self._generation += 1
        self._requested.clear()
        if self._fetcher is not None:
            self._fetcher.set_generation(self._generation)

    def _can_defer(self, block: int) -> bool:
        # Neighbours of loaded blocks are cheap keyset reads; semantic queries need the GUI's
        # text embedder, which the background connection does not have.
        return (
            self._fetcher is not None
            and block > 0
            and self._query.mode in ("text", "advanced")
            and (block - 1) not in self._blocks
            and (block + 1) not in self._blocks
        )

    def _on_fetched(self, generation: int, block: int, rows: object) -> None:
        if generation != self._generation:
            return
        self._requested.discard(block)
        if not isinstance(rows, list):
            rows = self._fetch_block(block)  # background read failed: read it here
        else:
            self._blocks[block] = rows
            while len(self._blocks) > _MAX_BLOCKS:
                self._blocks.popitem(last=False)
        first = block * BLOCK_ROWS
        last = min(first + BLOCK_ROWS, self._count) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    def _loaded_blocks(self) -> list[tuple[int, list[FileRow]]]:
        if self._fixed is not None:
            return [(0, self._fixed)]
        return [(b * BLOCK_ROWS, rows) for b, rows in self._blocks.items()]


def _sort_value(row: FileRow, key: str) -> tuple[int, Any]:
    if key == "name":
        return (0, natural_name_key(row.name))
    value = getattr(row, key, None)
    # Unknown values sort last in either order of the natural ones.
    return (1, "") if value is None else (0, value)
