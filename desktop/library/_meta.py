"""What files say about themselves, and what Earmark wrote into them: the part of ``Library``
behind the detail panel's metadata, the CSV's tool columns and ``write-tags --undo``."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from desktop.library._base import LibraryBase, now
from desktop.library.metadata import FileMetadata, MetadataValue, UndoRecord

__all__ = ["MetaMixin", "TagWrite"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TagWrite:
    """One write of Earmark's metadata into a file, with what it replaced.

    Attributes:
        id: Row id.
        file_id: The file written.
        created_at: Unix time of the write.
        undo: What restores the file's previous metadata.
        undone: Whether it was undone.
    """

    id: int
    file_id: int
    created_at: float
    undo: UndoRecord
    undone: bool


class MetaMixin(LibraryBase):
    """Embedded metadata as read by the scan; records of tag writes."""

    def file_metadata(self, file_id: int) -> FileMetadata:
        """Every value the file carried when it was last scanned, with its source."""
        return self.metadata_for([file_id]).get(file_id, FileMetadata("unknown"))

    def metadata_for(self, file_ids: Sequence[int]) -> dict[int, FileMetadata]:
        """Metadata of several files at once (files without any are left out)."""
        out: dict[int, list[MetadataValue]] = {}
        for file_id, field, value, source in self._conn.execute(
            "SELECT file_id, field, value, source FROM file_meta "
            "WHERE file_id IN (SELECT value FROM json_each(?)) ORDER BY file_id, position",
            (json.dumps([int(i) for i in file_ids]),),
        ):
            out.setdefault(int(file_id), []).append(MetadataValue(field, value, source))
        return {i: FileMetadata("scanned", tuple(values)) for i, values in out.items()}

    def keyword_scores_for(self, file_ids: Sequence[int]) -> dict[int, list[tuple[str, float]]]:
        """The current caption's ``(keyword, score)`` pairs of several files, best first."""
        out: dict[int, list[tuple[str, float]]] = {}
        for file_id, keyword, score in self._conn.execute(
            "SELECT f.id, k.keyword, k.score FROM files f "
            "JOIN caption_keywords k ON k.caption_id = f.caption_id "
            "WHERE f.id IN (SELECT value FROM json_each(?)) ORDER BY f.id, k.position",
            (json.dumps([int(i) for i in file_ids]),),
        ):
            out.setdefault(int(file_id), []).append((str(keyword), float(score)))
        return out

    def record_tag_write(self, file_id: int, undo: UndoRecord) -> int:
        """Remember a write into a file (for undo); returns the record id. Rescan the file
        afterwards (``add_paths([path])``) so the library holds what it now says."""
        with self._txn() as conn:
            cur = conn.execute(
                "INSERT INTO tag_writes(file_id, created_at, undo) VALUES (?, ?, ?)",
                (file_id, now(), json.dumps(undo.to_json())),
            )
            return int(cur.lastrowid or 0)

    def last_tag_write(self, file_id: int) -> TagWrite | None:
        """The newest write into the file that was not undone, or ``None``."""
        row = self._conn.execute(
            "SELECT id, file_id, created_at, undo, undone FROM tag_writes "
            "WHERE file_id = ? AND undone = 0 ORDER BY id DESC LIMIT 1",
            (file_id,),
        ).fetchone()
        if row is None:
            return None
        return TagWrite(
            int(row[0]),
            int(row[1]),
            float(row[2]),
            UndoRecord.from_json(json.loads(row[3])),
            bool(row[4]),
        )

    def files_with_tag_writes(self) -> list[int]:
        """Files with a write that can still be undone."""
        return [
            int(r[0])
            for r in self._conn.execute(
                "SELECT DISTINCT file_id FROM tag_writes WHERE undone = 0 ORDER BY file_id"
            )
        ]

    def mark_tag_write_undone(self, write_id: int) -> None:
        """Record that a write was undone."""
        with self._txn() as conn:
            conn.execute("UPDATE tag_writes SET undone = 1 WHERE id = ?", (write_id,))
