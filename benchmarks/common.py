"""Shared helpers of the benchmark scripts: machine facts, timers, peak memory, JSON, and
full-size random-weight models built offline from the real architectures' configs.

Nothing here downloads: the configs below are copied from the published checkpoints
(``facebook/opt-1.3b``; ``laion/larger_clap_general``, HTSAT-base audio + RoBERTa-base text), the
weights are random, and the tokenizer is a GPT-2-style byte-level BPE trained here on a generated
corpus up to the real 50,265-entry size (real English sound words plus pseudo-words to fill).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import random
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks import timing
from benchmarks.timing import load_average
from captioner.backends.clap import ClapBackend
from captioner.llm import CausalLM
from captioner.vocabulary import Vocabulary, load_vocabulary

log = logging.getLogger(__name__)

__all__ = [
    "CLAP_LARGER_GENERAL",
    "OPT_1_3B",
    "BenchModels",
    "Timer",
    "build_bpe_tokenizer",
    "build_clap",
    "build_full_models",
    "build_opt",
    "interleaved",
    "load_average",
    "load_tiny_models",
    "machine_info",
    "make_clips",
    "one_token_vocabulary",
    "peak_memory",
    "reset_peak_memory",
    "sync",
    "time_repeats",
    "write_json",
]

#: ``facebook/opt-1.3b`` config.json values (architecture only).
OPT_1_3B: dict[str, Any] = {
    "vocab_size": 50272,
    "hidden_size": 2048,
    "num_hidden_layers": 24,
    "ffn_dim": 8192,
    "num_attention_heads": 32,
    "max_position_embeddings": 2048,
    "word_embed_proj_dim": 2048,
    "do_layer_norm_before": True,
    "activation_function": "relu",
    "enable_bias": True,
    "layer_norm_elementwise_affine": True,
    "dropout": 0.1,
    "attention_dropout": 0.0,
    "pad_token_id": 1,
    "bos_token_id": 2,
    "eos_token_id": 2,
}

#: ``laion/larger_clap_general``: HTSAT-base audio tower (embed 128, depths 2-2-12-2, heads
#: 4-8-16-32, window 8, 256x256 spectrogram image of 64 mels), RoBERTa-base text tower, 512-d
#: projection, no fusion.
CLAP_LARGER_GENERAL: dict[str, Any] = {
    "projection_dim": 512,
    "text_config": {
        "vocab_size": 50265,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
        "max_position_embeddings": 514,
        "type_vocab_size": 1,
        "pad_token_id": 1,
        "bos_token_id": 0,
        "eos_token_id": 2,
    },
    "audio_config": {
        "window_size": 8,
        "num_mel_bins": 64,
        "spec_size": 256,
        "patch_size": 4,
        "patch_stride": [4, 4],
        "hidden_size": 1024,
        "patch_embeds_hidden_size": 128,
        "depths": [2, 2, 12, 2],
        "num_attention_heads": [4, 8, 16, 32],
        "enable_fusion": False,
        "num_classes": 527,
    },
}

# Words that captions and prompts are made of: they become whole tokens, as in GPT-2.
_CAPTION_TEXT = """
Objects This
a an the and of is in on with while then as by at to from some two people someone
dog dogs barks barking cat meows bird birds chirp chirping sing singing man men woman women
child children speaks speaking talk talking laughs laughing crowd cheers cheering applause
car cars engine engines idle idling revs accelerates passes passing vehicle truck bus train
horn honks siren wails rain falls falling water flows flowing splash drips dripping
wind blows blowing thunder rumbles storm door slams closes opens footsteps walk walking run
music plays playing guitar piano drum drums beat loud quietly softly distance background
machine motor hums humming buzz buzzing beep beeps alarm rings ringing phone bell clock ticks
typing keyboard clicks clicking paper rustles rustling leaves fire crackles crackling glass
breaks metal clanks hammer knocks knocking tap taps whistle whistles baby cries crying cough
sound sounds this objects followed by nearby heavy light small large high low repeatedly
"""
_CAPTION_WORDS = _CAPTION_TEXT.split()


def machine_info(device: torch.device) -> dict[str, Any]:
    """:func:`benchmarks.timing.machine_info` plus torch threads, versions and the GPU."""
    import transformers

    info = timing.machine_info()
    info.update(
        {
            "torch_threads": torch.get_num_threads(),
            "torch_version": torch.__version__,
            "transformers_version": transformers.__version__,
            "device": str(device),
        }
    )
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info["gpu"] = props.name
        info["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
        info["cuda_version"] = torch.version.cuda
    return info


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so a timer measures it (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak_memory(device: torch.device) -> None:
    """Restart peak tracking: CUDA max allocated, and the process peak RSS (Linux)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    # Writing 5 to clear_refs resets VmHWM (peak RSS) of this process.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_memory(device: torch.device) -> dict[str, float]:
    """Peak RSS (GiB) since the last reset, plus CUDA max allocated (GiB) on GPU."""
    out: dict[str, float] = {}
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                out["peak_rss_gib"] = round(int(line.split()[1]) / 2**20, 3)
    if "peak_rss_gib" not in out:
        import resource

        # ru_maxrss is KiB on Linux; it cannot be reset, so it is the whole run's peak.
        out["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)
    if device.type == "cuda":
        out["cuda_max_allocated_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 3)
    return out


class Timer:
    """Wall-clock seconds of a block, with the GPU synchronised at both ends."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds = 0.0

    def __enter__(self) -> Timer:
        sync(self.device)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        sync(self.device)
        self.seconds = time.perf_counter() - self._t0


def time_repeats(
    fn: Callable[[], object],
    device: torch.device,
    repeats: int,
    *,
    warmup: int = 1,
    setup: Callable[[], object] | None = None,
) -> dict[str, Any]:
    """Time ``fn`` ``repeats`` times after ``warmup`` untimed runs; ``setup`` runs untimed first.

    Returns:
        ``median_s``, ``min_s`` and every sample in ``samples_s``.
    """
    samples: list[float] = []
    for i in range(warmup + repeats):
        if setup is not None:
            setup()
        with Timer(device) as timer:
            fn()
        if i >= warmup:
            samples.append(timer.seconds)
    return {
        "median_s": statistics.median(samples),
        "min_s": min(samples),
        "samples_s": [round(s, 5) for s in samples],
    }


def interleaved(
    tasks: dict[str, tuple[Callable[[], object], Callable[[], object] | None]],
    device: torch.device,
    repeats: int,
    *,
    warmup: int = 1,
) -> dict[str, list[float]]:
    """Time several tasks in rounds (A B C, A B C, ...), each ``(fn, setup)``; setup is untimed.

    On a shared machine the load changes by the second; timing the things to be compared back
    to back in every round makes their per-round ratios robust to it.

    Returns:
        Per task name, the ``repeats`` timed samples (after ``warmup`` untimed rounds).
    """
    samples: dict[str, list[float]] = {name: [] for name in tasks}
    for i in range(warmup + repeats):
        for name, (fn, setup) in tasks.items():
            if setup is not None:
                setup()
            with Timer(device) as timer:
                fn()
            if i >= warmup:
                samples[name].append(timer.seconds)
    return samples


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON (parents created), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    tmp.replace(path)


# ----------------------------------------------------------------------------- models
def _pseudo_words(n: int, seed: int) -> Iterator[str]:
    """Pronounceable made-up words (2-4 syllables), so BPE can fill a 50k vocabulary."""
    rng = random.Random(seed)
    onsets = ["", "b", "br", "c", "ch", "d", "f", "g", "gr", "h", "k", "l", "m", "n", "p",
              "pl", "r", "s", "sh", "st", "t", "tr", "v", "w", "z"]  # fmt: skip
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ou", "y"]
    codas = ["", "", "n", "r", "s", "t", "l", "m", "ck", "ng", "st"]
    for _ in range(n):
        yield "".join(
            rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas)
            for _ in range(rng.randint(2, 4))
        )


def build_bpe_tokenizer(vocab_size: int = 50265, *, extra_words: Sequence[str] = ()) -> Any:
    """Train a GPT-2-style byte-level BPE of ``vocab_size`` entries on a generated corpus.

    The special tokens sit where OPT and RoBERTa keep them (``<s>`` 0, ``<pad>`` 1, ``</s>`` 2,
    ``<unk>`` 3); real sound words are frequent, so they end up as single tokens with a leading
    space like in GPT-2; pseudo-words fill the rest of the vocabulary. ``"."``, ``" !"`` and
    ``" ?"`` are single tokens (the end tokens).

    Returns:
        A ``tokenizers.Tokenizer`` (no post-processor).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    words = list(_CAPTION_WORDS) + [w for kw in extra_words for w in kw.split()]
    corpus = [" ".join(words)] * 50
    corpus += ["a dog barks . wow ! what ? yes ! no ? stop ! why ?"] * 50
    pseudo = list(_pseudo_words(120_000, seed=4182))
    corpus += [" ".join(pseudo[i : i + 50]) for i in range(0, len(pseudo), 50)]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    for piece in (".", "Ġ!", "Ġ?"):
        if tok.token_to_id(piece) is None:
            raise RuntimeError(f"benchmark tokenizer lacks the end token {piece!r}")
    return tok


def build_opt(
    bpe: Any, *, device: torch.device, dtype: torch.dtype, config: dict[str, Any] | None = None
) -> tuple[Any, Any]:
    """OPT causal LM (default: the opt-1.3b architecture) with random weights and its tokenizer.

    Returns:
        ``(model, tokenizer)``: the model in eval mode on ``device``; a fast tokenizer that
        prepends ``</s>`` like OPT's.
    """
    import copy

    from tokenizers import processors
    from transformers import OPTConfig, OPTForCausalLM, PreTrainedTokenizerFast

    tok = copy.deepcopy(bpe)
    tok.post_processor = processors.TemplateProcessing(
        single="</s> $A", pair="</s> $A </s> $B", special_tokens=[("</s>", 2)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="</s>", eos_token="</s>", unk_token="<unk>",
        pad_token="<pad>",
    )  # fmt: skip
    values = dict(OPT_1_3B if config is None else config)
    if device.type == "cuda":
        values["attn_implementation"] = "sdpa"
    torch.manual_seed(0)
    model = OPTForCausalLM(OPTConfig(**values)).to(device=device, dtype=dtype).eval()  # type: ignore[call-arg]
    return model, tokenizer


def build_clap(
    bpe: Any, *, device: torch.device, dtype: torch.dtype, config: dict[str, Any] | None = None
) -> tuple[Any, Any, Any]:
    """CLAP model (default: the larger_clap_general architecture) with random weights.

    Returns:
        ``(model, tokenizer, feature_extractor)``; the tokenizer is RoBERTa-style (``<s> .. </s>``,
        ``<mask>`` appended) and the feature extractor has LAION's defaults (48 kHz, 10 s,
        64 mels) with ``rand_trunc`` truncation.
    """
    import copy

    from tokenizers import AddedToken, processors
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, PreTrainedTokenizerFast

    tok = copy.deepcopy(bpe)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, special=True)])
    tok.post_processor = processors.RobertaProcessing(
        ("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=False
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>",
        cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
        model_max_length=512,
    )  # fmt: skip
    values = copy.deepcopy(CLAP_LARGER_GENERAL if config is None else config)
    torch.manual_seed(1)
    model = ClapModel(ClapConfig(**values)).to(device=device, dtype=dtype).eval()  # type: ignore[call-arg]
    extractor = ClapFeatureExtractor(truncation="rand_trunc", padding="repeatpad")
    return model, tokenizer, extractor


@dataclasses.dataclass
class BenchModels:
    """The models under test, wrapped in the engine's own classes."""

    lm: CausalLM
    clap: ClapBackend
    synthetic: dict[str, Any]


def build_full_models(device: torch.device, dtype: torch.dtype) -> BenchModels:
    """Full-size random-weight OPT-1.3B and larger_clap_general with a 50k BPE tokenizer."""
    t0 = time.perf_counter()
    bpe = build_bpe_tokenizer(extra_words=load_vocabulary(None).keywords)
    model, tokenizer = build_opt(bpe, device=device, dtype=dtype)
    clap_model, clap_tok, extractor = build_clap(bpe, device=device, dtype=dtype)
    lm = CausalLM(model, tokenizer, "facebook/opt-1.3b (architecture, random weights)")
    clap = ClapBackend(
        clap_model,
        clap_tok,
        extractor,
        model_id="laion/larger_clap_general (architecture, random weights)",
        fingerprint="random-seed-1",
    )
    log.info("full-size models built in %.1f s", time.perf_counter() - t0)
    return BenchModels(
        lm,
        clap,
        {
            "weights": "random (torch seeds 0 and 1); compute identical to the real checkpoints",
            "llm_config": "facebook/opt-1.3b config values (hidden 2048, 24 layers, 32 heads, "
            "ffn 8192, vocab 50272, 2048 positions)",
            "clap_config": "laion/larger_clap_general: HTSAT-base audio (embed 128, depths "
            "2-2-12-2, heads 4-8-16-32, window 8, 64 mels, 256 spec) + RoBERTa-base text "
            "(768, 12 layers, vocab 50265), projection 512, unfused",
            "tokenizer": f"GPT-2-style byte-level BPE with {len(tokenizer)} entries trained "
            "offline on English sound words + pseudo-words (real tokenizers not downloadable); "
            "the same BPE serves OPT and RoBERTa, as the real ones share GPT-2's",
            "audio": "10 s of seeded white noise at 48 kHz per clip",
            "llm_parameters": sum(p.numel() for p in model.parameters()),
            "clap_parameters": sum(p.numel() for p in clap_model.parameters()),
            "attention": str(model.config._attn_implementation),
        },
    )


def load_tiny_models(folder: Path, device: torch.device) -> BenchModels:
    """The test suite's tiny models (``clap/`` and ``llm/``), for smoke runs."""
    lm = CausalLM.load(folder / "llm", ref="tiny-llm", device=device, dtype=torch.float32)
    clap = ClapBackend.load(folder / "clap", ref="tiny-clap", device=device, dtype=torch.float32)
    return BenchModels(lm, clap, {"weights": "tiny random test models", "folder": str(folder)})


def one_token_vocabulary(lm: CausalLM) -> Vocabulary:
    """AudioSet keywords that are one LLM token after a space: every prompt gets one length."""
    words = [
        kw
        for kw in dict.fromkeys(load_vocabulary(None).keywords)
        if len(lm.tokenizer(" " + kw, add_special_tokens=False)["input_ids"]) == 1
    ]
    return Vocabulary("audioset-one-token", tuple(words), f"one-token-{len(words)}")


def make_clips(n: int, sample_rate: int, seconds: float, seed: int = 0) -> list[Any]:
    """``n`` clips of seeded white noise as ``(samples, rate)`` tuples."""
    rng = np.random.default_rng(seed)
    frames = int(sample_rate * seconds)
    return [(0.1 * rng.standard_normal(frames).astype(np.float32), sample_rate) for _ in range(n)]
