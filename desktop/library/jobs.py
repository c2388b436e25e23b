"""The job loop shared by the GUI worker and ``earmark library caption`` (Qt-free)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from captioner.types import Caption, CaptionFailure
from desktop.library.library import Library
from desktop.library.types import JobEvent

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
    raise NotImplementedError
