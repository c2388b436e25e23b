"""The persisted job queue: the part of ``Library`` that survives crashes.

A job is ``queued`` -> ``running`` (claimed by one run, its token in ``worker``) -> ``done``
(in the same transaction as its result) or ``failed``. A job left ``running`` by a run that
no longer exists (see :mod:`desktop.library._runs`) goes back to ``queued``; after
:data:`MAX_CRASHES` runs died while holding it, it is set aside as ``failed`` with the reason,
so one file that kills the process cannot stop the queue. Jobs that were held by a run that
died are claimed one at a time afterwards, so the file that did it is found without taking
the innocent files of its batch down with it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any, Literal

from desktop.library._base import LibraryBase, now
from desktop.library._connection import translate_os_error
from desktop.library._runs import RunLock, token_alive
from desktop.library.errors import InvalidQueryError
from desktop.library.types import JobKind, JobRow, JobState, QueueCounts

__all__ = ["MAX_CRASHES", "QueueMixin"]

log = logging.getLogger(__name__)

#: A job is given up after this many runs died while working on it.
MAX_CRASHES = 3

_JOB_COLUMNS = (
    "j.id, j.file_id, f.path, j.state, j.attempts, j.error, j.force, j.created_at, "
    "j.updated_at, j.kind"
)


def _not_pending(kind_param: str = "?") -> str:
    return (
        "NOT EXISTS (SELECT 1 FROM jobs p WHERE p.file_id = f.id AND p.kind = "
        f"{kind_param} AND p.state IN ('queued', 'running'))"
    )


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
        kind=row[9],
    )


class QueueMixin(LibraryBase):
    """Enqueue, claim, finish and recover jobs."""

    _path: str
    _run: RunLock

    def enqueue(
        self,
        files: Iterable[int] | Literal["all", "uncaptioned"],
        *,
        force: bool = False,
        kind: JobKind = "caption",
    ) -> int:
        """Queue files; returns how many jobs were added.

        Files already pending (queued or running) for this kind are not queued twice; missing
        files are skipped; ``"all"`` and ``"uncaptioned"`` take readable files only. Files
        with a user caption are skipped unless ``force``; a forced job replaces only the
        caption the file has now: a caption the user writes after queueing it is kept.
        """
        stamp = now()
        keep_user = (
            ""
            if force
            else " AND (f.caption_source IS NULL OR f.caption_source NOT IN ('user', 'file'))"
        )
        columns = (
            "INSERT INTO jobs(file_id, state, force, kind, replaces_caption_id, created_at, "
            "updated_at) "
        )
        with self._txn() as conn:
            if files == "all" or files == "uncaptioned":
                extra = " AND f.caption_id IS NULL" if files == "uncaptioned" else ""
                cur = conn.execute(
                    columns + "SELECT f.id, 'queued', ?, ?, "
                    "CASE WHEN ? THEN f.caption_id END, ?, ? FROM files f "
                    f"WHERE f.status = 'ok'{extra}{keep_user} AND {_not_pending()} "
                    "ORDER BY f.folder, f.name",
                    (int(force), kind, int(force), stamp, stamp, kind),
                )
                return max(cur.rowcount, 0)
            if isinstance(files, str):
                raise InvalidQueryError(
                    f"enqueue takes file ids, 'all' or 'uncaptioned', not {files!r}"
                )
            ids = [int(i) for i in files]
            cur = conn.execute(
                columns + "SELECT f.id, 'queued', ?, ?, CASE WHEN ? THEN f.caption_id END, "
                "?, ? FROM json_each(?) AS sel JOIN files f ON f.id = sel.value "
                f"WHERE f.status != 'missing'{keep_user} AND {_not_pending()} "
                "GROUP BY f.id ORDER BY min(sel.key)",
                (int(force), kind, int(force), stamp, stamp, json.dumps(ids), kind),
            )
            return max(cur.rowcount, 0)

    def queue_counts(self, kind: JobKind | None = "caption") -> QueueCounts:
        """Jobs per state (of one kind, or of every kind with ``None``)."""
        if kind is None:
            rows = self._conn.execute("SELECT state, count(*) FROM jobs GROUP BY state")
        else:
            rows = self._conn.execute(
                "SELECT state, count(*) FROM jobs WHERE kind = ? GROUP BY state", (kind,)
            )
        return QueueCounts(**{state: int(n) for state, n in rows})

    def jobs(
        self, state: JobState | None = None, limit: int = 1000, kind: JobKind | None = None
    ) -> list[JobRow]:
        """Jobs (in one state, or all), oldest first for queued, newest first otherwise."""
        where: list[str] = []
        params: list[str] = []
        if state is not None:
            where.append("j.state = ?")
            params.append(state)
        if kind is not None:
            where.append("j.kind = ?")
            params.append(kind)
        order = "j.id" if state == "queued" else "j.updated_at DESC, j.id DESC"
        rows = self._conn.execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs j JOIN files f ON f.id = j.file_id "
            f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {order} LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [_job_row(row) for row in rows]

    def retry_failed(self, kind: JobKind = "caption") -> int:
        """Queue failed jobs again, with a fresh count of attempts; returns how many."""
        with self._txn() as conn:
            # OR IGNORE: a failed job whose file was queued again meanwhile stays failed.
            cur = conn.execute(
                "UPDATE OR IGNORE jobs SET state = 'queued', error = NULL, attempts = 0, "
                "worker = NULL, updated_at = ? WHERE state = 'failed' AND kind = ?",
                (now(), kind),
            )
            return max(cur.rowcount, 0)

    def cancel_queued(self, kind: JobKind = "caption") -> int:
        """Cancel every queued job; returns how many."""
        with self._txn() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = 'cancelled', updated_at = ? "
                "WHERE state = 'queued' AND kind = ?",
                (now(), kind),
            )
            return max(cur.rowcount, 0)

    def clear_finished(self, kind: JobKind | None = None) -> int:
        """Delete done and cancelled jobs; returns how many."""
        with self._txn() as conn:
            cur = conn.execute(
                "DELETE FROM jobs WHERE state IN ('done', 'cancelled') AND (? IS NULL OR kind = ?)",
                (kind, kind),
            )
            return max(cur.rowcount, 0)

    def claim_jobs(self, n: int = 1, kind: JobKind = "caption") -> list[JobRow]:
        """Mark up to ``n`` queued jobs running for this run and return them (job loop).

        Jobs never tried come first, in batches; a job that was held by a run that died is
        claimed alone, so if it kills the process again it takes no other file with it.
        """
        try:
            self._run.hold()
        except OSError as exc:
            raise translate_os_error(exc, str(self._path) + "-runs") from exc
        with self._txn() as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM jobs WHERE state = 'queued' AND kind = ? AND attempts = 0 "
                    "ORDER BY id LIMIT ?",
                    (kind, n),
                )
            ]
            if not ids:
                ids = [
                    row[0]
                    for row in conn.execute(
                        "SELECT id FROM jobs WHERE state = 'queued' AND kind = ? "
                        "AND attempts > 0 ORDER BY attempts, id LIMIT 1",
                        (kind,),
                    )
                ]
            if not ids:
                return []
            conn.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = ?, "
                "updated_at = ? WHERE id IN (SELECT value FROM json_each(?))",
                (self._run.token, now(), json.dumps(ids)),
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
        """Put a claimed job back, not counted as an attempt (stopped before it was done)."""
        self.requeue_jobs([job_id])

    def requeue_jobs(self, job_ids: Iterable[int]) -> int:
        """Put claimed jobs back (stopped before they were done); returns how many."""
        ids = [int(i) for i in job_ids]
        if not ids:
            return 0
        with self._txn() as conn:
            cur = conn.execute(
                "UPDATE jobs SET state = 'queued', worker = NULL, "
                "attempts = max(attempts - 1, 0), updated_at = ? "
                "WHERE id IN (SELECT value FROM json_each(?)) AND state = 'running'",
                (now(), json.dumps(ids)),
            )
            return max(cur.rowcount, 0)

    def recover_stale_jobs(self, *, include_own: bool = False) -> int:
        """Hand back jobs left running by runs that died; returns how many were recovered.

        After :data:`MAX_CRASHES` attempts a job is set aside as ``failed`` with the reason.

        Args:
            include_own: Also hand back jobs this connection's own run holds (the job loop
                does this before it starts: a loop that stopped on an error it could not
                write past, such as a lock held for minutes, may have left claims behind).
        """
        with self._txn() as conn:
            running = conn.execute(
                "SELECT id, worker, attempts FROM jobs WHERE state = 'running'"
            ).fetchall()
            alive: dict[str, bool] = {}
            stale: list[tuple[int, int]] = []
            for job_id, worker, attempts in running:
                if worker == self._run.token:
                    if include_own:
                        stale.append((job_id, attempts))
                    continue
                if worker not in alive:
                    alive[worker] = token_alive(self._path, worker, self._run)
                if not alive[worker]:
                    stale.append((job_id, attempts))
            requeue = [job_id for job_id, attempts in stale if attempts < MAX_CRASHES]
            give_up = [job_id for job_id, attempts in stale if attempts >= MAX_CRASHES]
            stamp = now()
            if requeue:
                conn.execute(
                    "UPDATE jobs SET state = 'queued', worker = NULL, updated_at = ? "
                    "WHERE id IN (SELECT value FROM json_each(?))",
                    (stamp, json.dumps(requeue)),
                )
                log.info("requeued %d job(s) left running by a stopped run", len(requeue))
            if give_up:
                conn.execute(
                    "UPDATE jobs SET state = 'failed', worker = NULL, updated_at = ?, error = ? "
                    "WHERE id IN (SELECT value FROM json_each(?))",
                    (
                        stamp,
                        f"Earmark stopped unexpectedly {MAX_CRASHES} times while working on "
                        "this file, so it was set aside and the queue went on. The file may "
                        "crash the audio decoder; retry it once that is fixed.",
                        json.dumps(give_up),
                    ),
                )
                log.warning("gave up %d job(s) after %d crashes", len(give_up), MAX_CRASHES)
        return len(stale)
