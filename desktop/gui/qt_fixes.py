"""Work-arounds for bugs of the Qt binding in use; each says what it guards against.

PySide6 6.12.0 drops a reference to ``True`` every time Python calls ``Signal.emit()`` (and
to ``True``/``None`` on ``disconnect``): ``emit`` returns ``True`` without taking a reference.
On Python 3.11, where ``True`` and ``None`` are ordinary reference-counted objects, a few
thousand emits bring their count to zero and the interpreter aborts ("bool_dealloc:
deallocating True or False") or crashes later in whatever code touches them. The window emits
signals on every caption and scan step, so an ordinary session runs into it.

:func:`install_refcount_guard` measures the leak once (a few emits of a private signal) and,
only when it is there, keeps a reserve of references to ``True`` and ``None`` that a GUI
thread timer tops up long before it could run out; the reserve is never freed, so the lost
references are never paid back, not even at exit. Cost: 8 MB per million emits.
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

log = logging.getLogger(__name__)

__all__ = ["emit_leaks_references", "install_refcount_guard", "top_up"]

#: References kept in reserve per object; topped up when fewer than this remain above it.
RESERVE = 1_000_000
_KEEP: list[object] = []
# The reserve is never freed, not even at exit: freeing it would hand back every reference it
# holds, and the ones the binding lost would then take True's count to zero while the
# interpreter shuts down.
ctypes.pythonapi.Py_IncRef(ctypes.py_object(_KEEP))
_GUARD: list[QObject] = []


class _Probe(QObject):
    ping = Signal()


def emit_leaks_references() -> bool:
    """True when ``Signal.emit()`` loses a reference to ``True`` (the references it lost
    while measuring are given back)."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    lost = before - sys.getrefcount(True)
    if lost > 0:
        _KEEP.extend([True] * lost)
    return lost > 0


def top_up() -> None:
    """Give ``True`` and ``None`` a reserve of references if theirs is running low."""
    for obj in (True, False, None):
        if sys.getrefcount(obj) < RESERVE:
            _KEEP.extend([obj] * RESERVE)


def install_refcount_guard(interval_ms: int = 200) -> bool:
    """Protect this process from the binding's lost references (idempotent).

    Returns:
        True when the guard is active (the binding has the bug).
    """
    if _GUARD:
        return True
    app = QCoreApplication.instance()
    if app is None or not emit_leaks_references():
        return False
    log.info("Qt binding loses references on emit: keeping a reserve (qt_fixes)")
    top_up()
    timer = QTimer(app)
    timer.setObjectName("earmark-refcount-guard")
    timer.setInterval(interval_ms)
    timer.timeout.connect(top_up)
    timer.start()
    _GUARD.append(timer)
    return True
