"""Roots, folders and scanning: the part of ``Library`` that mirrors the disk."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from desktop.library._base import LibraryBase, now
from desktop.library.scanning import FileInfo, error_info, is_audio_name, probe, walk_audio
from desktop.library.types import FolderCount, RootInfo, ScanProgress, ScanReport

__all__ = ["RootsMixin"]

log = logging.getLogger(__name__)

#: Files written per transaction during a scan: big enough to be fast, small enough that a
#: cancel or crash loses little and other writers wait briefly.
_BATCH = 500

_INFO_COLUMNS = (
    "size, mtime, fingerprint, duration_s, sample_rate, channels, bit_depth, format, subtype, "
    "status, error, scanned_at"
)


def _normpath(path: str | Path) -> str:
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _info_values(info: FileInfo, scanned_at: float) -> tuple[Any, ...]:
    return (
        info.size,
        info.mtime,
        info.fingerprint,
        info.duration_s,
        info.sample_rate,
        info.channels,
        info.bit_depth,
        info.format,
        info.subtype,
        "error" if info.error else "ok",
        info.error,
        scanned_at,
    )


def _prefix_range(folder: str) -> tuple[str, str]:
    """Bounds such that ``lo <= path < hi`` selects everything strictly under ``folder``."""
    base = folder.rstrip(os.sep) + os.sep
    return base, base[:-1] + chr(ord(os.sep) + 1)


class RootsMixin(LibraryBase):
    """Roots, folder tree and incremental scanning."""

    # -- roots -------------------------------------------------------------------------------

    def add_root(self, path: str | Path) -> int:
        """Register a folder (idempotent) and return its root id; does not scan it.

        A folder inside an existing root returns that root. A folder that contains existing
        roots absorbs them (their files, with captions, move under the new root).

        Raises:
            NotADirectoryError: ``path`` is not an existing folder.
        """
        folder = _normpath(path)
        if not os.path.isdir(folder):
            raise NotADirectoryError(f"not a folder: {folder}")
        existing = self._conn.execute("SELECT id, path FROM roots").fetchall()
        for root_id, root_path in existing:
            if _inside(folder, root_path):
                return int(root_id)
        with self._txn() as conn:
            cur = conn.execute("INSERT INTO roots(path, added_at) VALUES (?, ?)", (folder, now()))
            new_id = int(cur.lastrowid or 0)
            for root_id, root_path in existing:
                if _inside(root_path, folder):
                    log.info("root %s absorbs %s", folder, root_path)
                    conn.execute(
                        "UPDATE files SET root_id = ?, relfolder = CASE WHEN folder = ? "
                        "THEN '' ELSE substr(folder, ?) END WHERE root_id = ?",
                        (new_id, folder, len(folder.rstrip(os.sep)) + 2, root_id),
                    )
                    conn.execute("DELETE FROM roots WHERE id = ?", (root_id,))
        return new_id

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
        for root_id, path, last_scan in self._conn.execute(
            "SELECT id, path, last_scan_at FROM roots ORDER BY path"
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
                )
            )
        return out

    def remove_root(self, root_id: int) -> None:
        """Forget a root and everything under it (files, captions, embeddings, jobs)."""
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

    # -- scanning ----------------------------------------------------------------------------

    def scan(
        self,
        root_ids: Sequence[int] | None = None,
        *,
        progress: Callable[[ScanProgress], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> ScanReport:
        """Scan roots (all by default) for audio files, incrementally.

        Unchanged files (same size and mtime) are skipped; moved files keep their captions;
        vanished files are marked missing; unreadable files are recorded with their error.
        Work is committed in batches, so cancelling keeps what was scanned.

        Args:
            root_ids: Roots to scan; ``None`` scans every root.
            progress: Called after each file with a :class:`ScanProgress`.
            cancel: Polled between files; returning ``True`` stops the scan.
        """
        started = time.perf_counter()
        report = ScanReport()
        rows = self._conn.execute("SELECT id, path FROM roots ORDER BY path").fetchall()
        wanted = None if root_ids is None else set(root_ids)
        for root_id, root_path in rows:
            if wanted is not None and root_id not in wanted:
                continue
            self._scan_scope(root_id, root_path, root_path, report, progress, cancel)
            if report.cancelled:
                break
        report.seconds = time.perf_counter() - started
        log.info("scan: %s", report)
        return report

    def add_paths(self, paths: Iterable[str | Path]) -> list[int]:
        """Add dropped files or folders: register roots as needed, scan them, return file ids.

        A folder becomes a root (unless it is inside one); a file's parent folder becomes a
        root unless the file is inside an existing root. Only the dropped paths are scanned.
        Paths that are not audio files or folders are ignored (logged).
        """
        ids: list[int] = []
        report = ScanReport()
        for raw in paths:
            path = _normpath(raw)
            if os.path.isdir(path):
                root_id = self.add_root(path)
                root_path = self._root_path(root_id)
                self._scan_scope(root_id, root_path, path, report, None, None)
                lo, hi = _prefix_range(path)
                ids.extend(
                    row[0]
                    for row in self._conn.execute(
                        "SELECT id FROM files WHERE (folder = ? OR (folder >= ? AND folder < ?)) "
                        "AND status != 'missing' ORDER BY folder, name",
                        (path, lo, hi),
                    )
                )
            elif is_audio_name(os.path.basename(path)) and os.path.lexists(path):
                root_id = self.add_root(os.path.dirname(path))
                root_path = self._root_path(root_id)
                self._scan_scope(root_id, root_path, path, report, None, None)
                file_id = self._conn.execute(
                    "SELECT id FROM files WHERE path = ?", (path,)
                ).fetchone()
                if file_id:
                    ids.append(int(file_id[0]))
            else:
                log.info("add_paths: ignoring %s (not a folder or audio file)", path)
        return list(dict.fromkeys(ids))  # drop duplicates (overlapping drops), keep order

    def _root_path(self, root_id: int) -> str:
        row = self._conn.execute("SELECT path FROM roots WHERE id = ?", (root_id,)).fetchone()
        if row is None:
            raise KeyError(f"no root with id {root_id}")
        return str(row[0])

    def _scan_scope(
        self,
        root_id: int,
        root_path: str,
        scope: str,
        report: ScanReport,
        progress: Callable[[ScanProgress], None] | None,
        cancel: Callable[[], bool] | None,
    ) -> None:
        """Scan ``scope`` (the root, a folder in it, or one file in it)."""
        conn = self._conn
        is_file = not os.path.isdir(scope)
        if is_file:
            known_sql = "SELECT path, id, size, mtime, status FROM files WHERE path = ?"
            known_args: tuple[Any, ...] = (scope,)
        elif scope == root_path:
            known_sql = "SELECT path, id, size, mtime, status FROM files WHERE root_id = ?"
            known_args = (root_id,)
        else:
            lo, hi = _prefix_range(scope)
            known_sql = (
                "SELECT path, id, size, mtime, status FROM files "
                "WHERE root_id = ? AND (folder = ? OR (folder >= ? AND folder < ?))"
            )
            known_args = (root_id, scope, lo, hi)
        known = {row[0]: row[1:] for row in conn.execute(known_sql, known_args)}
        max_id_before = int(conn.execute("SELECT coalesce(max(id), 0) FROM files").fetchone()[0])
        scan_started = now()
        seen_paths: set[str] = set()
        items: Iterator[tuple[str, os.stat_result | OSError]]
        if is_file:
            items = iter([(scope, _stat_or_error(scope))])
        else:
            items = walk_audio(scope, report.problems.append)
        pending = 0
        conn.execute("BEGIN IMMEDIATE")
        try:
            for path, st in items:
                if cancel is not None and cancel():
                    report.cancelled = True
                    break
                report.seen += 1
                seen_paths.add(path)
                old = known.get(path)
                if isinstance(st, OSError):
                    info = error_info(st)
                elif (
                    old is not None
                    and old[3] == "ok"
                    and old[1] == st.st_size
                    and old[2] == st.st_mtime
                ):
                    report.unchanged += 1
                    if progress is not None:
                        progress(ScanProgress(root_path, report.seen, path))
                    continue
                else:
                    info = probe(path, st)
                if info.error:
                    report.errors += 1
                values = _info_values(info, now())
                if old is not None:
                    report.updated += 1
                    conn.execute(
                        "UPDATE files SET size=?, mtime=?, fingerprint=?, duration_s=?, "
                        "sample_rate=?, channels=?, bit_depth=?, format=?, subtype=?, status=?, "
                        "error=?, scanned_at=? WHERE id = ?",
                        (*values, old[0]),
                    )
                else:
                    report.added += 1
                    folder, name = os.path.split(path)
                    rel = os.path.relpath(folder, root_path)
                    conn.execute(
                        "INSERT INTO files(root_id, path, folder, relfolder, name, ext, "
                        f"{_INFO_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (
                            root_id,
                            path,
                            folder,
                            "" if rel == "." else rel,
                            name,
                            name.rpartition(".")[2].lower(),
                            *values,
                        ),
                    )
                pending += 1
                if pending >= _BATCH:
                    conn.execute("COMMIT")
                    conn.execute("BEGIN IMMEDIATE")
                    pending = 0
                if progress is not None:
                    progress(ScanProgress(root_path, report.seen, path))
            if not report.cancelled:
                vanished = [(row[0], path) for path, row in known.items() if path not in seen_paths]
                self._settle_vanished(vanished, max_id_before, report)
                if scope == root_path:
                    conn.execute(
                        "UPDATE roots SET last_scan_at = ? WHERE id = ?", (scan_started, root_id)
                    )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _settle_vanished(
        self, vanished: list[tuple[int, str]], max_id_before: int, report: ScanReport
    ) -> None:
        """Match files new in this scan to vanished ones by fingerprint; mark the rest missing.

        A match keeps the old row (and so its captions, embeddings and jobs) and moves it to
        the new path; the row the scan just inserted for that path is dropped.
        """
        conn = self._conn
        gone_ids = [file_id for file_id, _ in vanished]
        # Files that went missing in earlier scans may turn up now, under another root.
        gone_ids += [
            row[0]
            for row in conn.execute(
                "SELECT id FROM files WHERE status = 'missing' AND fingerprint IS NOT NULL"
            )
        ]
        if not gone_ids:
            return
        fingerprints: dict[str, list[int]] = {}
        for chunk in _chunks(sorted(set(gone_ids)), 500):
            marks = ",".join("?" * len(chunk))
            for file_id, fp in conn.execute(
                f"SELECT id, fingerprint FROM files WHERE id IN ({marks}) "
                "AND fingerprint IS NOT NULL",
                chunk,
            ):
                fingerprints.setdefault(fp, []).append(file_id)
        moved: set[int] = set()
        if fingerprints:
            new_rows = conn.execute(
                "SELECT id, fingerprint FROM files WHERE id > ? AND fingerprint IS NOT NULL",
                (max_id_before,),
            ).fetchall()
            for new_id, fp in new_rows:
                candidates = fingerprints.get(fp)
                if not candidates:
                    continue
                old_id = candidates.pop(0)
                self._move_row(new_id, old_id)
                moved.add(old_id)
                report.moved += 1
                report.added -= 1
        for file_id, _path in vanished:
            if file_id in moved:
                continue
            cur = conn.execute(
                "UPDATE files SET status = 'missing', scanned_at = ? "
                "WHERE id = ? AND status != 'missing'",
                (now(), file_id),
            )
            report.missing += cur.rowcount

    def _move_row(self, new_id: int, old_id: int) -> None:
        """Give the old row (with its captions) the new row's path and metadata."""
        conn = self._conn
        row = conn.execute(
            f"SELECT root_id, path, folder, relfolder, name, ext, {_INFO_COLUMNS} "
            "FROM files WHERE id = ?",
            (new_id,),
        ).fetchone()
        conn.execute("DELETE FROM files WHERE id = ?", (new_id,))
        conn.execute(
            "UPDATE files SET root_id=?, path=?, folder=?, relfolder=?, name=?, ext=?, size=?, "
            "mtime=?, fingerprint=?, duration_s=?, sample_rate=?, channels=?, bit_depth=?, "
            "format=?, subtype=?, status=?, error=?, scanned_at=? WHERE id = ?",
            (*row, old_id),
        )
        log.info("moved: file %d is now %s", old_id, row[1])


def _stat_or_error(path: str) -> os.stat_result | OSError:
    try:
        return os.stat(path)
    except OSError as exc:
        return exc


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
