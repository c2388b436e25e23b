"""How values read on screen: durations, sizes, dates, a caption's provenance (no Qt)."""

from __future__ import annotations

import datetime
import sqlite3

from captioner.errors import CaptionerError
from desktop.library import CaptionRecord, FileRow, RemovalImpact
from desktop.library.errors import LibraryError

__all__ = [
    "captioned_at_text",
    "describe_error",
    "format_duration",
    "format_rate",
    "format_size",
    "impact_text",
    "provenance_text",
    "when_text",
]


def format_duration(seconds: float | None) -> str:
    """``83.4`` -> ``"1:23.4"``; short clips keep tenths, unknown is empty."""
    if seconds is None:
        return ""
    minutes, rest = divmod(max(seconds, 0.0), 60.0)
    return f"{int(minutes)}:{rest:04.1f}"


def format_size(size: int | None) -> str:
    """Bytes as a short human string."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""  # pragma: no cover


def format_rate(sample_rate: int | None) -> str:
    """``44100`` -> ``"44.1 kHz"``."""
    return f"{sample_rate / 1000:g} kHz" if sample_rate else ""


def captioned_at_text(row: FileRow) -> str:
    """When the current caption was made, as local date and time."""
    if row.captioned_at is None:
        return ""
    return datetime.datetime.fromtimestamp(row.captioned_at).strftime("%Y-%m-%d %H:%M")


def when_text(timestamp: float) -> str:
    """A Unix time as local ``YYYY-MM-DD HH:MM``."""
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


def provenance_text(record: CaptionRecord | None) -> str:
    """One line saying who wrote the caption, with which models and settings, and when."""
    if record is None:
        return "No caption yet. Captioning runs in the background once the file is queued."
    when = when_text(record.created_at)
    if record.source == "user":
        return f"Written by you · {when}"
    if record.source == "file":
        return f"From the file itself (its embedded description) · {when}"
    models = " + ".join(m for m in (record.clap, record.llm) if m) or "unknown models"
    details = []
    params = record.params or {}
    for key in ("preset", "window_policy", "device"):
        value = params.get(key)
        if value:
            details.append(f"{key.replace('_', ' ')} {value}")
    extra = f" · {', '.join(details)}" if details else ""
    return f"AI caption · {models}{extra} · {when}"


BUSY_MESSAGE = (
    "The library is busy: another program is writing to it. Try again in a moment "
    "(or close the other program)."
)


def describe_error(exc: BaseException) -> str:
    """An exception as a sentence fit to show a user (never a traceback)."""
    if isinstance(exc, (LibraryError, CaptionerError)):
        return str(exc)
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            return BUSY_MESSAGE
        if "disk is full" in text:
            return "The disk holding the library is full; free some space and try again."
        if "readonly" in text:
            return "The library cannot be written (read-only file or folder)."
        return f"The library reported a problem: {exc}"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return str(exc) or type(exc).__name__


def impact_text(impact: RemovalImpact) -> str:
    """``"3 file(s) and 2 description(s), 1 written by you"`` for a removal question."""
    parts = [f"{impact.files:,} file(s)"]
    if impact.captioned:
        mine = f", {impact.user_captions:,} written by you" if impact.user_captions else ""
        parts.append(f"{impact.captioned:,} description(s){mine}")
    return " and ".join(parts)
