"""Earmark's captioning engine: ZerAuCap zero-shot audio captioning.

Importing this package is cheap. The heavy parts (torch, transformers) load only when
``Captioner`` or ``CaptionerConfig`` is first touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from captioner.config import CaptionerConfig
    from captioner.facade import Captioner
    from captioner.types import Caption, CaptionFailure, KeywordScore

__version__ = "0.1.0"

__all__ = [
    "Caption",
    "CaptionFailure",
    "Captioner",
    "CaptionerConfig",
    "KeywordScore",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # Plain import statements, not importlib by name: bundlers (PyInstaller) find modules by
    # reading import statements, even inside functions, and would otherwise leave these out.
    if name == "Captioner":
        from captioner.facade import Captioner

        return Captioner
    if name == "CaptionerConfig":
        from captioner.config import CaptionerConfig

        return CaptionerConfig
    if name in ("Caption", "CaptionFailure", "KeywordScore"):
        from captioner import types

        return getattr(types, name)
    raise AttributeError(f"module 'captioner' has no attribute {name!r}")
