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
from pathlib import Path

import numpy as np
import torch

from captioner import __version__
from captioner.audio import (
    AudioWindows,
    ReleasedCrops,
    load_windows,
    model_rate_length,
    source_length,
)
from captioner.config import CaptionerConfig
from captioner.decoding import GuidedDecoder
from captioner.embedding import embed_clip_windows
from captioner.errors import CaptionerError
from captioner.llm import CausalLM
from captioner.prompt import build_prompt, select_keywords
from captioner.text import clean_texts
from captioner.types import (
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

# Most windows per audio-model call: bounds memory for long files and big batches.
_AUDIO_WINDOWS_PER_CALL = 16

#: A clip to prepare, with its released-code crop start (None: no crop drawn).
_Item = tuple[AudioSource, int | None]


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
        self.audio_model = audio_model
        self.lm = lm
        self.vocabulary = vocabulary
        self.keyword_embeddings = keyword_embeddings
        self._clap_ref = clap_ref
        self._llm_ref = llm_ref
        self.decoder = GuidedDecoder(lm, audio_model.embed_text, config, lm.end_token_ids())
        self._dtype = str(next(lm.model.parameters()).dtype).replace("torch.", "")
        self._crops = (
            ReleasedCrops(config.seed) if config.window_policy == "released-crop" else None
        )

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
    def clap_ref(self) -> str:
        """Reference of the audio-language model."""
        return self._clap_ref

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
        return int(self.audio_model.dim)

    @property
    def embedding_model_id(self) -> str:
        """Name of the embedding space (the audio-language model's reference)."""
        return self._clap_ref

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
        return self._embed(source)[0]

    def _embed(self, source: AudioSource) -> tuple[np.ndarray, str, float, dict[str, float]]:
        prepared = self._prepare(source)
        return prepared.audio_embedding, prepared.policy, prepared.duration_s, prepared.timings

    def _prepare(self, source: AudioSource) -> _Prepared:
        prepared = self._prepare_many([self._with_crop(source)], raise_errors=True)[0]
        assert isinstance(prepared, _Prepared)
        return prepared

    # ------------------------------------------------------------------ released crops
    def advance_crops(self, source: AudioSource) -> None:
        """Account for a clip captioned earlier, so the crops that follow are the same.

        Under the ``released-crop`` window policy every clip longer than the model window
        draws its crop from one seeded stream, in the order clips are read (as the released
        code draws them in dataset order). A resumed evaluation calls this, in dataset order,
        for each clip it skips. Does nothing under any other policy.
        """
        self._with_crop(source)

    def _with_crop(self, source: AudioSource) -> _Item:
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

    def _prepare_many(
        self, items: Sequence[_Item], *, raise_errors: bool = False
    ) -> list[_Prepared | CaptionFailure]:
        """Decode every clip, embed all their windows together, pick keywords and prompts."""
        cfg = self._config
        slots: list[AudioWindows | CaptionFailure] = []
        decode_s: list[float] = []
        sources = [source for source, _ in items]
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
                path = None if isinstance(source, tuple) else os.fspath(source)
                slots.append(CaptionFailure(_path_str(path), str(exc), type(exc).__name__))
            decode_s.append(time.perf_counter() - t0)
        ready = [w for w in slots if isinstance(w, AudioWindows)]
        t1 = time.perf_counter()
        vectors = embed_clip_windows(self.audio_model, ready, _AUDIO_WINDOWS_PER_CALL)
        embed_share = (time.perf_counter() - t1) / max(1, len(ready))
        out: list[_Prepared | CaptionFailure] = []
        it = iter(vectors)
        for source, slot, seconds in zip(sources, slots, decode_s):
            if isinstance(slot, CaptionFailure):
                out.append(slot)
                continue
            vec = next(it)
            keywords = select_keywords(
                vec,
                self.keyword_embeddings,
                self.vocabulary.keywords,
                cfg.l,
                allow_duplicates=cfg.released_code,
            )
            out.append(
                _Prepared(
                    path=None if isinstance(source, tuple) else os.fspath(source),
                    audio_embedding=vec,
                    keywords=keywords,
                    prompt=build_prompt([k.keyword for k in keywords], released=cfg.released_code),
                    policy=slot.policy,
                    duration_s=slot.duration_s,
                    timings={"decode_audio": seconds, "embed_audio": embed_share},
                )
            )
        return out

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
                clap=self._clap_ref,
                llm=self._llm_ref,
                params=self._config.to_dict(),
                window_policy=it.policy,
                device=self.device,
                dtype=self._dtype,
                vocabulary=self.vocabulary.name,
                version=__version__,
                preset=self._config.preset_name,
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
    ) -> Iterator[Caption | CaptionFailure]:
        """Caption clips lazily, in input order; a bad clip yields a CaptionFailure.

        Up to ``batch_size`` clips are decoded together (one LLM batch and one text-encoder call
        per step for all of them); the captions are the same as one at a time.

        Args:
            sources: Paths or ``(samples, sample_rate)`` tuples; consumed lazily.
            batch_size: Clips decoded together.
            cancel: Checked between steps; True stops with CaptionCancelledError.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        pending: list[_Item] = []
        for source in sources:
            # The crop is drawn as the source is taken, so draws follow the input order even
            # when a caller advances the stream between sources (a resumed evaluation).
            pending.append(self._with_crop(source))
            if len(pending) == batch_size:
                yield from self._run_batch(pending, cancel)
                pending = []
        if pending:
            yield from self._run_batch(pending, cancel)

    def _run_batch(
        self, items: list[_Item], cancel: Callable[[], bool] | None
    ) -> Iterator[Caption | CaptionFailure]:
        slots = self._prepare_many(items)
        ready = [s for s in slots if isinstance(s, _Prepared)]
        captions = iter(self._finish(ready, cancel) if ready else [])
        for slot in slots:
            yield next(captions) if isinstance(slot, _Prepared) else slot


def _path_str(path: str | os.PathLike[str] | None) -> str | None:
    return None if path is None else str(Path(path))
