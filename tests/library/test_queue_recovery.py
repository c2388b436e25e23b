"""No job is stuck running forever, and one file that kills the process cannot stop the queue."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from desktop.library import Library, _connection, run_jobs
from desktop.library._queue import MAX_CRASHES
from desktop.library.errors import LibraryBusyError
from tests.conftest import write_tone
from tests.library.fakes import FakeCaptioner

HERE = Path(__file__).parent


def _library_with(tmp_path: Path, n: int) -> Path:
    folder = tmp_path / "sounds"
    folder.mkdir()
    for i in range(n):
        write_tone(folder / f"f{i:02d}.wav", seconds=0.05, freq=200.0 + 20 * i)
    db = tmp_path / "lib.db"
    with Library.open(db) as lib:
        lib.add_root(folder)
        lib.scan()
        assert lib.enqueue("uncaptioned") == n
    return db


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_live_run_keeps_its_jobs_and_a_killed_one_loses_them(tmp_path: Path) -> None:
    db = _library_with(tmp_path, 3)
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "claim_worker.py"), str(db)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith("claimed")
        with Library.open(db) as lib:
            assert lib.recover_stale_jobs() == 0  # alive: its lock is held
            assert lib.queue_counts().running == 1
    finally:
        proc.kill()
        proc.wait(timeout=30)
    with Library.open(db) as lib:
        assert lib.recover_stale_jobs() == 1  # the OS dropped the lock with the process
        assert lib.queue_counts().running == 0


def test_claims_from_a_dead_container_are_recovered(tmp_path: Path) -> None:
    """``host:1`` (every container's first process) from Earmark before schema 5, and a run
    token whose lock file is gone, are both recovered."""
    db = _library_with(tmp_path, 2)
    with Library.open(db) as lib:
        a, b = lib.claim_jobs(2)
        lib.connection.execute("UPDATE jobs SET worker = 'old-container:1' WHERE id = ?", (a.id,))
        lib.connection.execute("UPDATE jobs SET worker = 'run:deadbeef' WHERE id = ?", (b.id,))
        assert lib.recover_stale_jobs() == 2
        summary = run_jobs(lib, FakeCaptioner())
        assert summary.captioned == 2 and lib.queue_counts().done == 2


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_file_that_kills_the_process_is_given_up_and_the_queue_moves_on(
    tmp_path: Path,
) -> None:
    n = 8
    db = _library_with(tmp_path, n)
    runs = 0
    while runs < 20:
        runs += 1
        proc = subprocess.run(
            [sys.executable, str(HERE / "poison_worker.py"), str(db), "f03.wav", "4"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, proc.stderr
    with Library.open(db) as lib:
        counts = lib.queue_counts()
        assert (counts.done, counts.failed, counts.queued, counts.running) == (n - 1, 1, 0, 0)
        (failed,) = lib.jobs("failed")
        assert failed.path.endswith("f03.wav") and failed.attempts == MAX_CRASHES
        assert "stopped unexpectedly 3 times" in (failed.error or "")
        per_file = dict(
            lib.connection.execute("SELECT file_id, count(*) FROM captions GROUP BY file_id")
        )
        assert len(per_file) == n - 1 and set(per_file.values()) == {1}
    # Crashes: MAX_CRASHES runs died on it (the first with three innocent files alongside,
    # which then went one at a time and passed); one more run cleared the queue.
    assert runs == MAX_CRASHES + 1


def test_retry_starts_the_count_again_and_a_handed_back_job_was_not_attempted(
    tmp_path: Path,
) -> None:
    db = _library_with(tmp_path, 2)
    with Library.open(db) as lib:
        a, b = lib.claim_jobs(2)
        lib.requeue_jobs([a.id])  # stopped before it was started
        lib.fail_job(b.id, "broken")
        assert {j.id: j.attempts for j in lib.jobs()} == {a.id: 0, b.id: 1}
        assert lib.retry_failed() == 1
        assert {j.id: j.attempts for j in lib.jobs()} == {a.id: 0, b.id: 0}


def _hold_write_lock(db: Path, seconds: float, ready: threading.Event) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)  # another program holding the lock (what the test is about)
    conn.execute("COMMIT")
    conn.close()


def test_a_lock_held_longer_than_the_busy_timeout_is_waited_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_connection, "BUSY_TIMEOUT_S", 0.2)
    db = _library_with(tmp_path, 3)
    with Library.open(db) as lib:
        waits: list[float] = []
        lib.set_lock_wait_callback(waits.append)
        ready = threading.Event()
        holder = threading.Thread(target=_hold_write_lock, args=(db, 1.5, ready))
        holder.start()
        ready.wait()
        summary = run_jobs(lib, FakeCaptioner())
        holder.join()
        assert summary.captioned == 3 and waits  # it waited, said so, and went on


def test_a_lock_held_past_patience_stops_the_run_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_connection, "WRITE_PATIENCE_S", 0.5)
    db = _library_with(tmp_path, 3)
    with Library.open(db) as lib:
        lib.connection.execute("PRAGMA busy_timeout = 100")
        (first,) = lib.claim_jobs(1)
        lib.requeue_jobs([first.id])
        ready = threading.Event()
        holder = threading.Thread(target=_hold_write_lock, args=(db, 2.0, ready))
        holder.start()
        ready.wait()
        with pytest.raises(LibraryBusyError, match="locked by another program"):
            run_jobs(lib, FakeCaptioner())
        holder.join()
        summary = run_jobs(lib, FakeCaptioner())  # the same connection carries on
        counts = lib.queue_counts()
        assert summary.captioned == 3 and (counts.done, counts.running) == (3, 0)


def test_a_scan_of_a_slow_disk_never_holds_the_write_lock_for_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop.library import _scan

    folder = tmp_path / "slow"
    folder.mkdir()
    for i in range(30):
        write_tone(folder / f"s{i:02d}.wav", seconds=0.02, freq=100.0 + 13 * i)
    real_probe = _scan.probe

    def slow_probe(path: str, st: object = None) -> object:
        time.sleep(0.05)  # a slow disk: 1.5 s for the whole folder (what the test is about)
        return real_probe(path, st)  # type: ignore[arg-type]

    monkeypatch.setattr(_scan, "probe", slow_probe)
    db = tmp_path / "lib.db"
    with Library.open(db) as lib:
        lib.add_root(folder)
    done = threading.Event()
    failures: list[str] = []

    def other_writer() -> None:
        conn = sqlite3.connect(db, timeout=0.2, isolation_level=None)
        while not done.is_set():
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                failures.append(str(exc))
            time.sleep(0.05)
        conn.close()

    writer = threading.Thread(target=other_writer)
    writer.start()
    try:
        with Library.open(db) as lib:
            assert lib.scan().added == 30
    finally:
        done.set()
        writer.join()
    assert failures == []  # the other program always got the lock within 0.2 s
