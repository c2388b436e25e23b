"""Short background tasks on a thread pool, with the result delivered on the GUI thread.

Modelled on Picard's ``run_task``: the work runs on a ``QThreadPool`` and its result (or its
exception) comes back through a queued signal, so callbacks always run on the thread that owns
the receiver. The GUI thread never waits for a task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

__all__ = ["TaskRunner", "run_task"]


class _Relay(QObject):
    """Lives on the GUI thread; its signals carry a task's outcome back there.

    The callbacks are called from this object's own slots: a signal connected to a plain
    Python function would run it on the emitting (pool) thread instead.
    """

    succeeded = Signal(object)
    errored = Signal(object)

    def __init__(
        self,
        owner: TaskRunner,
        on_done: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None] | None,
    ) -> None:
        super().__init__(owner)
        self._owner = owner
        self._on_done = on_done
        self._on_error = on_error
        self.succeeded.connect(self._deliver_result)
        self.errored.connect(self._deliver_error)

    @Slot(object)
    def _deliver_result(self, result: object) -> None:
        self._owner._forget(self)
        if self._on_done is not None:
            self._on_done(result)

    @Slot(object)
    def _deliver_error(self, exc: object) -> None:
        self._owner._forget(self)
        if self._on_error is not None:
            self._on_error(exc)  # type: ignore[arg-type]
        else:
            log.warning("background task failed: %s", exc)


class _Task(QRunnable):
    def __init__(self, func: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self._func = func
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._func()
        except Exception as exc:  # delivered to the caller's error callback, never lost
            self._relay.errored.emit(exc)
        else:
            self._relay.succeeded.emit(result)


class TaskRunner(QObject):
    """Runs callables on a pool and calls ``on_done``/``on_error`` on the GUI thread.

    Each window owns one runner. Relays are kept until their task reports, so a task that
    finishes after its caller moved on still has somewhere to land.
    """

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = pool if pool is not None else QThreadPool.globalInstance()
        self._relays: set[_Relay] = set()

    def run(
        self,
        func: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Start ``func`` on the pool; its result or exception is handed to the callbacks."""
        relay = _Relay(self, on_done, on_error)
        self._relays.add(relay)
        self.pool.start(_Task(func, relay))

    def _forget(self, relay: _Relay) -> None:
        self._relays.discard(relay)
        relay.deleteLater()

    @property
    def pending(self) -> int:
        """Tasks started and not yet reported back."""
        return len(self._relays)


def run_task(
    runner: TaskRunner,
    func: Callable[[], Any],
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
) -> None:
    """Shorthand for :meth:`TaskRunner.run`."""
    runner.run(func, on_done, on_error)
