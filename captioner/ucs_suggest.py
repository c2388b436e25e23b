"""Zero-shot UCS CatID suggestion from audio embeddings (see :mod:`captioner.ucs`).

Each subcategory becomes three text prompts (its name, its explanation, its synonyms); their
embeddings are averaged into one unit vector, computed once per (model, list) and cached on
disk like keyword embeddings. A file's audio embedding is scored against every subcategory by
cosine similarity; the top few are suggestions for the user to accept or not.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from captioner.ucs import UcsEntry, UcsList

__all__ = ["PROMPT_RECIPE", "UcsSuggester", "UcsSuggestion", "entry_prompts", "suggest_catids"]

log = logging.getLogger(__name__)

#: Version of the prompt recipe; part of the embedding cache key.
PROMPT_RECIPE = "ucs-prompts-1"


@dataclass(frozen=True)
class UcsSuggestion:
    """A suggested subcategory.

    Attributes:
        catid: ``"DOORWood"``.
        category_full: ``"DOORS-WOOD"``.
        score: Cosine similarity between the file's audio and the subcategory's prompts.
    """

    catid: str
    category_full: str
    score: float


def entry_prompts(entry: UcsEntry) -> list[str]:
    """The text prompts that stand for one subcategory."""
    name = f"the sound of {entry.subcategory.lower()}, {entry.category.lower()}"
    prompts = [name]
    if entry.explanation:
        prompts.append(entry.explanation[:300])
    if entry.synonyms:
        prompts.append("the sound of " + ", ".join(s.lower() for s in entry.synonyms[:12]))
    return prompts


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


class UcsSuggester:
    """Zero-shot CatID suggestions from audio embeddings; prompt embeddings computed once.

    Args:
        ucs: The UCS list.
        embed_text: Strings -> ``(n, dim)`` unit-norm embeddings in the audio model's space
            (``Captioner.embed_text``, or an ``AudioTextModel``'s ``embed_text``; torch tensors
            are accepted).
        model_key: Identity of the text encoder (weights fingerprint); keys the disk cache.
        cache_dir: Folder for the prompt-embedding cache (``None``: memory only).
    """

    def __init__(
        self,
        ucs: UcsList,
        embed_text: Callable[[Sequence[str]], Any],
        *,
        model_key: str,
        cache_dir: Path | None = None,
    ) -> None:
        self.ucs = ucs
        self._embed = embed_text
        self._model_key = model_key
        self._cache_dir = cache_dir
        self._matrix: np.ndarray | None = None

    def prompt_matrix(self) -> np.ndarray:
        """``(n_entries, dim)`` unit-norm embedding per subcategory (mean of its prompts)."""
        if self._matrix is not None:
            return self._matrix
        from captioner.vocabulary import Vocabulary, cached_keyword_embeddings

        prompts: list[str] = []
        owners: list[int] = []
        for i, entry in enumerate(self.ucs.entries):
            for p in entry_prompts(entry):
                prompts.append(p)
                owners.append(i)
        content = hashlib.sha256(
            "\n".join([PROMPT_RECIPE, self.ucs.sha256, *prompts]).encode("utf-8")
        ).hexdigest()
        vocab = Vocabulary(f"ucs:{Path(self.ucs.source).name}", tuple(prompts), content)

        def embed(texts: Sequence[str]) -> np.ndarray:
            return _to_numpy(self._embed(list(texts)))

        if self._cache_dir is not None:
            emb = cached_keyword_embeddings(vocab, self._model_key, embed, self._cache_dir)
        else:
            emb = np.concatenate(
                [embed(prompts[i : i + 128]) for i in range(0, len(prompts), 128)], axis=0
            )
        dim = emb.shape[1]
        sums = np.zeros((len(self.ucs.entries), dim), np.float64)
        np.add.at(sums, np.asarray(owners), emb.astype(np.float64))
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        self._matrix = (sums / np.maximum(norms, 1e-12)).astype(np.float32)
        return self._matrix

    def suggest(self, audio_embedding: Any, top_k: int = 3) -> list[UcsSuggestion]:
        """The ``top_k`` subcategories closest to an audio embedding, best first.

        Raises:
            ValueError: The embedding's size does not match the text embeddings'.
        """
        vec = _to_numpy(audio_embedding).reshape(-1)
        matrix = self.prompt_matrix()
        if vec.shape[0] != matrix.shape[1]:
            raise ValueError(
                f"audio embedding has {vec.shape[0]} values but the text model gives "
                f"{matrix.shape[1]}; use embeddings of the same audio-language model"
            )
        norm = float(np.linalg.norm(vec))
        if norm == 0.0 or not np.isfinite(norm):
            return []
        scores = matrix @ (vec / norm)
        k = max(0, min(top_k, scores.shape[0]))
        order = np.argsort(-scores, kind="stable")[:k]
        return [
            UcsSuggestion(
                self.ucs.entries[i].catid, self.ucs.entries[i].category_full, float(scores[i])
            )
            for i in order
        ]


def suggest_catids(
    audio_embedding: Any,
    ucs: UcsList,
    embed_text: Callable[[Sequence[str]], Any],
    *,
    model_key: str,
    top_k: int = 3,
    cache_dir: Path | None = None,
) -> list[UcsSuggestion]:
    """One-off form of :meth:`UcsSuggester.suggest` (keep a ``UcsSuggester`` for many files:
    it embeds the prompts once)."""
    return UcsSuggester(ucs, embed_text, model_key=model_key, cache_dir=cache_dir).suggest(
        audio_embedding, top_k
    )
