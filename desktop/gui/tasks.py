"""Short background tasks on a thread pool: a typed result and a progress channel.

Modelled on Picard's ``run_task`` (the work runs on a ``QThreadPool``, its outcome comes back on
the GUI thread) and superqt's workers (``yielded`` progress, ``returned``/``errored``, an abort
flag checked between steps). A task is a function of one :class:`TaskContext`; it reports
progress with ``ctx.report(value)``, polls ``ctx.cancelled()``, and returns its value. The
caller gets one :class:`TaskResult` (value or error) and, optionally, every progress value, all
on the GUI thread. The GUI thread never waits for a task.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

__all__ = ["TaskContext", "TaskHandle", "TaskResult", "TaskRunner"]

T = TypeVar("T")
P = TypeVar("P")


@dataclass(frozen=True)
class TaskResult(Generic[T]):
    """What a task ended with: its value, or the exception it raised.

    Attributes:
        value: The function's return value (``None`` when it failed).
        error: The exception, or ``None`` on success.
    """

    value: T | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when the task returned normally."""
        return self.error is None


class TaskContext(Generic[P]):
    """Handed to a task's function on the pool thread: a progress channel and a cancel flag."""

    def __init__(self, handle: TaskHandle) -> None:
        self._handle = handle
        self._cancel = handle._cancel

    def report(self, progress: P) -> None:
        """Send a progress value to the GUI thread (queued; cheap, but do not flood it)."""
        self._handle.progressed.emit(progress)

    def cancelled(self) -> bool:
        """True once :meth:`TaskHandle.cancel` was called (check between steps)."""
        return self._cancel.is_set()


class TaskHandle(QObject):
    """One started task, living on the GUI thread; its signals carry the outcome back there.

    The callbacks are called from this object's own slots: a signal connected to a plain
    Python function would run it on the emitting (pool) thread instead.

    Signals:
        progressed(value): a value passed to ``ctx.report``.
        finished(TaskResult): the task returned or raised (exactly once).
    """

    progressed = Signal(object)
    finished = Signal(object)

    def __init__(
        self,
        runner: TaskRunner,
        on_result: Callable[[TaskResult[Any]], None] | None,
        on_progress: Callable[[Any], None] | None,
    ) -> None:
        super().__init__(runner)
        self._runner = runner
        self._on_result = on_result
        self._on_progress = on_progress
        self._cancel = threading.Event()
        self._done = False
        self.progressed.connect(self._deliver_progress)
        self.finished.connect(self._deliver_result)

    def cancel(self) -> None:
        """Ask the task to stop at its next check (thread-safe); the result still arrives."""
        self._cancel.set()

    @property
    def done(self) -> bool:
        """True once the result was delivered."""
        return self._done

    @Slot(object)
    def _deliver_progress(self, value: object) -> None:
        if self._on_progress is not None and not self._done:
            self._on_progress(value)

    @Slot(object)
    def _deliver_result(self, result: object) -> None:
        self._done = True
        self._runner._forget(self)
        assert isinstance(result, TaskResult)
        if self._on_result is not None:
            self._on_result(result)
        elif result.error is not None:
            log.warning("background task failed: %s", result.error)


class _Task(QRunnable):
    def __init__(self, work: Callable[[TaskContext[Any]], Any], handle: TaskHandle) -> None:
        super().__init__()
        self._work = work
        self._handle = handle
        self._context: TaskContext[Any] = TaskContext(handle)

    def run(self) -> None:
        try:
            value = self._work(self._context)
        except Exception as exc:  # delivered to the caller's callback, never lost
            self._handle.finished.emit(TaskResult(error=exc))
        else:
            self._handle.finished.emit(TaskResult(value=value))


class TaskRunner(QObject):
    """Runs task functions on a pool and reports on the GUI thread.

    Each window owns one runner. Handles are kept until their task reports, so a task that
    finishes after its caller moved on still has somewhere to land.
    """

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = pool if pool is not None else QThreadPool.globalInstance()
        self._handles: set[TaskHandle] = set()

    def run(
        self,
        work: Callable[[TaskContext[P]], T],
        on_result: Callable[[TaskResult[T]], None] | None = None,
        on_progress: Callable[[P], None] | None = None,
    ) -> TaskHandle:
        """Start ``work(ctx)`` on the pool; ``on_result`` gets its :class:`TaskResult`."""
        handle = TaskHandle(self, on_result, on_progress)  # type: ignore[arg-type]
        self._handles.add(handle)
        self.pool.start(_Task(work, handle))
        return handle

    def cancel_all(self) -> None:
        """Ask every running task to stop at its next check."""
        for handle in list(self._handles):
            handle.cancel()

    def _forget(self, handle: TaskHandle) -> None:
        self._handles.discard(handle)
        handle.deleteLater()

    @property
    def pending(self) -> int:
        """Tasks started and not yet reported back."""
        return len(self._handles)
