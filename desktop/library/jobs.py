"""The job loops shared by the GUI worker and the CLI (Qt-free): captions and the index stage.

One round: claim a batch of queued jobs of one kind for this run, process the batch (caption
it, or index it: embedding and tags only), store each result in its own transaction (result
and job state together), report. Both stages run the same loop; only how a batch becomes
results and how a result is stored differ. Two kinds of trouble are told apart:

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
from typing import Any, Literal, Protocol

import numpy as np

from captioner.types import AudioIndex, Caption, CaptionFailure
from desktop.library.errors import LibraryError, UnknownFileError
from desktop.library.library import Library
from desktop.library.types import JobEvent, JobKind, JobRow

__all__ = ["CaptionerLike", "IndexerLike", "JobRunSummary", "run_index_jobs", "run_jobs"]

log = logging.getLogger(__name__)


class CaptionerLike(Protocol):
    """What the caption loop needs from a captioner (the ``Captioner`` facade has it all).

    ``caption_many`` may take ``indexed``: per path, a stored :class:`AudioIndex` to use
    instead of embedding the audio again (``None`` where there is none); captioners that
    have a ``policy_key`` are given it.
    """

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


class IndexerLike(Protocol):
    """What the index loop needs: the audio-language model alone (no LLM)."""

    @property
    def embedding_model_id(self) -> str: ...

    @property
    def policy_key(self) -> str: ...

    def index_many(
        self, paths: Sequence[str], batch_size: int = 8
    ) -> Iterator[AudioIndex | CaptionFailure]: ...

    def embed_text(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass
class JobRunSummary:
    """Counts of one :func:`run_jobs` or :func:`run_index_jobs` call.

    Attributes:
        captioned: Files captioned and committed.
        indexed: Files indexed and committed.
        failed: Jobs that failed (message stored on the job).
        stopped: Whether ``should_stop`` ended the run before the queue was empty.
    """

    captioned: int = 0
    indexed: int = 0
    failed: int = 0
    stopped: bool = False


Result = Caption | AudioIndex | CaptionFailure
#: Turns a claimed batch into exactly one result per job, in order.
Produce = Callable[[list[JobRow]], Iterator[Result]]
#: Commits one result; returns a failure message for a file's trouble, else ``None``.
Store = Callable[[JobRow, Result], "str | None"]


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
    A file the index stage already embedded with the same model and window policy is not
    embedded again (when the captioner can take stored results).

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
    model_id = captioner.embedding_model_id
    policy_key = getattr(captioner, "policy_key", None)

    def produce(jobs: list[JobRow]) -> Iterator[Result]:
        paths = [job.path for job in jobs]
        if policy_key is None:
            return iter(captioner.caption_many(paths, batch_size=len(jobs)))
        stored = library.stored_index([job.file_id for job in jobs], model_id, policy_key)
        indexed = [stored.get(job.file_id) for job in jobs]
        many: Any = captioner.caption_many
        return iter(many(paths, batch_size=len(jobs), indexed=indexed))

    def store(job: JobRow, result: Result) -> str | None:
        if not isinstance(result, Caption):
            raise TypeError(f"a captioner returned {type(result).__name__} for a caption job")
        library.save_caption(
            job.file_id, result, embedding_model_id=model_id, job_id=job.id, force=job.force
        )
        return None

    return _run_queue(library, "caption", produce, store, limit, batch_size, should_stop, on_event)


def run_index_jobs(
    library: Library,
    indexer: IndexerLike,
    *,
    limit: int | None = None,
    batch_size: int = 8,
    should_stop: Callable[[], bool] = lambda: False,
    on_event: Callable[[JobEvent], None] | None = None,
) -> JobRunSummary:
    """Index queued files (audio embedding and tags, no caption): the same loop, the same
    guarantees as :func:`run_jobs`, for ``index`` jobs.

    Raises:
        LibraryError: As :func:`run_jobs`.
    """
    model_id = indexer.embedding_model_id

    def produce(jobs: list[JobRow]) -> Iterator[Result]:
        return iter(indexer.index_many([job.path for job in jobs], batch_size=len(jobs)))

    def store(job: JobRow, result: Result) -> str | None:
        if not isinstance(result, AudioIndex):
            raise TypeError(f"an indexer returned {type(result).__name__} for an index job")
        library.save_index(job.file_id, result, embedding_model_id=model_id, job_id=job.id)
        return None

    return _run_queue(library, "index", produce, store, limit, batch_size, should_stop, on_event)


def _run_queue(
    library: Library,
    kind: JobKind,
    produce: Produce,
    store: Store,
    limit: int | None,
    batch_size: int,
    should_stop: Callable[[], bool],
    on_event: Callable[[JobEvent], None] | None,
) -> JobRunSummary:
    emit = on_event or (lambda event: None)
    summary = JobRunSummary()
    library.recover_stale_jobs(include_own=True)
    batch_size = max(1, int(batch_size))
    done = 0
    while limit is None or done < limit:
        if should_stop():
            summary.stopped = True
            break
        jobs = library.claim_jobs(
            batch_size if limit is None else min(batch_size, limit - done), kind=kind
        )
        if not jobs:
            emit(JobEvent("idle", done=done, total=done))
            break
        # The queue can grow while we run (the GUI enqueues more): recount for progress.
        total = done + len(jobs) + library.queue_counts(kind).queued
        if limit is not None:
            total = min(total, limit)
        done = _run_batch(
            library, kind, jobs, produce, store, summary, emit, should_stop, done, total
        )
        if summary.stopped:
            break
    return summary


def _run_batch(
    library: Library,
    kind: JobKind,
    jobs: list[JobRow],
    produce: Produce,
    store: Store,
    summary: JobRunSummary,
    emit: Callable[[JobEvent], None],
    should_stop: Callable[[], bool],
    done: int,
    total: int,
) -> int:
    """Process one claimed batch and store each result; returns the new ``done`` count."""
    pending = {job.id for job in jobs}
    results = _results(produce, jobs)
    finished: Literal["captioned", "indexed"] = "captioned" if kind == "caption" else "indexed"
    try:
        for job in jobs:
            emit(JobEvent("started", file_id=job.file_id, done=done, total=total))
        for job in jobs:
            message = _commit(library, job, next(results), store)
            pending.discard(job.id)
            done += 1
            if message is None:
                if kind == "caption":
                    summary.captioned += 1
                else:
                    summary.indexed += 1
                emit(JobEvent(finished, file_id=job.file_id, done=done, total=total))
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


def _commit(library: Library, job: JobRow, result: Result, store: Store) -> str | None:
    """Commit a result; returns the failure message for a file's trouble, else ``None``.

    Raises:
        LibraryError: The environment's trouble (see the module docstring).
    """
    if isinstance(result, CaptionFailure):
        library.fail_job(job.id, result.error)
        return result.error
    try:
        return store(job, result)
    except (UnknownFileError, ValueError) as exc:  # removed meanwhile; an unusable result
        library.fail_job(job.id, str(exc))
        return str(exc)


def _results(produce: Produce, jobs: list[JobRow]) -> Generator[Result, None, None]:
    """Exactly one result per job, whatever the model does (a broken model must not stop
    the queue forever: its exceptions become each file's failure)."""
    try:
        stream = produce(jobs)
    except Exception as exc:
        log.exception("the model failed to start a batch")
        failure = CaptionFailure(None, f"{type(exc).__name__}: {exc}", type(exc).__name__)
        for job in jobs:
            yield dataclasses.replace(failure, path=job.path)
        return
    try:
        for job in jobs:
            try:
                yield next(stream)
            except StopIteration:
                yield CaptionFailure(job.path, "the model returned no result", "RuntimeError")
            except Exception as exc:
                log.exception("processing %s failed", job.path)
                yield CaptionFailure(job.path, f"{type(exc).__name__}: {exc}", type(exc).__name__)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
