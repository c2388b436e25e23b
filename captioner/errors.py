"""Exceptions raised by the captioner; each message is fit to show a user as is."""

from __future__ import annotations

__all__ = [
    "AudioDecodeError",
    "CaptionCancelledError",
    "CaptionerError",
    "ModelLoadError",
    "ModelNotFoundError",
]


class CaptionerError(Exception):
    """Base class of every error the captioner raises on purpose."""


class AudioDecodeError(CaptionerError):
    """The audio could not be read or is unusable (empty, corrupt, not audio, NaN samples)."""


class ModelNotFoundError(CaptionerError):
    """A model reference is neither a local folder nor present in the local HF cache."""


class ModelLoadError(CaptionerError):
    """A model was found but could not be loaded (broken files, wrong kind of model)."""


class CaptionCancelledError(CaptionerError):
    """Captioning was stopped on request (the ``cancel`` callback returned True)."""
