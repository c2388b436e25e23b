"""The index stage: audio embeddings and keyword tags from the audio-language model alone.

An :class:`AudioIndexer` holds the audio-language model and the keyword vocabulary, never the
language model, so a library becomes searchable by description (and by similar sound) in a
fraction of a caption's time and memory:

>>> indexer = plan_load("default").load_indexer()  # doctest: +SKIP
>>> next(indexer.index_many(["dog.wav"])).tags[0].keyword  # doctest: +SKIP
'Dog'

The :class:`~captioner.facade.Captioner` embeds audio through an ``AudioIndexer`` too, so an
index result and a caption's embedding are computed by the same code, and a caption can start
from a stored index instead of decoding the file again (:func:`policy_key` says when the stored
embedding is the one a fresh run would compute).

An ``AudioIndexer`` is not thread-safe: it belongs to one owner thread.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from captioner.audio import (
    AudioWindows,
    ReleasedCrops,
    load_windows,
    model_rate_length,
    source_length,
)
from captioner.config import CaptionerConfig
from captioner.embedding import embed_clip_windows
from captioner.errors import CaptionerError
from captioner.prompt import select_keywords
from captioner.text import clean_texts
from captioner.types import AudioIndex, AudioSource, AudioTextModel, CaptionFailure, KeywordScore
from captioner.vocabulary import Vocabulary

__all__ = ["TAG_COUNT", "TAG_FLOOR", "AudioIndexer", "Embedded", "policy_key"]

# Most windows per audio-model call: bounds memory for long files and big batches.
_AUDIO_WINDOWS_PER_CALL = 16

#: Most tags an index result keeps. Eight is what a library row or a detail panel shows at a
#: glance, and about as many labels as the densest AudioSet clips carry; more are mostly the
#: long tail of weak matches.
TAG_COUNT = 8

#: Lowest cosine a tag may have. A keyword no closer to the audio than to an orthogonal
#: direction (cosine <= 0) is no evidence for it, so a quiet or unusual clip gets fewer tags
#: instead of eight arbitrary ones.
TAG_FLOOR = 0.0

#: A clip to embed, with its released-code crop start (None: no crop drawn).
Item = tuple[AudioSource, int | None]


def policy_key(config: CaptionerConfig) -> str:
    """The settings an audio embedding depends on, as a short stable string.

    Only what changes which samples reach the audio model counts: the window policy, its
    window count (``mean``) or seed (``random-crop``, ``released-crop``). The language-model
    and decoding settings do not change the embedding and are left out, so a caption with any
    ``beta`` or ``l`` reuses the same index. ``released-crop`` draws its crops from one stream
    in the order clips are read, so its embeddings depend on that order too; captions never
    reuse them (see :meth:`AudioIndexer.reuses_index`).
    """
    policy = config.window_policy
    if policy == "mean":
        return f"mean/{config.max_windows}"
    if policy in ("random-crop", "released-crop"):
        return f"{policy}/{config.seed}"
    return policy


@dataclass
class Embedded:
    """One clip after decoding and audio embedding."""

    path: str | None
    audio_embedding: np.ndarray
    policy: str
    duration_s: float
    timings: dict[str, float]


class AudioIndexer:
    """The audio-language model and the keyword vocabulary: embeddings and tags, no LLM.

    Build it with :meth:`captioner.loading.LoadPlan.load_indexer` (or take
    :attr:`Captioner.indexer <captioner.facade.Captioner.indexer>` of a loaded captioner).

    Args:
        config: Settings (only the window settings matter here, see :func:`policy_key`).
        audio_model: The audio-language model.
        vocabulary: Keyword vocabulary.
        keyword_embeddings: ``(n_keywords, dim)`` embeddings of the vocabulary.
        clap_ref: Reference of the audio-language model (the embedding space's name).
    """

    def __init__(
        self,
        config: CaptionerConfig,
        audio_model: AudioTextModel,
        vocabulary: Vocabulary,
        keyword_embeddings: np.ndarray,
        *,
        clap_ref: str,
    ) -> None:
        self._config = config
        self.audio_model = audio_model
        self.vocabulary = vocabulary
        self.keyword_embeddings = keyword_embeddings
        self._clap_ref = clap_ref
        self._policy_key = policy_key(config)
        self._crops = (
            ReleasedCrops(config.seed) if config.window_policy == "released-crop" else None
        )

    # ------------------------------------------------------------------ properties
    @property
    def config(self) -> CaptionerConfig:
        """The settings."""
        return self._config

    @property
    def clap_ref(self) -> str:
        """Reference of the audio-language model."""
        return self._clap_ref

    @property
    def embedding_model_id(self) -> str:
        """Name of the embedding space (the audio-language model's reference)."""
        return self._clap_ref

    @property
    def policy_key(self) -> str:
        """The window settings the embeddings depend on (:func:`policy_key`)."""
        return self._policy_key

    @property
    def reuses_index(self) -> bool:
        """Whether a stored embedding with this :attr:`policy_key` equals a fresh one: always,
        except under ``released-crop``, whose crops depend on the order clips are read."""
        return self._crops is None

    @property
    def dim(self) -> int:
        """Size of the audio/text embeddings."""
        return int(self.audio_model.dim)

    # ------------------------------------------------------------------ embeddings
    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """Embed strings into the audio-text space -> ``(n, dim)`` float32, unit-norm rows.

        Any Python string is accepted: text a command line got as invalid UTF-8 (lone
        surrogates) is cleaned first.
        """
        if isinstance(texts, str):
            texts = [texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        cleaned = clean_texts(texts)
        return self.audio_model.embed_text(cleaned).cpu().numpy().astype(np.float32)

    def embed_audio(self, source: AudioSource) -> np.ndarray:
        """Embed a clip (several windows combined for long files) -> ``(dim,)`` float32.

        Raises:
            AudioDecodeError: The audio is unusable.
        """
        return self.embed_one(source).audio_embedding

    def embed_one(self, source: AudioSource) -> Embedded:
        """Decode and embed one clip.

        Raises:
            AudioDecodeError: The audio is unusable.
        """
        embedded = self.embed_many([self.with_crop(source)], raise_errors=True)[0]
        assert isinstance(embedded, Embedded)
        return embedded

    def keywords(self, audio_embedding: np.ndarray, count: int) -> list[KeywordScore]:
        """The ``count`` vocabulary keywords closest (cosine) to the audio, best first
        (duplicates kept under the released code, as its prompt does)."""
        return select_keywords(
            audio_embedding,
            self.keyword_embeddings,
            self.vocabulary.keywords,
            count,
            allow_duplicates=self._config.released_code,
        )

    def tags(self, audio_embedding: np.ndarray) -> list[KeywordScore]:
        """Tags of a clip: up to :data:`TAG_COUNT` distinct keywords closest to the audio,
        each with a cosine above :data:`TAG_FLOOR`, best first."""
        top = select_keywords(
            audio_embedding, self.keyword_embeddings, self.vocabulary.keywords, TAG_COUNT
        )
        return [k for k in top if k.score > TAG_FLOOR]

    # ------------------------------------------------------------------ released crops
    def advance_crops(self, source: AudioSource) -> None:
        """Account for a clip embedded earlier, so the crops that follow are the same.

        Under the ``released-crop`` window policy every clip longer than the model window
        draws its crop from one seeded stream, in the order clips are read (as the released
        code draws them in dataset order). Does nothing under any other policy.
        """
        self.with_crop(source)

    def with_crop(self, source: AudioSource) -> Item:
        """Pair ``source`` with its released-code crop, drawn now (in the order of calls)."""
        if self._crops is None:
            return source, None
        try:
            frames, rate = source_length(source)
        except CaptionerError:
            return source, None  # the decode reports it; the released code draws nothing
        rate_out = self.audio_model.sample_rate
        window = max(1, round(self.audio_model.window_seconds * rate_out))
        return source, self._crops.draw(model_rate_length(frames, rate, rate_out), window)

    def embed_many(
        self, items: Sequence[Item], *, raise_errors: bool = False
    ) -> list[Embedded | CaptionFailure]:
        """Decode every clip, then embed all their windows together (few audio-model calls);
        a clip that cannot be decoded becomes a CaptionFailure in its place."""
        cfg = self._config
        slots: list[AudioWindows | CaptionFailure] = []
        decode_s: list[float] = []
        for source, crop_start in items:
            t0 = time.perf_counter()
            try:
                slots.append(
                    load_windows(
                        source,
                        target_rate=self.audio_model.sample_rate,
                        window_seconds=self.audio_model.window_seconds,
                        policy=cfg.window_policy,
                        max_windows=cfg.max_windows,
                        seed=cfg.seed,
                        crop_start=crop_start,
                    )
                )
            except CaptionerError as exc:
                if raise_errors:
                    raise
                slots.append(CaptionFailure(_source_path(source), str(exc), type(exc).__name__))
            decode_s.append(time.perf_counter() - t0)
        ready = [w for w in slots if isinstance(w, AudioWindows)]
        t1 = time.perf_counter()
        vectors = iter(embed_clip_windows(self.audio_model, ready, _AUDIO_WINDOWS_PER_CALL))
        embed_share = (time.perf_counter() - t1) / max(1, len(ready))
        out: list[Embedded | CaptionFailure] = []
        for (source, _), slot, seconds in zip(items, slots, decode_s):
            if isinstance(slot, CaptionFailure):
                out.append(slot)
                continue
            out.append(
                Embedded(
                    path=None if isinstance(source, tuple) else os.fspath(source),
                    audio_embedding=next(vectors),
                    policy=slot.policy,
                    duration_s=slot.duration_s,
                    timings={"decode_audio": seconds, "embed_audio": embed_share},
                )
            )
        return out

    def index_many(
        self, sources: Iterable[AudioSource], batch_size: int = 8
    ) -> Iterator[AudioIndex | CaptionFailure]:
        """Index clips lazily, in input order; a bad clip yields a CaptionFailure.

        Up to ``batch_size`` clips are decoded, then their windows go through the audio
        model together; the results are the same as one at a time (up to float rounding).

        Args:
            sources: Paths or ``(samples, sample_rate)`` tuples; consumed lazily.
            batch_size: Clips embedded together.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        pending: list[Item] = []
        for source in sources:
            pending.append(self.with_crop(source))
            if len(pending) == batch_size:
                yield from self._index_batch(pending)
                pending = []
        if pending:
            yield from self._index_batch(pending)

    def _index_batch(self, items: list[Item]) -> Iterator[AudioIndex | CaptionFailure]:
        for slot in self.embed_many(items):
            if isinstance(slot, CaptionFailure):
                yield slot
                continue
            t0 = time.perf_counter()
            tags = self.tags(slot.audio_embedding)
            timings = dict(slot.timings, tags=time.perf_counter() - t0)
            timings["total"] = sum(timings.values())
            yield AudioIndex(
                audio_embedding=slot.audio_embedding,
                tags=tags,
                window_policy=slot.policy,
                policy_key=self._policy_key,
                duration_s=slot.duration_s,
                path=slot.path,
                timings=timings,
            )


def _source_path(source: AudioSource) -> str | None:
    return None if isinstance(source, tuple) else str(Path(os.fspath(source)))
