"""Reading the ``embeddings`` table and its change log (schema: ``embedding_changes``).

Every read that must be consistent with a change-log position runs inside :func:`snapshot`:
under WAL a read transaction sees one committed state, so rows and log position agree even
while the caption/index worker keeps writing on its own connection.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Iterator

import numpy as np

__all__ = [
    "Rows",
    "all_keys",
    "all_rows",
    "changed_files",
    "has_change_log",
    "log_position",
    "prune_log",
    "rows_of",
    "snapshot",
]

log = logging.getLogger(__name__)

#: Rows fetched per query when reading vectors.
_CHUNK = 8192


class Rows:
    """A block of embeddings: file ids, their ``embeddings.id`` and the unit float32 vectors."""

    __slots__ = ("file_ids", "rowids", "vectors")

    def __init__(self, file_ids: np.ndarray, rowids: np.ndarray, vectors: np.ndarray) -> None:
        self.file_ids = file_ids
        self.rowids = rowids
        self.vectors = vectors

    def __len__(self) -> int:
        return int(self.file_ids.size)


def has_change_log(conn: sqlite3.Connection) -> bool:
    """Whether the database has the change log (schema migration applied)."""
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'embedding_changes'"
    ).fetchone()
    return row is not None


@contextlib.contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction (one consistent view); joins one already open on ``conn``."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")  # read-only: ends the snapshot


def log_position(conn: sqlite3.Connection, model_id: str) -> tuple[int, int]:
    """``(head, horizon)``: the newest change-log sequence number ever issued, and how far
    the log of this model has been pruned (an index older than ``horizon`` cannot catch up)."""
    row = conn.execute(
        "SELECT seq FROM sqlite_sequence WHERE name = 'embedding_changes'"
    ).fetchone()
    head = int(row[0]) if row else 0
    row = conn.execute(
        "SELECT through_seq FROM embedding_changes_pruned WHERE model_id = ?", (model_id,)
    ).fetchone()
    return head, int(row[0]) if row else 0


def changed_files(conn: sqlite3.Connection, model_id: str, after: int, upto: int) -> np.ndarray:
    """Distinct file ids whose embedding of ``model_id`` changed in ``(after, upto]``."""
    cur = conn.execute(
        "SELECT DISTINCT file_id FROM embedding_changes "
        "WHERE model_id = ? AND seq > ? AND seq <= ?",
        (model_id, after, upto),
    )
    return np.fromiter((row[0] for row in cur), dtype=np.int64)


def _block(batch: list[tuple[int, int, bytes]], dim: int) -> Rows:
    file_ids = np.fromiter((r[0] for r in batch), dtype=np.int64, count=len(batch))
    rowids = np.fromiter((r[1] for r in batch), dtype=np.int64, count=len(batch))
    vectors = np.frombuffer(b"".join(r[2] for r in batch), dtype=np.float32)
    vectors = vectors.reshape(len(batch), dim).copy()
    # Stored vectors should already be unit; normalising again makes dot product = cosine.
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return Rows(file_ids, rowids, vectors)


def _bad_sizes(conn: sqlite3.Connection, model_id: str, dim: int) -> None:
    row = conn.execute(
        "SELECT count(*) FROM embeddings WHERE model_id = ? AND dim != ?", (model_id, dim)
    ).fetchone()
    if row[0]:
        log.warning(
            "%d embeddings of model %s are not %d-d; they are left out of the vector index",
            row[0],
            model_id,
            dim,
        )


def all_rows(
    conn: sqlite3.Connection, model_id: str, dim: int, chunk: int = _CHUNK
) -> Iterator[Rows]:
    """Every ``dim``-sized embedding of the model, in blocks (by ``embeddings.id``)."""
    _bad_sizes(conn, model_id, dim)
    cur = conn.execute(
        "SELECT file_id, id, vector FROM embeddings WHERE model_id = ? AND dim = ? ORDER BY id",
        (model_id, dim),
    )
    while batch := cur.fetchmany(chunk):
        yield _block(batch, dim)


def count_rows(conn: sqlite3.Connection, model_id: str, dim: int) -> int:
    """How many ``dim``-sized embeddings the model has."""
    row = conn.execute(
        "SELECT count(*) FROM embeddings WHERE model_id = ? AND dim = ?", (model_id, dim)
    ).fetchone()
    return int(row[0])


def rows_of(conn: sqlite3.Connection, model_id: str, dim: int, file_ids: np.ndarray) -> Rows:
    """The current embeddings of these files (files without one are simply absent)."""
    parts: list[Rows] = []
    for start in range(0, file_ids.size, _CHUNK):
        ids = json.dumps(file_ids[start : start + _CHUNK].tolist())
        batch = conn.execute(
            "SELECT file_id, id, vector FROM embeddings "
            "WHERE model_id = ? AND dim = ? AND file_id IN (SELECT value FROM json_each(?))",
            (model_id, dim, ids),
        ).fetchall()
        if batch:
            parts.append(_block(batch, dim))
    if not parts:
        return Rows(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, dim), np.float32))
    return Rows(
        np.concatenate([p.file_ids for p in parts]),
        np.concatenate([p.rowids for p in parts]),
        np.concatenate([p.vectors for p in parts]),
    )


def all_keys(conn: sqlite3.Connection, model_id: str, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """``(file_ids, rowids)`` of every ``dim``-sized embedding of the model, by file id."""
    cur = conn.execute(
        "SELECT file_id, id FROM embeddings WHERE model_id = ? AND dim = ?", (model_id, dim)
    )
    pairs = np.array(cur.fetchall(), dtype=np.int64).reshape(-1, 2)
    order = np.argsort(pairs[:, 0], kind="stable")
    return pairs[order, 0].copy(), pairs[order, 1].copy()


def spot_check(
    conn: sqlite3.Connection, model_id: str, file_ids: np.ndarray, rowids: np.ndarray
) -> bool:
    """Whether these ``(file_id, rowid)`` pairs are still in the table as the index has them.

    A cheap guard against a database that was replaced under an index (restored from a
    backup, say): its change log would otherwise be read from a position it never had.
    """
    if file_ids.size == 0:
        return True
    found = dict(
        conn.execute(
            "SELECT file_id, id FROM embeddings WHERE model_id = ? "
            "AND file_id IN (SELECT value FROM json_each(?))",
            (model_id, json.dumps(file_ids.tolist())),
        ).fetchall()
    )
    return all(found.get(int(f)) == int(r) for f, r in zip(file_ids, rowids))


def prune_log(conn: sqlite3.Connection, model_id: str, through: int) -> int:
    """Delete this model's change-log rows up to ``through`` and record the horizon.

    Housekeeping only: if another connection holds the write lock, it is skipped.

    Returns:
        Rows deleted (0 when skipped).
    """
    if conn.in_transaction:
        return 0
    try:
        return _prune(conn, model_id, through)
    except sqlite3.Error as exc:  # busy, read-only connection: try again at the next save
        log.debug("change log not pruned now: %s", exc)
        return 0


def _prune(conn: sqlite3.Connection, model_id: str, through: int) -> int:
    # Wait briefly, not the connection's full busy timeout: the writer has priority.
    timeout = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
    conn.execute("PRAGMA busy_timeout = 250")
    try:
        conn.execute("BEGIN IMMEDIATE")
    finally:
        conn.execute(f"PRAGMA busy_timeout = {timeout}")
    try:
        deleted = conn.execute(
            "DELETE FROM embedding_changes WHERE model_id = ? AND seq <= ?", (model_id, through)
        ).rowcount
        conn.execute(
            "INSERT INTO embedding_changes_pruned(model_id, through_seq) VALUES (?, ?) "
            "ON CONFLICT(model_id) DO UPDATE SET through_seq = max(through_seq, excluded.through_seq)",
            (model_id, through),
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return int(deleted)
