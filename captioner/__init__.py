"""Earmark's captioning engine: ZerAuCap zero-shot audio captioning.

Importing this package is cheap. The heavy parts (torch, transformers) load only when
``Captioner`` or ``CaptionerConfig`` is first touched.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "Caption",
    "CaptionFailure",
    "Captioner",
    "CaptionerConfig",
    "KeywordScore",
    "__version__",
]

_LAZY = {
    "Captioner": ("captioner.facade", "Captioner"),
    "CaptionerConfig": ("captioner.config", "CaptionerConfig"),
    "Caption": ("captioner.types", "Caption"),
    "CaptionFailure": ("captioner.types", "CaptionFailure"),
    "KeywordScore": ("captioner.types", "KeywordScore"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'captioner' has no attribute {name!r}")
