"""Exceptions raised by the captioner; each message is fit to show a user as is."""

from __future__ import annotations

import re

__all__ = [
    "AudioDecodeError",
    "CaptionCancelledError",
    "CaptionerError",
    "ModelLoadError",
    "ModelNotFoundError",
    "safe_reason",
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


# Phrases of third-party advice an Earmark user must never follow (it disables safety).
_UNSAFE_ADVICE = ("weights_only", "trust_remote_code", "arbitrary code", "custom code")


def safe_reason(exc: BaseException) -> str:
    """Say why a model file could not be loaded, without passing on unsafe advice.

    torch suggests re-running ``torch.load`` with ``weights_only=False`` when a pickle holds
    anything but tensors, and transformers suggests ``trust_remote_code=True`` for a model that
    ships its own code. Both would run code from a downloaded file. This rewrites such errors into
    what happened and what to do; other errors keep their first line.

    Args:
        exc: The exception a loader raised.

    Returns:
        One line fit to show a user.
    """
    text = str(exc).strip() or type(exc).__name__
    low = text.lower()
    if "weights only load failed" in low or "weights_only" in low or "unpickl" in low:
        found = re.search(r"GLOBAL ([\w.]+)", text)
        what = f" (it asks for {found.group(1)})" if found else ""
        return (
            "the file holds Python objects besides tensors" + what + "; Earmark loads weights "
            "only and never runs code from a model file. Get a copy with safetensors weights "
            "(model.safetensors) from the model's publisher"
        )
    if "trust_remote_code" in low or "custom code" in low or "remote code" in low:
        return (
            "this model needs Python code shipped inside its folder; Earmark runs only model "
            "types built into transformers and never runs code from a model folder. Choose a "
            "model that transformers supports without extra code"
        )
    if any(phrase in low for phrase in _UNSAFE_ADVICE):
        return f"{type(exc).__name__} while reading the model files"
    line = " ".join(text.split())
    return line if len(line) <= 400 else line[:397] + "..."
