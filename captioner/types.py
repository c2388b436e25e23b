"""Result types and backend protocols shared by the engine and its users.

This module is deliberately light (numpy only): the GUI and the library import it
without pulling in torch or transformers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Union, runtime_checkable

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "AudioIndex",
    "AudioSource",
    "AudioTextModel",
    "Caption",
    "CaptionFailure",
    "KeywordScore",
    "Provenance",
]


@dataclass(frozen=True)
class KeywordScore:
    """One vocabulary keyword chosen for a clip.

    Attributes:
        keyword: The keyword text exactly as it appears in the vocabulary.
        score: Cosine similarity between the keyword's text embedding and the clip's audio
            embedding (in [-1, 1]).
    """

    keyword: str
    score: float


@dataclass(frozen=True)
class Provenance:
    """Where a caption came from, enough to reproduce it.

    Attributes:
        clap: Reference (HF id or local folder) of the audio-language model.
        llm: Reference of the language model.
        params: The decoding configuration as a plain dict (``CaptionerConfig.to_dict()``).
        window_policy: How the audio was turned into model windows, e.g.
            ``"pad"`` (short clip, zero-padded), ``"single"`` or ``"mean-of-6x10s"``.
        device: The torch device that ran the models, e.g. ``"cpu"`` or ``"cuda:0"``.
        dtype: The model precision, e.g. ``"float32"``.
        vocabulary: Name of the keyword vocabulary (``"audioset"`` or a file name).
        version: Earmark version that produced the caption.
        preset: The settings preset the captioner started from (``"paper"``,
            ``"paper-released"``, ``"default"``; empty when built from a bare config).
        policy_key: The configuration the audio embedding depends on (see
            :class:`AudioIndex`); empty when unknown.
    """

    clap: str
    llm: str
    params: dict[str, Any]
    window_policy: str
    device: str = "cpu"
    dtype: str = "float32"
    vocabulary: str = "audioset"
    version: str = ""
    preset: str = ""
    policy_key: str = ""


@dataclass
class Caption:
    """A caption and everything that explains it.

    Attributes:
        text: The caption, e.g. ``"a dog barks and a man speaks."``.
        keywords: The top-``l`` keywords, best first.
        prompt: The exact prompt given to the language model.
        audio_embedding: L2-normalised audio embedding, float32, shape ``(dim,)``.
        provenance: Models, parameters and audio policy.
        timings: Seconds spent per stage (``decode_audio``, ``embed_audio``, ``generate``,
            ``total``).
        path: The source file, when the caption came from a file.
        duration_s: Length of the decoded audio in seconds.
        tags: The index stage's tags (more keywords than ``keywords``), when computed.
    """

    text: str
    keywords: list[KeywordScore]
    prompt: str
    audio_embedding: np.ndarray
    provenance: Provenance
    timings: dict[str, float] = field(default_factory=dict)
    path: str | None = None
    duration_s: float | None = None
    tags: list[KeywordScore] = field(default_factory=list)


@dataclass
class AudioIndex:
    """What the index stage knows of a clip without the language model: enough to search it
    by description, find similar sounds and show tags, in a fraction of a caption's time.

    Attributes:
        audio_embedding: L2-normalised audio embedding, float32, shape ``(dim,)``.
        tags: Vocabulary keywords closest to the audio (zero-shot), best first, with their
            cosine similarity.
        window_policy: How the audio became model windows (as in :class:`Provenance`).
        policy_key: The configuration the embedding depends on (window policy and its
            settings), so a caption can reuse it only when it would compute the same.
        duration_s: Length of the decoded audio in seconds.
        path: The source file, when the index came from a file.
        timings: Seconds spent per stage.
    """

    audio_embedding: np.ndarray
    tags: list[KeywordScore]
    window_policy: str
    policy_key: str
    duration_s: float | None = None
    path: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CaptionFailure:
    """A clip that could not be captioned; ``caption_many`` yields it instead of raising.

    Attributes:
        path: The source file (or ``None`` for in-memory audio).
        error: A one-line message fit to show a user.
        error_type: The exception class name, e.g. ``"AudioDecodeError"``.
    """

    path: str | None
    error: str
    error_type: str = "CaptionerError"


#: What ``Captioner.caption`` accepts: a path, or (samples, sample_rate) with samples shaped
#: ``(n,)`` or ``(n, channels)``.
AudioSource = Union[str, "os.PathLike[str]", tuple[np.ndarray, int]]


@runtime_checkable
class AudioTextModel(Protocol):
    """An audio-language (CLAP-like) model: audio and text in one embedding space.

    Implementations: transformers ``ClapModel`` checkpoints, and imported WavCaps HTSAT-BERT.
    Both embedding methods return L2-normalised float32 tensors on the model's device.
    """

    model_id: str
    sample_rate: int
    window_seconds: float
    dim: int

    def embed_audio(self, windows: torch.Tensor) -> torch.Tensor:
        """Embed a batch of mono windows ``(B, sample_rate * window_seconds)`` -> ``(B, dim)``.

        Windows shorter than the model window are zero-padded on the right by the caller.
        """
        ...

    def embed_text(self, texts: Sequence[str]) -> torch.Tensor:
        """Embed strings -> ``(len(texts), dim)``, padding to the longest string in the batch."""
        ...
