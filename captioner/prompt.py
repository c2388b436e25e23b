"""Keyword selection and the ZerAuCap prompt.

The prompt for ``l = 2`` is ``"Objects: <kw1>, and a <kw2>. This is a sound of "`` (trailing
space kept, article only before the last keyword, "an" before a vowel). The released code
produces ``"Objects: , and a <kw>. ..."`` for ``l = 1``; here ``l = 1`` gives
``"Objects: a <kw>. This is a sound of "`` unless the released form is asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from captioner.types import KeywordScore

log = logging.getLogger(__name__)

__all__ = ["PROMPT_TAIL", "article_for", "build_prompt", "select_keywords"]

#: The part of the prompt the caption continues; the caption is the text after it.
PROMPT_TAIL = "This is a sound of "


def article_for(word: str) -> str:
    """Return ``"an"`` if ``word`` starts with a vowel letter, else ``"a"`` (the paper's rule)."""
    return "an" if word[:1].lower() in "aeiou" and word[:1] else "a"


def build_prompt(keywords: Sequence[str], *, released: bool = False) -> str:
    """Build the exact ZerAuCap prompt from the chosen keywords (best first).

    Args:
        keywords: ``l`` keywords; may be empty.
        released: Build it as the released code does, whose ``l = 1`` prompt is
            ``"Objects: , and a <kw>. This is a sound of "``.

    Returns:
        ``"This is a sound of "`` for no keywords, else
        ``"Objects: " + ", ".join(kw[:-1]) + ", and " + article + kw[-1] + ". This is a sound of "``
        (for one keyword: ``"Objects: " + article + " " + kw + ". This is a sound of "``).
    """
    if not keywords:
        return PROMPT_TAIL
    last = keywords[-1]
    tail = f"{article_for(last)} {last}. "
    if len(keywords) == 1 and not released:
        return f"Objects: {tail}{PROMPT_TAIL}"
    return f"Objects: {', '.join(keywords[:-1])}, and {tail}{PROMPT_TAIL}"


def select_keywords(
    audio_embedding: np.ndarray,
    keyword_embeddings: np.ndarray,
    keywords: Sequence[str],
    l: int,  # noqa: E741 - the paper's name
    *,
    allow_duplicates: bool = False,
) -> list[KeywordScore]:
    """Return the ``l`` keywords whose text embeddings are closest (cosine) to the audio.

    Exact duplicate strings in the vocabulary (AudioSet's 614 keywords hold "Inside" three
    times and "Outside" twice) count once, so the prompt never names the same keyword twice;
    the released code's top-l can ("Objects: Inside, and an Inside.").

    Args:
        audio_embedding: ``(dim,)`` L2-normalised audio embedding.
        keyword_embeddings: ``(n, dim)`` L2-normalised keyword embeddings.
        keywords: The ``n`` keyword strings, in the embeddings' order.
        l: How many to return.
        allow_duplicates: Keep duplicates, as the released code does.

    Returns:
        Best first; ties keep vocabulary order.
    """
    if keyword_embeddings.shape[0] != len(keywords):
        raise ValueError(
            f"{keyword_embeddings.shape[0]} keyword embeddings for {len(keywords)} keywords"
        )
    if l <= 0:
        return []
    sims = keyword_embeddings.astype(np.float32) @ audio_embedding.astype(np.float32)
    # Stable sort on -sim keeps vocabulary order among equal scores.
    order = np.argsort(-sims, kind="stable")
    chosen: list[KeywordScore] = []
    seen: set[str] = set()
    for idx in order:
        word = keywords[int(idx)]
        if word in seen and not allow_duplicates:
            continue
        seen.add(word)
        chosen.append(KeywordScore(word, float(sims[idx])))
        if len(chosen) == l:
            break
    return chosen
