"""Small text helpers shared by the backends and the decoder (no torch)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

__all__ = ["clean_text", "clean_texts", "released_cleanup"]


def clean_text(text: str) -> str:
    """Return ``text`` as valid Unicode a tokenizer accepts.

    A command line given invalid UTF-8 (``$'\\xff'``) arrives as a lone surrogate
    (``'\\udcff'``, Python's ``surrogateescape``), which tokenizers refuse with a TypeError. Such
    bytes become U+FFFD; any other lone surrogate becomes ``?``. Valid text is returned as is.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate outside the escape range: not from argv bytes
        return text.encode("utf-8", "replace").decode("utf-8")


def clean_texts(texts: Iterable[str]) -> list[str]:
    """:func:`clean_text` for each string (anything else is refused with a clear error).

    Raises:
        TypeError: An element is not a string.
    """
    out = []
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"text to embed must be a string, got {type(text).__name__}")
        out.append(clean_text(text))
    return out


def released_cleanup(text: str) -> str:
    """The "clean up tokenization spaces" step the released code's tokenizer applied on decode.

    transformers 4.x tokenizers ran this by default on every ``decode`` (the released ZerAuCap
    code relied on the default); transformers 5 no longer does for BPE tokenizers. The
    ``paper-released`` preset applies it to the texts it scores and to the caption.
    """
    return (
        text.replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re")
    )
