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
from captioner.audio import AudioWindows, load_windows
from captioner.backends import load_audio_text_model
from captioner.config import CaptionerConfig
from captioner.decoding import GuidedDecoder
from captioner.devices import pick_device, pick_dtype
from captioner.errors import CaptionerError
from captioner.llm import CausalLM
from captioner.models import DEFAULT_CLAP, DEFAULT_LLM, data_dir, resolve
from captioner.prompt import build_prompt, select_keywords
from captioner.types import (
    AudioSource,
    AudioTextModel,
    Caption,
    CaptionFailure,
    KeywordScore,
    Provenance,
)
from captioner.vocabulary import Vocabulary, cached_keyword_embeddings, load_vocabulary

log = logging.getLogger(__name__)

__all__ = ["Captioner"]

# Most windows per audio-model call: bounds memory for long files and big batches.
_AUDIO_WINDOWS_PER_CALL = 16


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

    @classmethod
    def load(
        cls,
        config: CaptionerConfig | None = None,
        *,
        clap: str = DEFAULT_CLAP,
        llm: str = DEFAULT_LLM,
        device: str | torch.device = "auto",
        dtype: str | torch.dtype | None = None,
        vocabulary: str | os.PathLike[str] | Vocabulary | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> Captioner:
        """Load both models and the keyword vocabulary (keyword embeddings cached on disk).

        Args:
            config: Decoding settings (default: the ``"default"`` preset).
            clap: Audio-language model: local folder or downloaded HF id.
            llm: Causal LM: local folder or downloaded HF id.
            device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"mps"``.
            dtype: Precision; default float16 on GPU, float32 on CPU.
            vocabulary: Keyword file (.txt/.csv), a :class:`Vocabulary`, or None for AudioSet.
            cache_dir: Hugging Face cache folder to look for models in.

        Raises:
            ModelNotFoundError: A model is not on this computer (message says how to get it).
            ModelLoadError: A model is there but unusable.
            ValueError: The vocabulary file is unusable.
        """
        cfg = config or CaptionerConfig.preset("default")
        dev = pick_device(device)
        dt = pick_dtype(dev, dtype)
        hf_cache = os.fspath(cache_dir) if cache_dir is not None else None
        t0 = time.perf_counter()
        llm_path = resolve(llm, cache_dir=hf_cache)  # fail fast before the slow loads
        audio_model = load_audio_text_model(clap, device=dev, dtype=dt, cache_dir=hf_cache)
        lm = CausalLM.load(llm_path, ref=llm, device=dev, dtype=dt)
        if cfg.text_int8:
            quantize = getattr(audio_model, "quantize_text_int8", None)
            if dev.type != "cpu" or quantize is None:
                log.warning("text_int8 ignored: only for transformers CLAP models on CPU")
            else:
                quantize()
        vocab = vocabulary if isinstance(vocabulary, Vocabulary) else load_vocabulary(vocabulary)
        model_key = getattr(audio_model, "fingerprint", audio_model.model_id)
        keyword_emb = cached_keyword_embeddings(
            vocab,
            str(model_key),
            lambda texts: audio_model.embed_text(texts).cpu().numpy(),
            data_dir() / "cache" / "keyword-embeddings",
        )
        log.info("captioner loaded in %.1f s on %s (%s)", time.perf_counter() - t0, dev, dt)
        return cls(cfg, audio_model, lm, vocab, keyword_emb, clap_ref=clap, llm_ref=llm)

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
    def dim(self) -> int:
        """Size of the audio/text embeddings."""
        return int(self.audio_model.dim)

    @property
    def embedding_model_id(self) -> str:
        """Name of the embedding space (the audio-language model's reference)."""
        return self._clap_ref

    # ------------------------------------------------------------------ embeddings
    def embed_text(self, texts: Sequence[str]) -> np.ndarray:
        """Embed strings into the audio-text space -> ``(n, dim)`` float32, unit-norm rows."""
        if isinstance(texts, str):
            texts = [texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.audio_model.embed_text(list(texts)).cpu().numpy().astype(np.float32)

    def embed_audio(self, source: AudioSource) -> np.ndarray:
        """Embed a clip (several windows combined for long files) -> ``(dim,)`` float32.

        Raises:
            AudioDecodeError: The audio is unusable.
        """
        return self._embed(source)[0]

    def _embed(self, source: AudioSource) -> tuple[np.ndarray, str, float, dict[str, float]]:
        prepared = self._prepare_many([source], raise_errors=True)[0]
        assert isinstance(prepared, _Prepared)
        return prepared.audio_embedding, prepared.policy, prepared.duration_s, prepared.timings

    def _prepare(self, source: AudioSource) -> _Prepared:
        prepared = self._prepare_many([source], raise_errors=True)[0]
        assert isinstance(prepared, _Prepared)
        return prepared

    def _prepare_many(
        self, sources: Sequence[AudioSource], *, raise_errors: bool = False
    ) -> list[_Prepared | CaptionFailure]:
        """Decode every clip, embed all their windows together, pick keywords and prompts."""
        cfg = self._config
        slots: list[AudioWindows | CaptionFailure] = []
        decode_s: list[float] = []
        for source in sources:
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
        vectors = self._embed_windows(ready)
        embed_share = (time.perf_counter() - t1) / max(1, len(ready))
        out: list[_Prepared | CaptionFailure] = []
        it = iter(vectors)
        for source, slot, seconds in zip(sources, slots, decode_s):
            if isinstance(slot, CaptionFailure):
                out.append(slot)
                continue
            vec = next(it)
            keywords = select_keywords(
                vec, self.keyword_embeddings, self.vocabulary.keywords, cfg.l
            )
            out.append(
                _Prepared(
                    path=None if isinstance(source, tuple) else os.fspath(source),
                    audio_embedding=vec,
                    keywords=keywords,
                    prompt=build_prompt([k.keyword for k in keywords]),
                    policy=slot.policy,
                    duration_s=slot.duration_s,
                    timings={"decode_audio": seconds, "embed_audio": embed_share},
                )
            )
        return out

    def _embed_windows(self, clips: list[AudioWindows]) -> list[np.ndarray]:
        """One clip vector per clip: the re-normalised mean of its unit window embeddings.

        The windows of all clips go through the audio model together (in chunks), so a batch
        of clips costs one audio forward on a GPU instead of one per clip.
        """
        if not clips:
            return []
        counts = [c.windows.shape[0] for c in clips]
        chunk = max(1, _AUDIO_WINDOWS_PER_CALL)
        parts = []
        for clip in clips:
            for i in range(0, clip.windows.shape[0], chunk):
                parts.append(torch.from_numpy(clip.windows[i : i + chunk]))
        # Group consecutive window blocks into calls of at most ``chunk`` windows.
        embeddings: list[torch.Tensor] = []
        group: list[torch.Tensor] = []
        size = 0
        for part in parts:
            if group and size + part.shape[0] > chunk:
                embeddings.append(self.audio_model.embed_audio(torch.cat(group)).float().cpu())
                group, size = [], 0
            group.append(part)
            size += part.shape[0]
        if group:
            embeddings.append(self.audio_model.embed_audio(torch.cat(group)).float().cpu())
        flat = torch.cat(embeddings)
        vectors = []
        for block in torch.split(flat, counts):
            # Mean of unit window embeddings, re-normalised: every window counts the same.
            vec = torch.nn.functional.normalize(block.mean(dim=0), dim=0)
            vectors.append(vec.numpy().astype(np.float32))
        return vectors

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
        pending: list[AudioSource] = []
        for source in sources:
            pending.append(source)
            if len(pending) == batch_size:
                yield from self._run_batch(pending, cancel)
                pending = []
        if pending:
            yield from self._run_batch(pending, cancel)

    def _run_batch(
        self, sources: list[AudioSource], cancel: Callable[[], bool] | None
    ) -> Iterator[Caption | CaptionFailure]:
        slots = self._prepare_many(sources)
        ready = [s for s in slots if isinstance(s, _Prepared)]
        captions = iter(self._finish(ready, cancel) if ready else [])
        for slot in slots:
            yield next(captions) if isinstance(slot, _Prepared) else slot


def _path_str(path: str | os.PathLike[str] | None) -> str | None:
    return None if path is None else str(Path(path))
