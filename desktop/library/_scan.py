"""Scanning roots into the database: the part of ``Library`` that mirrors the disk.

A scan walks a root (or one folder or file of it). Each audio file is skipped when its size
and mtime are those of the last scan, else its header is read, or the reason it cannot be is
recorded. Files are read with no transaction open and their rows written in short
transactions, so a slow disk never holds the library's write lock for long, and a cancelled or
killed scan keeps what it wrote.

**Moves keep captions.** A sound is recognised by its audio fingerprint
(:func:`~desktop.library.metadata.payload_fingerprint`: decoded audio, not bytes or path), so a
file that was retagged and moved is still itself, and two different sounds never are:

- a new path whose audio matches a row marked missing takes that row over;
- when a scan completes, each row whose path vanished is merged into a row with the same
  audio that appeared since the vanished one was last seen, anywhere in the library: the file
  was moved into a root scanned earlier, or the scan that found its new path was killed before
  it could see the old one go. Merging keeps every caption of both rows (a caption someone
  wrote stays current). A copy that was already there when the vanished file was last seen
  is a duplicate, not a move: the vanished row is then marked missing;
- rows from before audio fingerprints (schema 4) fall back to the byte fingerprint *and* the
  same file name.

Rows that vanished with no match are marked missing, never dropped.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from desktop.library._base import LibraryBase, now
from desktop.library._paths import prefix_range
from desktop.library.scanning import FileInfo, error_info, probe, walk_audio
from desktop.library.types import RootKind, ScanProgress, ScanReport

__all__ = ["ScanMixin"]

log = logging.getLogger(__name__)

#: Files written per transaction, and the longest a batch waits for more files: a scan then
#: holds the write lock for milliseconds at a time, whatever the disk's speed.
_BATCH = 200
_BATCH_SECONDS = 0.5
#: Vanished rows settled per transaction.
_SETTLE_BATCH = 200

_INFO_COLUMNS = (
    "size, mtime, fingerprint, audio_fp, duration_s, sample_rate, channels, bit_depth, "
    "format, subtype, status, error, scanned_at"
)
_INFO_SET = ", ".join(f"{c.strip()}=?" for c in _INFO_COLUMNS.split(","))
_PLACE_COLUMNS = "root_id, path, folder, relfolder, name, ext"
_PLACE_SET = ", ".join(f"{c.strip()}=?" for c in _PLACE_COLUMNS.split(","))


@dataclass(frozen=True)
class _Known:
    id: int
    size: int | None
    mtime: float | None
    status: str
    audio_fp: str | None
    meta_read: int

    @property
    def complete(self) -> bool:
        """Whether the row has everything today's scan records (older rows get it later)."""
        return self.audio_fp is not None and bool(self.meta_read)


@dataclass(frozen=True)
class _Found:
    path: str
    old: _Known | None
    info: FileInfo
    backfill: bool  # unchanged on disk, read only for what an older scan did not record


def _info_values(info: FileInfo, scanned_at: float) -> tuple[Any, ...]:
    return (
        info.size,
        info.mtime,
        info.fingerprint,
        info.audio_fp,
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


def _place_values(root_id: int, root_path: str, path: str) -> tuple[Any, ...]:
    folder, name = os.path.split(path)
    rel = os.path.relpath(folder, root_path)
    return (root_id, path, folder, "" if rel == "." else rel, name, name.rpartition(".")[2].lower())


def _stat_or_error(path: str) -> os.stat_result | OSError:
    try:
        return os.stat(path)
    except OSError as exc:
        return exc


class ScanMixin(LibraryBase):
    """Incremental scanning, move detection and merging."""

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
        Work is committed in small batches, so cancelling keeps what was scanned.

        Args:
            root_ids: Roots to scan; ``None`` scans every root.
            progress: Called after each file with a :class:`ScanProgress`.
            cancel: Polled between files; returning ``True`` stops the scan.
        """
        started = time.perf_counter()
        report = ScanReport()
        rows = self._conn.execute("SELECT id, path, kind FROM roots ORDER BY path").fetchall()
        wanted = None if root_ids is None else set(root_ids)
        inserted: set[int] = set()  # rows this scan added (a move between roots un-adds one)
        for root_id, root_path, kind in rows:
            if wanted is not None and root_id not in wanted:
                continue
            self._scan_scope(
                root_id, root_path, kind, root_path, report, progress, cancel, inserted
            )
            if report.cancelled:
                break
        report.seconds = time.perf_counter() - started
        log.info("scan: %s", report)
        return report

    def _scan_scope(
        self,
        root_id: int,
        root_path: str,
        kind: RootKind,
        scope: str,
        report: ScanReport,
        progress: Callable[[ScanProgress], None] | None,
        cancel: Callable[[], bool] | None,
        inserted: set[int] | None = None,
    ) -> None:
        """Scan ``scope``: the root, a folder in it, or one file in it."""
        inserted = set() if inserted is None else inserted
        is_file = not os.path.isdir(scope)
        known = self._known_files(root_id, root_path, scope, is_file)
        seen: set[str] = set()
        items: Iterator[tuple[str, os.stat_result | OSError]]
        if is_file:
            items = iter([(scope, _stat_or_error(scope))])
        elif kind == "files":  # only the files added one by one, never their neighbours
            items = ((path, _stat_or_error(path)) for path in sorted(known))
        else:

            def skipped(name: str) -> None:
                ext = name.rpartition(".")[2].lower() if "." in name else "(no extension)"
                report.skipped[ext] = report.skipped.get(ext, 0) + 1

            items = walk_audio(scope, report.problems.append, skipped)
        batch: list[_Found] = []
        deadline = time.monotonic() + _BATCH_SECONDS
        for path, st in items:
            if cancel is not None and cancel():
                report.cancelled = True
                break
            report.seen += 1
            seen.add(path)
            old = known.get(path)
            same = (
                old is not None
                and not isinstance(st, OSError)
                and old.status == "ok"
                and old.size == st.st_size
                and old.mtime == st.st_mtime
            )
            if same and old is not None and old.complete:
                report.unchanged += 1
            else:
                info = error_info(st) if isinstance(st, OSError) else probe(path, st)
                batch.append(_Found(path, old, info, backfill=same))
            if batch and (len(batch) >= _BATCH or time.monotonic() >= deadline):
                self._write_found(root_id, root_path, batch, report, inserted)
                batch = []
                deadline = time.monotonic() + _BATCH_SECONDS
            if progress is not None:
                progress(ScanProgress(root_path, report.seen, path))
        if batch:
            self._write_found(root_id, root_path, batch, report, inserted)
        if report.cancelled:
            return
        vanished = [k.id for path, k in known.items() if path not in seen and k.status != "missing"]
        self._settle_vanished(vanished, report, inserted)
        if scope == root_path:
            # When the scan *ended*: every file it saw was present until then, so a copy first
            # seen before this time coexisted with them (see _present_twin).
            with self._txn() as conn:
                conn.execute("UPDATE roots SET last_scan_at = ? WHERE id = ?", (now(), root_id))

    def _known_files(
        self, root_id: int, root_path: str, scope: str, is_file: bool
    ) -> dict[str, _Known]:
        columns = "SELECT path, id, size, mtime, status, audio_fp, meta_read FROM files"
        if is_file:
            rows = self._conn.execute(f"{columns} WHERE path = ?", (scope,))
        elif scope == root_path:
            rows = self._conn.execute(f"{columns} WHERE root_id = ?", (root_id,))
        else:
            lo, hi = prefix_range(scope)
            rows = self._conn.execute(
                f"{columns} WHERE root_id = ? AND (folder = ? OR (folder >= ? AND folder < ?))",
                (root_id, scope, lo, hi),
            )
        return {row[0]: _Known(*row[1:]) for row in rows}

    def _write_found(
        self,
        root_id: int,
        root_path: str,
        batch: list[_Found],
        report: ScanReport,
        inserted: set[int],
    ) -> None:
        """Write one batch of read files in one short transaction."""
        with self._txn() as conn:
            for found in batch:
                info = found.info
                values = _info_values(info, now())
                if found.old is not None:
                    if found.backfill:
                        report.unchanged += 1
                    else:
                        report.updated += 1
                        report.errors += bool(info.error)
                    conn.execute(
                        f"UPDATE files SET {_INFO_SET} WHERE id = ?", (*values, found.old.id)
                    )
                    self._store_metadata(conn, found.old.id, info)
                    continue
                report.errors += bool(info.error)
                place = _place_values(root_id, root_path, found.path)
                twin = self._missing_twin(conn, info, place[4])
                if twin is not None:
                    conn.execute(
                        f"UPDATE files SET {_PLACE_SET}, {_INFO_SET}, added_at = ? WHERE id = ?",
                        (*place, *values, now(), twin),
                    )
                    report.moved += 1
                    self._store_metadata(conn, twin, info)
                    log.info("moved: file %d is now %s", twin, found.path)
                    continue
                cur = conn.execute(
                    f"INSERT INTO files({_PLACE_COLUMNS}, {_INFO_COLUMNS}, added_at) "
                    f"VALUES ({','.join('?' * (len(place) + len(values) + 1))})",
                    (*place, *values, now()),
                )
                new_id = int(cur.lastrowid or 0)
                inserted.add(new_id)
                report.added += 1
                self._store_metadata(conn, new_id, info)

    def _store_metadata(self, conn: sqlite3.Connection, file_id: int, info: FileInfo) -> None:
        """Keep what the file says about itself, and offer its own description as a caption."""
        meta = info.metadata
        if meta is None:
            return
        conn.execute("DELETE FROM file_meta WHERE file_id = ?", (file_id,))
        conn.executemany(
            "INSERT INTO file_meta(file_id, position, field, value, source) VALUES (?,?,?,?,?)",
            [(file_id, i, v.field, v.value, v.source) for i, v in enumerate(meta.values)],
        )
        conn.execute(
            "UPDATE files SET meta_text = ?, meta_read = 1 WHERE id = ?",
            (meta.search_text(), file_id),
        )
        description = meta.description
        if description:
            self._offer_file_caption(conn, file_id, description.strip(), meta.keywords)

    def _offer_file_caption(
        self, conn: sqlite3.Connection, file_id: int, text: str, keywords: tuple[str, ...]
    ) -> None:
        """A file's own description becomes its caption (source ``file``), unless a person
        wrote one: then it only joins the history, where it can be restored."""
        if not text:
            return
        current = conn.execute(
            "SELECT caption, caption_source FROM files WHERE id = ?", (file_id,)
        ).fetchone()
        if current is not None and current[0] is not None and current[0].strip() == text:
            return  # what the file says is what it shows (e.g. Earmark wrote it there)
        known = conn.execute(
            "SELECT 1 FROM captions WHERE file_id = ? AND source = 'file' AND text = ?",
            (file_id, text),
        ).fetchone()
        if known is not None:
            return  # already offered; the person chose otherwise
        cleaned = [" ".join(k.split()) for k in keywords if k.strip()]
        caption_id = self._insert_caption(
            conn, file_id, text, "file", None, None, {}, [(k, 1.0) for k in cleaned]
        )
        if current is None or current[1] != "user":
            self._make_current(conn, file_id, caption_id, text, cleaned, "file", None)

    def _missing_twin(self, conn: sqlite3.Connection, info: FileInfo, name: str) -> int | None:
        """A row marked missing that holds the same sound as ``info`` (prefer the same name)."""
        if info.audio_fp is not None:
            row = conn.execute(
                "SELECT id FROM files WHERE audio_fp = ? AND status = 'missing' "
                "ORDER BY name = ? DESC, id DESC LIMIT 1",
                (info.audio_fp, name),
            ).fetchone()
            if row is not None:
                return int(row[0])
        if info.fingerprint is None:
            return None
        # Rows from before audio fingerprints: the same bytes at both ends and the same name.
        row = conn.execute(
            "SELECT id FROM files WHERE fingerprint = ? AND name = ? AND status = 'missing' "
            "AND audio_fp IS NULL ORDER BY id DESC LIMIT 1",
            (info.fingerprint, name),
        ).fetchone()
        return None if row is None else int(row[0])

    def _settle_vanished(self, vanished: list[int], report: ScanReport, inserted: set[int]) -> None:
        """Merge each vanished row into a present row of the same sound, else mark it missing."""
        for start in range(0, len(vanished), _SETTLE_BATCH):
            with self._txn() as conn:
                for file_id in vanished[start : start + _SETTLE_BATCH]:
                    twin = self._present_twin(conn, file_id)
                    if twin is None:
                        cur = conn.execute(
                            "UPDATE files SET status = 'missing', scanned_at = ? "
                            "WHERE id = ? AND status != 'missing'",
                            (now(), file_id),
                        )
                        report.missing += cur.rowcount
                        continue
                    self._merge_into(conn, file_id, twin)
                    report.moved += 1
                    if twin in inserted:
                        report.added -= 1

    def _present_twin(self, conn: sqlite3.Connection, file_id: int) -> int | None:
        """A present row of the same sound for the vanished row ``file_id`` to merge with.

        For a row with captions the twin must be new since the row was last seen (else it is
        a duplicate that was already there, and the vanished row is missing, not moved). A
        row nobody ever captioned may merge with any present copy: nothing can be lost, and
        a scan that was killed between a move's two halves leaves such rows behind.
        """
        row = conn.execute(
            "SELECT f.audio_fp, f.fingerprint, f.name, "
            "max(coalesce(f.scanned_at, 0), coalesce(r.last_scan_at, 0)), "
            "EXISTS (SELECT 1 FROM captions c WHERE c.file_id = f.id) "
            "FROM files f JOIN roots r ON r.id = f.root_id WHERE f.id = ?",
            (file_id,),
        ).fetchone()
        if row is None:
            return None
        audio_fp, fp, name, last_seen, has_captions = row
        since = last_seen if has_captions else float("-inf")
        if audio_fp is not None:
            candidates = conn.execute(
                "SELECT id, path, size, mtime FROM files WHERE audio_fp = ? "
                "AND status != 'missing' AND id != ? AND coalesce(added_at, -1e300) > ? "
                "ORDER BY name = ? DESC, id DESC LIMIT 20",
                (audio_fp, file_id, since, name),
            ).fetchall()
        elif fp is not None:
            candidates = conn.execute(
                "SELECT id, path, size, mtime FROM files WHERE fingerprint = ? AND name = ? "
                "AND status != 'missing' AND id != ? AND coalesce(added_at, -1e300) > ? "
                "ORDER BY id DESC LIMIT 20",
                (fp, name, file_id, since),
            ).fetchall()
        else:
            candidates = []
        # A row still marked present may itself have vanished (not settled yet, or in a root
        # this scan does not cover): only a file that is on disk as recorded is a twin.
        for twin, path, size, mtime in candidates:
            st = _stat_or_error(path)
            if not isinstance(st, OSError) and st.st_size == size and st.st_mtime == mtime:
                return int(twin)
        return None

    def _merge_into(self, conn: sqlite3.Connection, vanished: int, present: int) -> None:
        """Merge the row of a vanished path and the present row of the same sound.

        The older row (the one with the longer history) is kept, at the present path.
        Everything that refers to the other row (captions, embeddings, jobs, and any table a
        later schema adds) moves to it; where both have something unique (an embedding of
        the same model, a pending job of the same kind) the kept row's stays. The current
        caption is the one a person wrote, if either row has one.
        """
        keep, drop = min(vanished, present), max(vanished, present)
        place = conn.execute(
            f"SELECT {_PLACE_COLUMNS}, {_INFO_COLUMNS}, added_at FROM files WHERE id = ?",
            (present,),
        ).fetchone()
        kept, dropped = (
            conn.execute(
                "SELECT caption_id, caption_source FROM files WHERE id = ?", (file_id,)
            ).fetchone()
            for file_id in (keep, drop)
        )
        current = _choose_current(kept[0], kept[1], dropped[0], dropped[1])
        if kept[0] is not None:
            # The kept row is captioned: a caption queued for the other when it looked new is
            # not needed (a forced one, asked for by a person, is kept).
            conn.execute(
                "DELETE FROM jobs WHERE file_id = ? AND kind = 'caption' AND force = 0 "
                "AND state IN ('queued', 'running')",
                (drop,),
            )
        conn.execute("UPDATE captions SET file_id = ? WHERE file_id = ?", (keep, drop))
        for table, column in _file_references(conn):
            if table != "captions":
                conn.execute(
                    f'UPDATE OR IGNORE "{table}" SET "{column}" = ? WHERE "{column}" = ?',
                    (keep, drop),
                )
        conn.execute("DELETE FROM files WHERE id = ?", (drop,))  # what could not move goes
        conn.execute(
            f"UPDATE files SET {_PLACE_SET}, {_INFO_SET}, added_at = ? WHERE id = ?",
            (*place, keep),
        )
        if current is not None:
            self._adopt_caption(conn, keep, current)
        log.info("moved: file %d is now %s (merged with file %d)", keep, place[1], drop)


def _choose_current(
    mine: int | None, mine_source: str | None, theirs: int | None, theirs_source: str | None
) -> int | None:
    for source in ("user", "file"):  # a person's words, then the file's own
        if mine is not None and mine_source == source:
            return mine
        if theirs is not None and theirs_source == source:
            return theirs
    return mine if mine is not None else theirs


def _file_references(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """``(table, column)`` of every foreign key to ``files(id)``."""
    out: list[tuple[str, str]] = []
    for (table,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchall():
        for fk in conn.execute(f'PRAGMA foreign_key_list("{table}")').fetchall():
            if fk[2] == "files":
                out.append((str(table), str(fk[3])))
    return out
