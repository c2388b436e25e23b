"""Keeping C libraries' chatter off the user's terminal.

libsndfile decodes MP3 with libmpg123, which prints notes such as "Illegal Audio-MPEG-Header …
Trying to resync…" straight to file descriptor 2 for every damaged frame: hundreds of lines
for one bad file, in the middle of a progress bar or a GUI's log. Python cannot intercept
that, so while such a decoder runs, descriptor 2 points at the null device. The message
that matters (the file could not be read) reaches the user through Earmark's own errors.

While silenced, other threads' writes to stderr are lost too, so this wraps only the short
calls into the noisy decoder.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

__all__ = ["NOISY_EXTENSIONS", "silenced_native_stderr"]

#: Extensions whose decoder (libmpg123) writes to stderr on its own.
NOISY_EXTENSIONS = frozenset({"mp3", "mp2", "mpga"})

_lock = threading.Lock()
_depth = 0
_saved: int | None = None


@contextlib.contextmanager
def silenced_native_stderr(active: bool = True) -> Iterator[None]:
    """Point file descriptor 2 at the null device for the duration (re-entrant, thread-safe).

    Args:
        active: ``False`` makes this a no-op (for call sites that decide per file).
    """
    global _depth, _saved
    if not active:
        yield
        return
    with _lock:
        if _depth == 0:
            try:
                _saved = os.dup(2)
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 2)
                os.close(null)
            except OSError:  # no stderr at all (a GUI app on Windows): nothing to silence
                _saved = None
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                os.dup2(_saved, 2)
                os.close(_saved)
                _saved = None
