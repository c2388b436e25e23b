"""The job loop shared by the GUI worker and ``earmark library caption`` (Qt-free).

One round: claim a batch of queued jobs for this run, caption the batch, store each result
in its own transaction (caption, keywords, embedding and job state together), report. Two
kinds of trouble are told apart:

- the *file's*: it cannot be decoded, the model fails on it. The job fails with the message
  and the queue goes on.
- the *environment's*: the library cannot be written (a lock held for minutes, a full disk, a
  read-only or damaged file). That is no file's fault, so no job is failed for it: the loop
  hands back what it had claimed and raises the :class:`~desktop.library.errors.LibraryError`,
  for the front end to show. Nothing is lost; the next run carries on.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from captioner.types import Caption, CaptionFailure
from desktop.library.errors import LibraryError, UnknownFileError
from desktop.library.library import Library
from desktop.library.types import JobEvent, JobRow

__all__ = ["CaptionerLike", "JobRunSummary", "run_jobs"]

log = logging.getLogger(__name__)


class CaptionerLike(Protocol):
    """What the job loop needs from a captioner (the ``Captioner`` facade has it all)."""

    @property
    def embedding_model_id(self) -> str: ...

    @property
    def clap_ref(self) -> str: ...

    @property
    def llm_ref(self) -> str: ...

    @property
    def config(self) -> Any: ...

    def caption_many(
        self, paths: Sequence[str], batch_size: int = 1
    ) -> Iterator[Caption | CaptionFailure]: ...

    def embed_text(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass
class JobRunSummary:
    """Counts of one :func:`run_jobs` call.

    Attributes:
        captioned: Files captioned and committed.
        failed: Jobs that failed (message stored on the job).
        stopped: Whether ``should_stop`` ended the run before the queue was empty.
    """

    captioned: int = 0
    failed: int = 0
    stopped: bool = False


def run_jobs(
    library: Library,
    captioner: CaptionerLike,
    *,
    limit: int | None = None,
    batch_size: int = 1,
    should_stop: Callable[[], bool] = lambda: False,
    on_event: Callable[[JobEvent], None] | None = None,
) -> JobRunSummary:
    """Caption queued files until the queue is empty, ``limit`` jobs are done, or stopped.

    Jobs left running by a run that died are handed back first, so a killed run resumes.

    Args:
        library: The library (opened in the calling thread).
        captioner: Anything with the ``Captioner`` facade's methods.
        limit: Most jobs to process in this call.
        batch_size: Files claimed and passed to ``caption_many`` at once.
        should_stop: Polled between files; ``True`` stops after the current file and
            hands the rest of the batch back to the queue.
        on_event: Receives :class:`JobEvent` s.

    Raises:
        LibraryError: The library could not be written (see the module docstring); every
            job this call had claimed and not finished is back in the queue (or is
            recovered by the next run if even that could not be written).
    """
    emit = on_event or (lambda event: None)
    summary = JobRunSummary()
    library.recover_stale_jobs(include_own=True)
    batch_size = max(1, int(batch_size))
    done = 0
    while limit is None or done < limit:
        if should_stop():
            summary.stopped = True
            break
        jobs = library.claim_jobs(batch_size if limit is None else min(batch_size, limit - done))
        if not jobs:
            emit(JobEvent("idle", done=done, total=done))
            break
        # The queue can grow while we run (the GUI enqueues more): recount for progress.
        total = done + len(jobs) + library.queue_counts().queued
        if limit is not None:
            total = min(total, limit)
        done = _run_batch(library, captioner, jobs, summary, emit, should_stop, done, total)
        if summary.stopped:
            break
    return summary


def _run_batch(
    library: Library,
    captioner: CaptionerLike,
    jobs: list[JobRow],
    summary: JobRunSummary,
    emit: Callable[[JobEvent], None],
    should_stop: Callable[[], bool],
    done: int,
    total: int,
) -> int:
    """Caption one claimed batch and store each result; returns the new ``done`` count."""
    pending = {job.id for job in jobs}
    results = _results(captioner, jobs)
    try:
        for job in jobs:
            emit(JobEvent("started", file_id=job.file_id, done=done, total=total))
        for job in jobs:
            result = next(results)
            message = _store(library, job, result, captioner.embedding_model_id)
            pending.discard(job.id)
            done += 1
            if message is None:
                summary.captioned += 1
                emit(JobEvent("captioned", file_id=job.file_id, done=done, total=total))
            else:
                summary.failed += 1
                log.info("job %d (%s) failed: %s", job.id, job.path, message)
                emit(
                    JobEvent("failed", file_id=job.file_id, message=message, done=done, total=total)
                )
            emit(JobEvent("progress", done=done, total=total))
            if pending and should_stop():
                summary.stopped = True
                break
    finally:
        results.close()
        if pending:
            try:
                library.requeue_jobs(pending)
            except LibraryError as exc:  # the next run recovers them
                log.warning("could not hand back %d job(s): %s", len(pending), exc)
    return done


def _store(
    library: Library, job: JobRow, result: Caption | CaptionFailure, model_id: str
) -> str | None:
    """Commit a result; returns the failure message for a file's trouble, else ``None``.

    Raises:
        LibraryError: The environment's trouble (see the module docstring).
    """
    if isinstance(result, CaptionFailure):
        library.fail_job(job.id, result.error)
        return result.error
    try:
        library.save_caption(
            job.file_id, result, embedding_model_id=model_id, job_id=job.id, force=job.force
        )
    except (UnknownFileError, ValueError) as exc:  # removed meanwhile; an unusable result
        library.fail_job(job.id, str(exc))
        return str(exc)
    return None


def _results(
    captioner: CaptionerLike, jobs: list[JobRow]
) -> Generator[Caption | CaptionFailure, None, None]:
    """Exactly one result per job, whatever the captioner does (a broken model must not
    stop the queue forever: its exceptions become each file's failure)."""
    try:
        stream = iter(captioner.caption_many([job.path for job in jobs], batch_size=len(jobs)))
    except Exception as exc:
        log.exception("captioner failed to start a batch")
        failure = CaptionFailure(None, f"{type(exc).__name__}: {exc}", type(exc).__name__)
        for job in jobs:
            yield dataclasses.replace(failure, path=job.path)
        return
    try:
        for job in jobs:
            try:
                yield next(stream)
            except StopIteration:
                yield CaptionFailure(job.path, "captioner returned no result", "RuntimeError")
            except Exception as exc:
                log.exception("captioning %s failed", job.path)
                yield CaptionFailure(job.path, f"{type(exc).__name__}: {exc}", type(exc).__name__)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
