"""A small on-disk journal of user edits not yet in the library (no Qt).

Every edit carrying a person's words is appended here (and fsynced) before the writer tries to
store it, and marked done once it is committed. If the library stays locked until the app is
closed, or the app crashes, the next start replays what is left, so typed words are never lost
to a busy database. One journal file per library, in the data folder (the library's own
folder may be read-only or on a slow disk).

Format: JSON lines, ``{"id": ..., "db": ..., "op": {...}}`` for an edit and ``{"done": id}``
when it was stored. A torn last line (a crash mid-write) is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Any

from desktop.library.paths import data_dir

log = logging.getLogger(__name__)

__all__ = ["EditJournal", "journal_path"]


def journal_path(db_path: str | os.PathLike[str]) -> Path:
    """Where the journal of the library at ``db_path`` lives."""
    key = hashlib.sha1(os.path.abspath(os.fspath(db_path)).encode()).hexdigest()[:16]
    return data_dir() / "pending-edits" / f"{key}.jsonl"


class EditJournal:
    """Append-only journal of pending edits for one library (thread-safe)."""

    def __init__(self, db_path: str | os.PathLike[str], path: Path | None = None) -> None:
        self.db_path = os.path.abspath(os.fspath(db_path))
        self.path = path if path is not None else journal_path(db_path)
        self._lock = threading.Lock()

    def add(self, op: dict[str, Any]) -> str:
        """Record an edit; returns its id (pass it to :meth:`done`)."""
        entry_id = uuid.uuid4().hex
        self._append({"id": entry_id, "db": self.db_path, "op": op})
        return entry_id

    def done(self, entry_id: str) -> None:
        """Mark an edit stored; the file is emptied once nothing is left pending."""
        with self._lock:
            self._append_locked({"done": entry_id})
            if not self._pending_locked():
                with contextlib.suppress(OSError):
                    self.path.unlink()

    def pending(self) -> list[tuple[str, dict[str, Any]]]:
        """Edits recorded and not yet stored, oldest first: ``(id, op)``."""
        with self._lock:
            return self._pending_locked()

    def _append(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._append_locked(record)

    def _append_locked(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with open(self.path, "a+b") as f:
            # A line torn by a crash must not swallow the next record: start a fresh line.
            if f.tell() > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    line = "\n" + line
            f.write(line.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())

    def _pending_locked(self) -> list[tuple[str, dict[str, Any]]]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.warning("cannot read the edit journal %s: %s", self.path, exc)
            return []
        entries: dict[str, dict[str, Any]] = {}
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line torn by a crash: its edit was never acknowledged either
            if not isinstance(record, dict):
                continue
            if "done" in record:
                entries.pop(str(record["done"]), None)
            elif (
                "id" in record
                and isinstance(record.get("op"), dict)
                and record.get("db", self.db_path) == self.db_path
            ):
                entries[str(record["id"])] = record["op"]
        return list(entries.items())
