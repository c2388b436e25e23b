"""Who is working on a job: a token per run, proven alive by a lock the OS drops on death.

A job loop claims jobs under its run token (``run:<uuid>``). While it holds jobs, the run
keeps an exclusive lock on ``<library>-runs/<token>.lock``. The operating system releases
that lock when the process ends, however it ends (kill -9, power loss aside), so anyone can
tell a live run from a dead one by trying the lock: if it can be taken, the run is gone and
its jobs can be handed back. Unlike ``host:pid`` this cannot collide: every container's first
process is pid 1, and a host can be renamed.

SQLite's WAL mode already requires every process using a library to share one machine's
locks (no network file systems), so the lock file needs nothing more than that.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from pathlib import Path

from filelock import FileLock, Timeout

__all__ = ["RunLock", "token_alive"]

log = logging.getLogger(__name__)

TOKEN_PREFIX = "run:"


def runs_folder(db_path: str) -> Path | None:
    """Where run locks of the library at ``db_path`` live (``None`` for in-memory ones)."""
    return None if db_path == ":memory:" else Path(db_path + "-runs")


def _lock_path(folder: Path, token: str) -> Path:
    return folder / (token.removeprefix(TOKEN_PREFIX) + ".lock")


class RunLock:
    """This connection's run token and the lock that proves it is alive.

    The lock is taken lazily (the first time jobs are claimed) and released on
    :meth:`release`, so opening a library to read never touches the runs folder.
    """

    def __init__(self, db_path: str) -> None:
        self.token = TOKEN_PREFIX + uuid.uuid4().hex
        self._folder = runs_folder(db_path)
        self._lock: FileLock | None = None

    def hold(self) -> None:
        """Take the lock (idempotent). Raises ``OSError`` when the folder cannot be written."""
        if self._lock is not None or self._folder is None:
            return
        self._folder.mkdir(exist_ok=True)
        lock = FileLock(str(_lock_path(self._folder, self.token)), timeout=0)
        lock.acquire()
        self._lock = lock

    def release(self) -> None:
        """Drop the lock and its file (idempotent)."""
        lock, self._lock = self._lock, None
        if lock is None or self._folder is None:
            return
        path = Path(lock.lock_file)
        lock.release()
        with contextlib.suppress(OSError):  # another process may be probing it right now
            path.unlink(missing_ok=True)


def token_alive(db_path: str, token: str | None, own: RunLock | None = None) -> bool:
    """Whether the run that claimed a job may still be working on it.

    Tokens of another form (``host:pid`` from Earmark before schema 5, or none) are dead:
    such claims were requeued by the upgrade and cannot be proven alive.
    """
    if not token or not token.startswith(TOKEN_PREFIX):
        return False
    if own is not None and token == own.token:
        return True
    folder = runs_folder(db_path)
    if folder is None:
        return False
    path = _lock_path(folder, token)
    if not path.exists():
        return False
    probe = FileLock(str(path), timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return True
    except OSError as exc:  # cannot even try (permissions): do not steal its jobs
        log.info("cannot probe run lock %s: %s", path, exc)
        return True
    try:
        os.unlink(path)  # a dead run's lock: tidy up while holding it
    except OSError:
        pass
    finally:
        probe.release()
    return False
