"""Exceptions raised by the library; each message is fit to show a user as is.

Front ends catch :class:`LibraryError` at their edge (the CLI prints it and exits, the GUI
shows it in a message that stays readable); anything else escaping the library is a bug.
"""

from __future__ import annotations

__all__ = [
    "DiskFullError",
    "InvalidCaptionError",
    "InvalidQueryError",
    "LibraryBusyError",
    "LibraryCorruptError",
    "LibraryError",
    "LibraryNotFoundError",
    "LibraryReadOnlyError",
    "NewerLibraryError",
    "NotALibraryError",
    "NothingToSearchError",
    "UnknownFileError",
    "UnknownRootError",
]


class LibraryError(Exception):
    """Base class of every error the library raises on purpose."""


class LibraryNotFoundError(LibraryError):
    """No library at the given path (commands that only read never create one)."""


class NotALibraryError(LibraryError):
    """The file is not an Earmark library: not SQLite, an empty file, or another program's
    database. It is left untouched."""


class NewerLibraryError(LibraryError):
    """The library was written by a newer Earmark; it is left untouched."""


class LibraryCorruptError(LibraryError):
    """SQLite reports damage in the library file; it is left untouched."""


class LibraryBusyError(LibraryError):
    """Another program (or another Earmark) held the library's write lock for too long."""


class LibraryReadOnlyError(LibraryError):
    """The library cannot be written (read-only file, folder or medium)."""


class DiskFullError(LibraryError):
    """The disk holding the library (or an output file) is full."""


class UnknownFileError(LibraryError):
    """No file with that id or path in the library (it may have been removed meanwhile)."""


class UnknownRootError(LibraryError):
    """No library folder with that id or path."""


class InvalidCaptionError(LibraryError, ValueError):
    """A caption that cannot be stored (empty text, an unusable embedding)."""


class InvalidQueryError(LibraryError, ValueError):
    """A search the library cannot run (bad advanced syntax, no model to embed the text)."""


class NothingToSearchError(InvalidQueryError):
    """The search text has no words to look for (only punctuation, symbols or spaces)."""
