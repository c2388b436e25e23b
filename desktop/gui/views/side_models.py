"""Small item models: the library sidebar (roots and folders) and the queue table."""

from __future__ import annotations

import logging
import os
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel

from desktop.library import FolderCount, JobRow, RootInfo

log = logging.getLogger(__name__)

__all__ = ["FOLDER_ROLE", "ROOT_ROLE", "FolderTreeModel", "QueueModel"]

ROOT_ROLE = int(Qt.ItemDataRole.UserRole) + 10
FOLDER_ROLE = int(Qt.ItemDataRole.UserRole) + 11

Index = QModelIndex | QPersistentModelIndex


class FolderTreeModel(QStandardItemModel):
    """ "All sounds", then each root with its folder tree; column 1 holds file counts.

    Items carry ``ROOT_ROLE`` (root id) and ``FOLDER_ROLE`` (absolute folder, ``None`` for a
    root or for "All sounds") so selecting one maps directly to a :class:`FileQuery`.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setHorizontalHeaderLabels(["Library", "Files"])

    def populate(self, roots: list[RootInfo], folders: dict[int, list[FolderCount]]) -> None:
        """Rebuild from the library's roots and per-root folder counts."""
        self.removeRows(0, self.rowCount())
        total = sum(r.files for r in roots)
        captioned = sum(r.captioned for r in roots)
        self.appendRow(_row("All sounds", total, captioned, None, None))
        for root in roots:
            top = _row(
                os.path.basename(root.path.rstrip(os.sep)) or root.path,
                root.files,
                root.captioned,
                root.id,
                None,
            )
            top[0].setToolTip(root.path)
            self.appendRow(top)
            _add_folders(top[0], root, folders.get(root.id, []))


def _row(
    name: str, files: int, captioned: int, root_id: int | None, folder: str | None
) -> list[QStandardItem]:
    label = QStandardItem(name)
    count = QStandardItem(f"{files:,}")
    count.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    count.setToolTip(f"{captioned:,} of {files:,} captioned")
    count.setForeground(QColor("#8b949e"))
    for item in (label, count):
        item.setEditable(False)
        item.setData(root_id, ROOT_ROLE)
        item.setData(folder, FOLDER_ROLE)
    return [label, count]


def _add_folders(top: QStandardItem, root: RootInfo, folders: list[FolderCount]) -> None:
    """Nest folders by path under the root item, with counts that include subfolders."""
    base = root.path.rstrip(os.sep)
    totals: dict[str, list[int]] = {}
    for f in folders:
        rel = os.path.relpath(f.folder, base)
        if rel == "." or rel.startswith(".."):
            continue
        parts = rel.split(os.sep)
        for depth in range(1, len(parts) + 1):
            key = os.sep.join(parts[:depth])
            entry = totals.setdefault(key, [0, 0])
            entry[0] += f.files
            entry[1] += f.captioned
    items: dict[str, QStandardItem] = {}
    for key in sorted(totals, key=lambda k: k.lower()):
        parent_key, _, name = key.rpartition(os.sep)
        parent = items.get(parent_key, top) if parent_key else top
        files, captioned = totals[key]
        row = _row(name, files, captioned, root.id, os.path.join(base, key))
        parent.appendRow(row)
        items[key] = row[0]


_STATE_COLOURS = {
    "running": "#f2a541",
    "queued": "#8b949e",
    "done": "#57ab5a",
    "failed": "#e5534b",
    "cancelled": "#6e7681",
}
_QUEUE_HEADERS = ("State", "File", "Reason")


class QueueModel(QAbstractTableModel):
    """Jobs: running first, then queued (oldest first), failed, and recently done."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[JobRow] = []

    def set_jobs(self, jobs: list[JobRow]) -> None:
        """Replace the rows (nothing happens when they are the same)."""
        if jobs == self._jobs:
            return
        self.beginResetModel()
        self._jobs = list(jobs)
        self.endResetModel()

    def job_at(self, row: int) -> JobRow | None:
        """The job at ``row``."""
        return self._jobs[row] if 0 <= row < len(self._jobs) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._jobs)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(_QUEUE_HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(_QUEUE_HEADERS)
        ):
            return _QUEUE_HEADERS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        job = self.job_at(index.row())
        if job is None:
            return None
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if column == 0:
                return job.state.capitalize()
            if column == 1:
                return (
                    os.path.basename(job.path) if role == Qt.ItemDataRole.DisplayRole else job.path
                )
            if column == 2:
                return _reason(job)
        if role == Qt.ItemDataRole.ForegroundRole and column == 0:
            return QColor(_STATE_COLOURS.get(job.state, "#8b949e"))
        return None


def _reason(job: JobRow) -> str:
    """The failure message without a leading ``"<file name>: "`` (the File column has it)."""
    message = job.error or ""
    prefix = f"{os.path.basename(job.path)}: "
    return message[len(prefix) :] if message.startswith(prefix) else message
