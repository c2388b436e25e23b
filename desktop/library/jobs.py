"""The job loop shared by the GUI worker and ``earmark library caption`` (Qt-free)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from captioner.types import Caption, CaptionFailure
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

    Each result is committed (caption, keywords, embedding, job state) in one transaction.
    Jobs left running by a dead process are requeued first, so a killed run resumes.

    Args:
        library: The library (opened in the calling thread).
        captioner: Anything with the ``Captioner`` facade's methods.
        limit: Most jobs to process in this call.
        batch_size: Files claimed and passed to ``caption_many`` at once.
        should_stop: Polled between files; ``True`` stops after the current file and
            requeues the rest of the batch.
        on_event: Receives :class:`JobEvent` s.
    """
    emit = on_event or (lambda event: None)
    summary = JobRunSummary()
    library.recover_stale_jobs()
    model_id = captioner.embedding_model_id
    batch_size = max(1, int(batch_size))
    done = 0
    while True:
        if limit is not None and done >= limit:
            break
        if should_stop():
            summary.stopped = True
            break
        want = batch_size if limit is None else min(batch_size, limit - done)
        jobs = library.claim_jobs(want)
        if not jobs:
            emit(JobEvent("idle", done=done, total=done))
            break
        # The queue can grow while we run (the GUI enqueues more): recount for progress.
        total = done + len(jobs) + library.queue_counts().queued
        if limit is not None:
            total = min(total, limit)
        pending = list(jobs)
        results: Iterator[Caption | CaptionFailure] | None = None
        try:
            broken: CaptionFailure | None = None
            try:
                paths = [job.path for job in jobs]
                results = iter(captioner.caption_many(paths, batch_size=len(jobs)))
            except Exception as exc:  # a broken model must not stop the queue forever
                log.exception("captioner failed to start a batch")
                broken = CaptionFailure(None, f"{type(exc).__name__}: {exc}", "Error")
            for job in jobs:
                emit(JobEvent("started", file_id=job.file_id, done=done, total=total))
            for job in jobs:
                try:
                    if results is None:
                        raise RuntimeError(broken.error if broken else "no results")
                    result = next(results)
                except StopIteration:
                    result = CaptionFailure(
                        job.path, "captioner returned no result", "RuntimeError"
                    )
                except Exception as exc:  # a broken model must not stop the queue forever
                    if broken is not None:
                        result = broken
                    else:
                        log.exception("captioning %s failed", job.path)
                        result = CaptionFailure(job.path, f"{type(exc).__name__}: {exc}", "Error")
                pending.remove(job)
                if isinstance(result, CaptionFailure):
                    _fail(library, job, result.error, summary, emit, done + 1, total)
                else:
                    try:
                        library.save_caption(
                            job.file_id,
                            result,
                            embedding_model_id=model_id,
                            job_id=job.id,
                            force=job.force,
                        )
                    except (KeyError, ValueError) as exc:
                        _fail(library, job, str(exc), summary, emit, done + 1, total)
                    else:
                        summary.captioned += 1
                        emit(JobEvent("captioned", file_id=job.file_id, done=done + 1, total=total))
                done += 1
                emit(JobEvent("progress", done=done, total=total))
                if pending and should_stop():
                    summary.stopped = True
                    break
        finally:
            close = getattr(results, "close", None) if results is not None else None
            if close is not None:
                close()
            # Claimed but not processed (stopped, interrupted): back to the queue.
            for job in pending:
                library.requeue_job(job.id)
        if summary.stopped:
            break
    return summary


def _fail(
    library: Library,
    job: JobRow,
    message: str,
    summary: JobRunSummary,
    emit: Callable[[JobEvent], None],
    done: int,
    total: int,
) -> None:
    library.fail_job(job.id, message)
    summary.failed += 1
    log.info("job %d (%s) failed: %s", job.id, job.path, message)
    emit(JobEvent("failed", file_id=job.file_id, message=message, done=done, total=total))
