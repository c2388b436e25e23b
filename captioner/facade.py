"""The ``Captioner``: load the models once, caption many files.

>>> cap = Captioner.load(CaptionerConfig.preset("paper"), device="auto")  # doctest: +SKIP
>>> cap.caption("dog.wav").text  # doctest: +SKIP
'a dog barks and a man speaks.'

A ``Captioner`` is not thread-safe: it belongs to one owner thread (the GUI's caption worker or
the CLI), which makes every call.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from captioner import __version__
from captioner.config import CaptionerConfig
from captioner.decoding import GuidedDecoder
from captioner.indexing import AudioIndexer, Embedded, Item
from captioner.llm import CausalLM
from captioner.prompt import build_prompt
from captioner.types import (
    AudioIndex,
    AudioSource,
    AudioTextModel,
    Caption,
    CaptionFailure,
    KeywordScore,
    Provenance,
)
from captioner.vocabulary import Vocabulary

log = logging.getLogger(__name__)

__all__ = ["Captioner"]


@dataclass
class _Prepared:
    """One clip after audio embedding and keyword selection, waiting for the LLM."""

    path: str | None
    audio_embedding: np.ndarray
    keywords: list[KeywordScore]
    prompt: str
    policy: str
    duration_s: float
    timings: dict[str, float]


class Captioner:
    """ZerAuCap captioner: an audio-language model, a keyword vocabulary and an LLM.

    Build it with :meth:`load`. Not thread-safe: create and use it in one owner thread.

    Args:
        config: Decoding settings.
        audio_model: The audio-language model.
        lm: The language model.
        vocabulary: Keyword vocabulary.
        keyword_embeddings: ``(n_keywords, dim)`` embeddings of the vocabulary.
        clap_ref: Reference of the audio-language model (provenance).
        llm_ref: Reference of the LLM (provenance).
    """

    def __init__(
        self,
        config: CaptionerConfig,
        audio_model: AudioTextModel,
        lm: CausalLM,
        vocabulary: Vocabulary,
        keyword_embeddings: np.ndarray,
        *,
        clap_ref: str,
        llm_ref: str,
    ) -> None:
        self._config = config
        self.lm = lm
        self._llm_ref = llm_ref
        self._audio = AudioIndexer(
            config, audio_model, vocabulary, keyword_embeddings, clap_ref=clap_ref
        )
        self.decoder = GuidedDecoder(lm, audio_model.embed_text, config, lm.end_token_ids())
        self._dtype = str(next(lm.model.parameters()).dtype).replace("torch.", "")

    @classmethod
    def load(
        cls,
        config: CaptionerConfig | None = None,
        *,
        clap: str | None = None,
        llm: str | None = None,
        device: str | torch.device = "auto",
        dtype: str | torch.dtype | None = None,
        vocabulary: str | os.PathLike[str] | Vocabulary | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Captioner:
        """Load both models and the keyword vocabulary (keyword embeddings cached on disk).

        Same as :func:`captioner.loading.load_models`: a model left out is the preset's
        default (``paper`` presets: an imported WavCaps model when there), and the precision
        is the config's ``dtype`` unless ``dtype`` is given.

        Args:
            config: Decoding settings (default: the ``"default"`` preset).
            clap: Audio-language model: local folder or downloaded HF id.
            llm: Causal LM: local folder or downloaded HF id.
            device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"mps"``.
            dtype: Precision, overriding the config's (``auto``: float16 on GPU, float32 on
                CPU).
            vocabulary: Keyword file (.txt/.csv), a :class:`Vocabulary`, or None for AudioSet.
            cache_dir: Hugging Face cache folder to look for models in.

        Raises:
            ModelNotFoundError: A model is not on this computer (message says how to get it).
            ModelLoadError: A model is there but unusable.
            ValueError: The vocabulary file or the dtype is unusable.
        """
        from captioner.loading import load_models

        return load_models(
            config or CaptionerConfig.preset("default"),
            clap=clap,
            llm=llm,
            device=device,
            dtype=dtype,
            vocabulary=vocabulary,
            cache_dir=cache_dir,
        )

    # ------------------------------------------------------------------ properties
    @property
    def config(self) -> CaptionerConfig:
        """The decoding settings."""
        return self._config

    @property
    def audio_model(self) -> AudioTextModel:
        """The audio-language model."""
        return self._audio.audio_model

    @property
    def vocabulary(self) -> Vocabulary:
        """The keyword vocabulary."""
        return self._audio.vocabulary

    @property
    def keyword_embeddings(self) -> np.ndarray:
        """``(n_keywords, dim)`` embeddings of the vocabulary."""
        return self._audio.keyword_embeddings

    @property
    def indexer(self) -> AudioIndexer:
        """An :class:`AudioIndexer` sharing this captioner's audio model and vocabulary.

        It has its own ``released-crop`` stream, so indexing never shifts this captioner's
        crops.
        """
        return AudioIndexer(
            self._config,
            self.audio_model,
            self.vocabulary,
            self.keyword_embeddings,
            clap_ref=self.clap_ref,
        )

    @property
    def policy_key(self) -> str:
        """The window settings the audio embeddings depend on
        (:func:`captioner.indexing.policy_key`); a stored :class:`AudioIndex` with this key
        is what :meth:`caption_many` would compute."""
        return self._audio.policy_key

    @property
    def clap_ref(self) -> str:
        """Reference of the audio-language model."""
        return self._audio.clap_ref

    @property
    def llm_ref(self) -> str:
        """Reference of the language model."""
        return self._llm_ref

    @property
    def device(self) -> str:
        """The torch device the LLM runs on, e.g. ``"cpu"``."""
        return str(self.lm.device)

    @property
    def dtype(self) -> str:
        """The models' precision, e.g. ``"float32"``."""
        return self._dtype

    @property
    def dim(self) -> int:
        """Size of the audio/text embeddings."""
        return self._audio.dim

    @property
    def embedding_model_id(self) -> str:
        """Name of the embedding space (the audio-language model's reference)."""
        return self._audio.embedding_model_id

    # ------------------------------------------------------------------ embeddings
    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """Embed strings into the audio-text space -> ``(n, dim)`` float32, unit-norm rows.

        Any Python string is accepted: text a command line got as invalid UTF-8 (lone
        surrogates) is cleaned first.
        """
        return self._audio.embed_text(texts)

    def embed_audio(self, source: AudioSource) -> np.ndarray:
        """Embed a clip (several windows combined for long files) -> ``(dim,)`` float32.

        Raises:
            AudioDecodeError: The audio is unusable.
        """
        return self._audio.embed_audio(source)

    def index_many(
        self, sources: Iterable[AudioSource], batch_size: int = 8
    ) -> Iterator[AudioIndex | CaptionFailure]:
        """Embeddings and tags without captions: :meth:`AudioIndexer.index_many
        <captioner.indexing.AudioIndexer.index_many>` on this captioner's crop stream."""
        return self._audio.index_many(sources, batch_size)

    def _prepare(self, source: AudioSource) -> _Prepared:
        return self._with_prompt(self._audio.embed_one(source))

    def _with_prompt(self, clip: Embedded) -> _Prepared:
        """Pick the clip's top-``l`` keywords and build its prompt."""
        keywords = self._audio.keywords(clip.audio_embedding, self._config.l)
        return _Prepared(
            path=clip.path,
            audio_embedding=clip.audio_embedding,
            keywords=keywords,
            prompt=build_prompt([k.keyword for k in keywords], released=self._config.released_code),
            policy=clip.policy,
            duration_s=clip.duration_s,
            timings=clip.timings,
        )

    # ------------------------------------------------------------------ released crops
    def advance_crops(self, source: AudioSource) -> None:
        """Account for a clip captioned earlier, so the crops that follow are the same.

        Under the ``released-crop`` window policy every clip longer than the model window
        draws its crop from one seeded stream, in the order clips are read (as the released
        code draws them in dataset order). A resumed evaluation calls this, in dataset order,
        for each clip it skips. Does nothing under any other policy.
        """
        self._audio.advance_crops(source)

    def _finish(self, items: list[_Prepared], cancel: Callable[[], bool] | None) -> list[Caption]:
        t0 = time.perf_counter()
        audio = torch.from_numpy(np.stack([it.audio_embedding for it in items]))
        results = self.decoder.decode(
            [it.prompt for it in items], audio.to(self.lm.device), cancel=cancel
        )
        # Batched clips share one decoding loop; each is charged an equal share of it.
        share = (time.perf_counter() - t0) / len(items)
        captions = []
        for it, res in zip(items, results):
            timings = dict(it.timings)
            timings["generate"] = share
            timings["total"] = sum(timings.values())
            provenance = Provenance(
                clap=self.clap_ref,
                llm=self._llm_ref,
                params=self._config.to_dict(),
                window_policy=it.policy,
                device=self.device,
                dtype=self._dtype,
                vocabulary=self.vocabulary.name,
                version=__version__,
                preset=self._config.preset_name,
                policy_key=self.policy_key,
            )
            log.debug(
                "%s: %d tokens, %d decided early, stop=%s",
                it.path,
                res.steps,
                res.early_decisions,
                res.stop_reason,
            )
            captions.append(
                Caption(
                    text=res.text,
                    keywords=it.keywords,
                    prompt=it.prompt,
                    audio_embedding=it.audio_embedding,
                    provenance=provenance,
                    timings=timings,
                    path=it.path,
                    duration_s=it.duration_s,
                )
            )
        return captions

    def caption(self, source: AudioSource, *, cancel: Callable[[], bool] | None = None) -> Caption:
        """Caption one clip (a path, or ``(samples, sample_rate)``).

        Args:
            source: The audio.
            cancel: Checked between decoding steps; True stops with CaptionCancelledError.

        Raises:
            AudioDecodeError: The audio is unusable.
            CaptionCancelledError: ``cancel`` asked to stop.
        """
        return self._finish([self._prepare(source)], cancel)[0]

    def caption_many(
        self,
        sources: Iterable[AudioSource],
        batch_size: int = 1,
        *,
        cancel: Callable[[], bool] | None = None,
        indexed: Iterable[AudioIndex | None] | None = None,
    ) -> Iterator[Caption | CaptionFailure]:
        """Caption clips lazily, in input order; a bad clip yields a CaptionFailure.

        Up to ``batch_size`` clips are decoded together (one LLM batch and one text-encoder call
        per step for all of them); the captions are the same as one at a time.

        A clip given a stored :class:`AudioIndex` (``indexed``, one entry per source, ``None``
        where there is none) is neither decoded nor embedded: its keywords and prompt are
        chosen again from the stored embedding, exactly as from a fresh one, so the caption
        is the same. Only an index with this captioner's :attr:`policy_key` is used, and none
        under ``released-crop`` (its crops depend on the order clips are read).

        Args:
            sources: Paths or ``(samples, sample_rate)`` tuples; consumed lazily.
            batch_size: Clips decoded together.
            cancel: Checked between steps; True stops with CaptionCancelledError.
            indexed: Stored index results, in the order of ``sources``.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        stored = iter(indexed) if indexed is not None else None
        pending: list[tuple[Item, AudioIndex | None]] = []
        for source in sources:
            index = next(stored, None) if stored is not None else None
            if index is not None and not self._reusable(index):
                index = None
            # The crop is drawn as the source is taken, so draws follow the input order even
            # when a caller advances the stream between sources (a resumed evaluation).
            pending.append((self._audio.with_crop(source), index))
            if len(pending) == batch_size:
                yield from self._run_batch(pending, cancel)
                pending = []
        if pending:
            yield from self._run_batch(pending, cancel)

    def _reusable(self, index: AudioIndex) -> bool:
        return (
            self._audio.reuses_index
            and index.policy_key == self.policy_key
            and index.audio_embedding.shape == (self.dim,)
        )

    def _run_batch(
        self, items: list[tuple[Item, AudioIndex | None]], cancel: Callable[[], bool] | None
    ) -> Iterator[Caption | CaptionFailure]:
        fresh = iter(self._audio.embed_many([item for item, index in items if index is None]))
        embedded = [
            _from_index(item[0], index) if index is not None else next(fresh)
            for item, index in items
        ]
        slots = [self._with_prompt(e) if isinstance(e, Embedded) else e for e in embedded]
        ready = [s for s in slots if isinstance(s, _Prepared)]
        captions = iter(self._finish(ready, cancel) if ready else [])
        for slot in slots:
            yield next(captions) if isinstance(slot, _Prepared) else slot


def _from_index(source: AudioSource, index: AudioIndex) -> Embedded:
    """A stored index result in place of decoding and embedding ``source`` again."""
    return Embedded(
        path=None if isinstance(source, tuple) else os.fspath(source),
        audio_embedding=np.asarray(index.audio_embedding, dtype=np.float32),
        policy=index.window_policy,
        duration_s=index.duration_s or 0.0,
        timings={"decode_audio": 0.0, "embed_audio": 0.0},
    )
