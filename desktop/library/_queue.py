"""The persisted caption queue: the part of ``Library`` that survives crashes.

A job is ``queued`` -> ``running`` (claimed by one process, recorded in ``worker``) ->
``done`` (in the same transaction as its caption) or ``failed``. A job left ``running`` by a
process that no longer exists goes back to ``queued``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterable
from typing import Any, Literal

from desktop.library._base import LibraryBase, now
from desktop.library.types import JobRow, JobState, QueueCounts

__all__ = ["QueueMixin", "worker_alive", "worker_token"]

log = logging.getLogger(__name__)

_JOB_COLUMNS = (
    "j.id, j.file_id, f.path, j.state, j.attempts, j.error, j.force, j.created_at, j.updated_at"
)
_NOT_PENDING = (
    "NOT EXISTS (SELECT 1 FROM jobs p WHERE p.file_id = f.id AND p.state IN ('queued', 'running'))"
)


def worker_token() -> str:
    """Who claims a job: ``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_alive(token: str | None) -> bool:
    """Whether the process that claimed a job may still be running.

    Unknown hosts count as alive (we cannot tell); on this host the pid is checked.
    """
    if not token:
        return False
    host, _, pid_text = token.rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return True
    if os.name != "posix":
        # os.kill(pid, 0) is not a probe on Windows; a pid from another run is stale.
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _job_row(row: tuple[Any, ...]) -> JobRow:
    return JobRow(
        id=row[0],
        file_id=row[1],
        path=row[2],
        state=row[3],
        attempts=row[4],
        error=row[5],
        force=bool(row[6]),
        created_at=row[7],
        updated_at=row[8],
    )


class QueueMixin(LibraryBase):
    """Enqueue, claim, finish and recover caption jobs."""

    def enqueue(
        self,
        files: Iterable[int] | Literal["all", "uncaptioned"],
        *,
        force: bool = False,
    ) -> int:
        """Queue files for captioning; returns how many jobs were added.

        Files already queued or running are not queued twice; missing files are skipped;
        ``"all"`` and ``"uncaptioned"`` take readable files only. Files with a user caption
        are skipped unless ``force``.
        """
        stamp = now()
        keep_user = "" if force else " AND (f.caption_source IS NULL OR f.caption_source != 'user')"
        with self._txn() as conn:
            if files == "all" or files == "uncaptioned":
                extra = " AND f.caption_id IS NULL" if files == "uncaptioned" else ""
                cur = conn.execute(
                    "INSERT INTO jobs(file_id, state, force, created_at, updated_at) "
                    "SELECT f.id, 'queued', ?, ?, ? FROM files f "
                    f"WHERE f.status = 'ok'{extra}{keep_user} AND {_NOT_PENDING} "
                    "ORDER BY f.folder, f.name",
                    (int(force), stamp, stamp),
                )
                return max(cur.rowcount, 0)
            if isinstance(files, str):
                raise ValueError(f"enqueue takes file ids, 'all' or 'uncaptioned', not {files!r}")
            ids = [int(i) for i in files]
            cur = conn.execute(
                "INSERT INTO jobs(file_id, state, force, created_at, updated_at) "
                "SELECT f.id, 'queued', ?, ?, ? FROM json_each(?) AS sel "
                "JOIN files f ON f.id = sel.value "
                f"WHERE f.status != 'missing'{keep_user} AND {_NOT_PENDING} "
                "GROUP BY f.id ORDER BY min(sel.key)",
                (int(force), stamp, stamp, json.dumps(ids)),
            )
            return max(cur.rowcount, 0)

    def queue_counts(self) -> QueueCounts:
        """Jobs per state."""
        counts = dict(self._conn.execute("SELECT state, count(*) FROM jobs GROUP BY state"))
        return QueueCounts(**{state: int(n) for state, n in counts.items()})

    def jobs(self, state: JobState | None = None, limit: int = 1000) -> list[JobRow]:
        """Jobs (in one state, or all), oldest first for queued, newest first otherwise."""
        if state is None:
            sql = f"SELECT {_JOB_COLUMNS} FROM jobs j JOIN files f ON f.id = j.file_id "
            sql += "ORDER BY j.updated_at DESC, j.id DESC LIMIT ?"
            rows = self._conn.execute(sql, (limit,)).fetchall()
        else:
            order = "j.id" if state == "queued" else "j.updated_at DESC, j.id DESC"
            rows = self._conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs j JOIN files f ON f.id = j.file_id "
                f"WHERE j.state = ? ORDER BY {order} LIMIT ?",
                (state, limit),
            ).fetchall()
        return [_job_row(row) for row in rows]

    def retry_failed(self) -> int:
        """Queue failed jobs again; returns how many."""
        with self._txn() as conn:
            # OR IGNORE: a failed job whose file was queued again meanwhile stays failed.
            cur = conn.execute(
                "UPDATE OR IGNORE jobs SET state = 'queued', error = NULL, updated_at = ? "
                "WHERE state = 'failed'",
                (now(),),
            )
            return max(cur.rowcount, 0)

    def cancel_queued(self) -> int:
        """Cancel every queued job; returns how many."""
        with self._txn() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = 'cancelled', updated_at = ? WHERE state = 'queued'",
                (now(),),
            )
            return max(cur.rowcount, 0)

    def clear_finished(self) -> int:
        """Delete done and cancelled jobs; returns how many."""
        with self._txn() as conn:
            cur = conn.execute("DELETE FROM jobs WHERE state IN ('done', 'cancelled')")
            return max(cur.rowcount, 0)

    def claim_jobs(self, n: int = 1) -> list[JobRow]:
        """Mark up to ``n`` queued jobs running for this process and return them (job loop)."""
        token = worker_token()
        with self._txn() as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT ?", (n,)
                )
            ]
            if not ids:
                return []
            conn.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = ?, "
                "updated_at = ? WHERE id IN (SELECT value FROM json_each(?))",
                (token, now(), json.dumps(ids)),
            )
            rows = conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs j JOIN files f ON f.id = j.file_id "
                "WHERE j.id IN (SELECT value FROM json_each(?)) ORDER BY j.id",
                (json.dumps(ids),),
            ).fetchall()
        return [_job_row(row) for row in rows]

    def fail_job(self, job_id: int, message: str) -> None:
        """Mark a running job failed with a message (job loop)."""
        with self._txn() as conn:
            conn.execute(
                "UPDATE jobs SET state = 'failed', error = ?, updated_at = ? WHERE id = ?",
                (message, now(), job_id),
            )

    def requeue_job(self, job_id: int) -> None:
        """Put a running job back in the queue (job loop, when stopped mid-batch)."""
        with self._txn() as conn:
            conn.execute(
                "UPDATE jobs SET state = 'queued', worker = NULL, updated_at = ? "
                "WHERE id = ? AND state = 'running'",
                (now(), job_id),
            )

    def recover_stale_jobs(self) -> int:
        """Requeue jobs left running by a process that died; returns how many."""
        with self._txn() as conn:
            stale = [
                job_id
                for job_id, worker in conn.execute(
                    "SELECT id, worker FROM jobs WHERE state = 'running'"
                )
                if not worker_alive(worker)
            ]
            if stale:
                conn.execute(
                    "UPDATE jobs SET state = 'queued', worker = NULL, updated_at = ? "
                    "WHERE id IN (SELECT value FROM json_each(?))",
                    (now(), json.dumps(stale)),
                )
                log.info("requeued %d job(s) left running by a stopped process", len(stale))
        return len(stale)
