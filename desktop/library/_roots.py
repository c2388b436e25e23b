"""Roots and folders: the part of ``Library`` that knows which folders it mirrors.

A root is either a ``folder`` (scanned with everything under it) or ``files``: the folder of
files that were added one by one (dropped), whose other contents are not adopted.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from desktop.library._base import LibraryBase, now
from desktop.library._paths import inside, normpath, prefix_range
from desktop.library._scan import ScanMixin
from desktop.library.errors import UnknownRootError
from desktop.library.scanning import is_audio_name
from desktop.library.types import FolderCount, RootInfo, RootKind, ScanReport

__all__ = ["RootsMixin"]

log = logging.getLogger(__name__)


class RootsMixin(ScanMixin, LibraryBase):
    """Roots, the folder tree, and adding dropped paths."""

    def add_root(self, path: str | Path) -> int:
        """Register a folder (idempotent) and return its root id; does not scan it.

        A folder inside an existing folder root returns that root. A folder that contains
        existing roots absorbs them (their files, with captions, move under the new root);
        so does a folder of files added one by one, which becomes a whole-folder root.

        Raises:
            NotADirectoryError: ``path`` is not an existing folder.
        """
        folder = normpath(path)
        if not os.path.isdir(folder):
            raise NotADirectoryError(f"not a folder: {folder}")
        existing = self._conn.execute("SELECT id, path, kind FROM roots").fetchall()
        for root_id, root_path, kind in existing:
            if kind == "folder" and inside(folder, root_path):
                return int(root_id)
        with self._txn() as conn:
            same = [r for r in existing if r[1] == folder]  # a files root becomes a folder one
            if same:
                new_id = int(same[0][0])
                conn.execute("UPDATE roots SET kind = 'folder' WHERE id = ?", (new_id,))
            else:
                cur = conn.execute(
                    "INSERT INTO roots(path, added_at, kind) VALUES (?, ?, 'folder')",
                    (folder, now()),
                )
                new_id = int(cur.lastrowid or 0)
            for root_id, root_path, kind in existing:
                if root_id == new_id:
                    continue
                if inside(root_path, folder):
                    log.info("root %s absorbs %s", folder, root_path)
                    self._move_files_to_root(new_id, folder, "root_id = ?", (root_id,))
                    conn.execute("DELETE FROM roots WHERE id = ?", (root_id,))
                elif kind == "files" and inside(folder, root_path):
                    # Loose files that now lie inside the new folder belong to it.
                    lo, hi = prefix_range(folder)
                    self._move_files_to_root(
                        new_id,
                        folder,
                        "root_id = ? AND (folder = ? OR (folder >= ? AND folder < ?))",
                        (root_id, folder, lo, hi),
                    )
        return new_id

    def _move_files_to_root(
        self, root_id: int, folder: str, where: str, params: tuple[object, ...]
    ) -> None:
        self._conn.execute(
            "UPDATE files SET root_id = ?, relfolder = CASE WHEN folder = ? "
            f"THEN '' ELSE substr(folder, ?) END WHERE {where}",
            (root_id, folder, len(folder.rstrip(os.sep)) + 2, *params),
        )

    def _files_root(self, folder: str) -> int:
        """The ``files`` root for loose files in ``folder`` (created if needed)."""
        row = self._conn.execute("SELECT id FROM roots WHERE path = ?", (folder,)).fetchone()
        if row is not None:
            return int(row[0])
        with self._txn() as conn:
            cur = conn.execute(
                "INSERT INTO roots(path, added_at, kind) VALUES (?, ?, 'files')", (folder, now())
            )
            return int(cur.lastrowid or 0)

    def roots(self) -> list[RootInfo]:
        """All roots with their file, captioned, missing and error counts."""
        counts = {
            row[0]: row[1:]
            for row in self._conn.execute(
                "SELECT root_id, sum(status != 'missing'), "
                "sum(status != 'missing' AND caption_id IS NOT NULL), "
                "sum(status = 'missing'), sum(status = 'error') FROM files GROUP BY root_id"
            )
        }
        out = []
        for root_id, path, last_scan, kind in self._conn.execute(
            "SELECT id, path, last_scan_at, kind FROM roots ORDER BY path"
        ):
            files, captioned, missing, errors = counts.get(root_id, (0, 0, 0, 0))
            out.append(
                RootInfo(
                    id=root_id,
                    path=path,
                    files=int(files or 0),
                    captioned=int(captioned or 0),
                    missing=int(missing or 0),
                    errors=int(errors or 0),
                    last_scan_at=last_scan,
                    kind=kind,
                )
            )
        return out

    def remove_root(self, root_id: int) -> None:
        """Forget a root and everything under it (files, captions, embeddings, jobs).

        Front ends must ask first: captions people wrote go with it.
        """
        with self._txn() as conn:
            # Cascades through files to captions, keywords, embeddings and jobs.
            conn.execute("DELETE FROM files WHERE root_id = ?", (root_id,))
            conn.execute("DELETE FROM roots WHERE id = ?", (root_id,))

    def folders(self, root_id: int) -> list[FolderCount]:
        """Folders under a root that hold files, sorted by path, with direct file counts."""
        return [
            FolderCount(folder=row[0], files=int(row[1]), captioned=int(row[2]))
            for row in self._conn.execute(
                "SELECT folder, count(*), count(caption_id) FROM files "
                "WHERE root_id = ? AND status != 'missing' GROUP BY folder ORDER BY folder",
                (root_id,),
            )
        ]

    def add_paths(self, paths: Iterable[str | Path]) -> list[int]:
        """Add dropped files or folders, scan just them, and return their file ids.

        A folder becomes a root (unless it is inside one). A file inside a folder root is
        scanned there; any other file is added alone, under a ``files`` root for its folder,
        so nothing else in that folder is adopted (a drop from Downloads adds one sound, not
        Downloads). Paths that are not audio files or folders are ignored (logged).
        """
        ids: list[int] = []
        report = ScanReport()
        for raw in paths:
            path = normpath(raw)
            if os.path.isdir(path):
                root_id = self.add_root(path)
                root_path, kind = self._root(root_id)
                self._scan_scope(root_id, root_path, kind, path, report, None, None)
                lo, hi = prefix_range(path)
                ids.extend(
                    row[0]
                    for row in self._conn.execute(
                        "SELECT id FROM files WHERE (folder = ? OR (folder >= ? AND folder < ?)) "
                        "AND status != 'missing' ORDER BY folder, name",
                        (path, lo, hi),
                    )
                )
            elif is_audio_name(os.path.basename(path)) and os.path.lexists(path):
                root_id = self._root_for_file(path)
                root_path, kind = self._root(root_id)
                self._scan_scope(root_id, root_path, kind, path, report, None, None)
                file_id = self._conn.execute(
                    "SELECT id FROM files WHERE path = ?", (path,)
                ).fetchone()
                if file_id:
                    ids.append(int(file_id[0]))
            else:
                log.info("add_paths: ignoring %s (not a folder or audio file)", path)
        return list(dict.fromkeys(ids))  # drop duplicates (overlapping drops), keep order

    def _root_for_file(self, path: str) -> int:
        """The folder root that holds ``path``, else the ``files`` root of its folder."""
        for root_id, root_path in self._conn.execute(
            "SELECT id, path FROM roots WHERE kind = 'folder'"
        ):
            if inside(path, root_path):
                return int(root_id)
        return self._files_root(os.path.dirname(path))

    def _root(self, root_id: int) -> tuple[str, RootKind]:
        row = self._conn.execute("SELECT path, kind FROM roots WHERE id = ?", (root_id,)).fetchone()
        if row is None:
            raise UnknownRootError(f"no library folder with id {root_id}")
        return str(row[0]), row[1]
