"""One way from a preset name (plus what the user chose) to a loaded :class:`Captioner`.

The CLI (``desktop/commands/_common.load_captioner``), the GUI's caption worker and the
evaluation harness all go through here, so a preset means the same models, precision and
settings everywhere:

>>> plan = plan_load("paper", overrides={"beta": "0.2"})  # cheap: no torch  # doctest: +SKIP
>>> plan.clap, plan.config.dtype  # doctest: +SKIP
('.../models/wavcaps-htsat-bert', 'float32')
>>> captioner = plan.load()  # doctest: +SKIP

:func:`plan_load` imports nothing heavy, so a caller can check that the models are on this
computer (``captioner.models.resolve``) before torch is imported; :meth:`LoadPlan.load` and
:func:`load_captioner` load the models.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from captioner.config import DTYPES, CaptionerConfig
from captioner.models import DEFAULT_LLM, default_clap_for_preset

if TYPE_CHECKING:  # pragma: no cover - keep this module free of torch
    import torch

    from captioner.facade import Captioner
    from captioner.indexing import AudioIndexer
    from captioner.vocabulary import Vocabulary

log = logging.getLogger(__name__)

__all__ = [
    "LoadPlan",
    "load_captioner",
    "load_indexer",
    "load_models",
    "normalise_dtype",
    "plan_load",
]

_DTYPE_ALIASES = {"fp32": "float32", "fp16": "float16", "half": "float16", "bf16": "bfloat16"}


def normalise_dtype(dtype: str) -> str:
    """Return the canonical name of a precision (``"fp16"`` -> ``"float16"``).

    Raises:
        ValueError: Not one of :data:`captioner.config.DTYPES` or their short forms.
    """
    name = _DTYPE_ALIASES.get(dtype.strip().lower(), dtype.strip().lower())
    if name not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}; use one of {', '.join(DTYPES)}")
    return name


@dataclass(frozen=True)
class LoadPlan:
    """What will be loaded: settings, models, device and vocabulary, with preset defaults applied.

    Attributes:
        preset: The preset name.
        config: The settings: the preset's, then the overrides, then the chosen dtype.
        clap: Audio-language model reference (the preset's default unless one was chosen).
        llm: Language model reference.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"``.
        vocabulary: Keyword file, or None for AudioSet.
    """

    preset: str
    config: CaptionerConfig
    clap: str
    llm: str
    device: str
    vocabulary: str | None

    @property
    def model_refs(self) -> tuple[str, str]:
        """``(clap, llm)``: the references to check with ``captioner.models.resolve``."""
        return self.clap, self.llm

    def load(self, *, cache_dir: str | os.PathLike[str] | None = None) -> Captioner:
        """Load the models (imports torch).

        Raises:
            ModelNotFoundError: A model is not on this computer.
            ModelLoadError: A model is there but unusable.
            ValueError: The vocabulary file is unusable.
        """
        return load_models(
            self.config,
            clap=self.clap,
            llm=self.llm,
            device=self.device,
            vocabulary=self.vocabulary,
            cache_dir=cache_dir,
        )

    def load_indexer(self, *, cache_dir: str | os.PathLike[str] | None = None) -> AudioIndexer:
        """Load the audio-language model and the vocabulary only (imports torch): the
        language model is never looked at, so this works without it on this computer.

        Raises:
            ModelNotFoundError: The audio-language model is not on this computer.
            ModelLoadError: It is there but unusable.
            ValueError: The vocabulary file is unusable.
        """
        return load_indexer(
            self.config,
            clap=self.clap,
            device=self.device,
            vocabulary=self.vocabulary,
            cache_dir=cache_dir,
        )


def plan_load(
    preset: str = "default",
    *,
    clap: str | None = None,
    llm: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
    vocabulary: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> LoadPlan:
    """Apply a preset's default models and precision to what the user chose. Cheap: no torch.

    Args:
        preset: ``"default"``, ``"paper"`` or ``"paper-released"``.
        clap: Audio-language model; None or empty for the preset's (``paper`` presets: the
            imported WavCaps model when there, else LAION CLAP).
        llm: Language model; None or empty for OPT-1.3B.
        device: None or empty for ``"auto"``.
        dtype: Precision; None or empty for the preset's (``float32`` for the ``paper``
            presets, ``auto`` otherwise). Wins over a ``dtype`` in ``overrides``.
        vocabulary: Keyword file; None or empty for AudioSet.
        overrides: Setting name to value, strings parsed (``{"beta": "0.2"}``).

    Raises:
        ValueError: An unknown preset, setting or dtype, or a value out of range (the message
            names it).
    """
    config = CaptionerConfig.preset(preset or "default")
    if overrides:
        config = config.with_overrides(overrides)
    if dtype:
        config = dataclasses.replace(config, dtype=normalise_dtype(dtype))
    return LoadPlan(
        preset=config.preset_name,
        config=config,
        clap=clap or default_clap_for_preset(config.preset_name),
        llm=llm or DEFAULT_LLM,
        device=device or "auto",
        vocabulary=os.fspath(vocabulary) if vocabulary else None,
    )


def load_captioner(
    preset: str = "default",
    *,
    clap: str | None = None,
    llm: str | None = None,
    device: str | None = None,
    dtype: str | None = None,
    vocabulary: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Captioner:
    """:func:`plan_load`, then load it: the one loader of the CLI, the GUI and evaluation.

    Raises:
        ValueError: Bad preset, setting, dtype or vocabulary.
        ModelNotFoundError: A model is not on this computer (the message says how to get it).
        ModelLoadError: A model is there but unusable.
    """
    plan = plan_load(
        preset,
        clap=clap,
        llm=llm,
        device=device,
        dtype=dtype,
        vocabulary=vocabulary,
        overrides=overrides,
    )
    return plan.load(cache_dir=cache_dir)


def load_models(
    config: CaptionerConfig,
    *,
    clap: str | None = None,
    llm: str | None = None,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype | None = None,
    vocabulary: str | os.PathLike[str] | Vocabulary | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Captioner:
    """Load both models and the keyword vocabulary for ``config`` (``Captioner.load``).

    Args:
        config: Decoding settings; its ``dtype`` is the precision unless ``dtype`` is given.
        clap: Audio-language model; None for the config's preset default.
        llm: Causal LM; None for OPT-1.3B.
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"mps"``.
        dtype: Precision overriding the config's.
        vocabulary: Keyword file (.txt/.csv), a :class:`Vocabulary`, or None for AudioSet.
        cache_dir: Hugging Face cache folder to look for models in.

    Raises:
        ModelNotFoundError: A model is not on this computer (message says how to get it).
        ModelLoadError: A model is there but unusable.
        ValueError: The vocabulary file or the dtype is unusable.
    """
    from captioner.facade import Captioner
    from captioner.llm import CausalLM
    from captioner.models import resolve

    cfg, dev, dt = _settings(config, device, dtype)
    llm_ref = llm or DEFAULT_LLM
    t0 = time.perf_counter()
    # Fail fast before the slow loads.
    llm_path = resolve(llm_ref, cache_dir=os.fspath(cache_dir) if cache_dir is not None else None)
    audio = _load_audio(cfg, clap, dev, dt, vocabulary, cache_dir)
    lm = CausalLM.load(llm_path, ref=llm_ref, device=dev, dtype=dt)
    log.info("captioner loaded in %.1f s on %s (%s)", time.perf_counter() - t0, dev, dt)
    return Captioner(
        cfg,
        audio.audio_model,
        lm,
        audio.vocabulary,
        audio.keyword_embeddings,
        clap_ref=audio.clap_ref,
        llm_ref=llm_ref,
    )


def load_indexer(
    config: CaptionerConfig,
    *,
    clap: str | None = None,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype | None = None,
    vocabulary: str | os.PathLike[str] | Vocabulary | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> AudioIndexer:
    """Load the audio-language model and the keyword vocabulary for ``config``: what
    :func:`load_models` loads, less the language model (never resolved or read).

    Arguments and errors as :func:`load_models` (without ``llm``).
    """
    cfg, dev, dt = _settings(config, device, dtype)
    t0 = time.perf_counter()
    indexer = _load_audio(cfg, clap, dev, dt, vocabulary, cache_dir)
    log.info("indexer loaded in %.1f s on %s (%s)", time.perf_counter() - t0, dev, dt)
    return indexer


def _settings(
    config: CaptionerConfig, device: str | torch.device, dtype: str | torch.dtype | None
) -> tuple[CaptionerConfig, torch.device, torch.dtype]:
    """The config with the chosen precision, and the device and torch dtype to load on."""
    import torch

    from captioner.devices import pick_device, pick_dtype

    cfg = config
    if isinstance(dtype, torch.dtype):
        cfg = dataclasses.replace(cfg, dtype=normalise_dtype(str(dtype).replace("torch.", "")))
    elif dtype:
        cfg = dataclasses.replace(cfg, dtype=normalise_dtype(dtype))
    dev = pick_device(device)
    return cfg, dev, pick_dtype(dev, None if cfg.dtype == "auto" else cfg.dtype)


def _load_audio(
    cfg: CaptionerConfig,
    clap: str | None,
    dev: torch.device,
    dt: torch.dtype,
    vocabulary: str | os.PathLike[str] | Vocabulary | None,
    cache_dir: str | os.PathLike[str] | None,
) -> AudioIndexer:
    """Load the audio-language model (int8 text encoder when asked) and the vocabulary with
    its keyword embeddings (cached on disk)."""
    from captioner.backends import load_audio_text_model
    from captioner.indexing import AudioIndexer
    from captioner.models import data_dir
    from captioner.vocabulary import Vocabulary, cached_keyword_embeddings, load_vocabulary

    clap_ref = clap or default_clap_for_preset(cfg.preset_name)
    hf_cache = os.fspath(cache_dir) if cache_dir is not None else None
    audio_model = load_audio_text_model(clap_ref, device=dev, dtype=dt, cache_dir=hf_cache)
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
    return AudioIndexer(cfg, audio_model, vocab, keyword_emb, clap_ref=clap_ref)
