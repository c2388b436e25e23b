"""Tiny random-weight models that load through Earmark's normal model path.

``build_tiny_models(out)`` writes ``out/clap`` (a transformers ``ClapModel`` with a RoBERTa-style
byte-level BPE tokenizer and a feature extractor) and ``out/llm`` (an OPT causal LM with a
GPT2-style byte-level BPE tokenizer). The tokenizers are trained offline on a small built-in
corpus of sound words, so decoded captions are real (if random) text. Everything is saved as
safetensors. Run ``python -m captioner.testing.tiny_models OUT_DIR`` to build them by hand.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["build_tiny_models"]

_WORD_LINES = (
    "a an the and of is in on with while then as sound sounds someone something people person",
    "dog dogs barks barking cat meows bird birds chirp chirping sing singing man men woman",
    "women child children speaks speaking talk talking laughs laughing crowd cheers cheering",
    "applause car cars engine engines idle idling revs accelerates passes passing vehicle",
    "truck bus train horn honks siren wail wailing rain falls falling water flows flowing",
    "splash drips dripping wind blows blowing thunder rumbles storm door slams closes opens",
    "footsteps walk walking run music plays playing guitar piano drum drums beat loud quietly",
    "softly distance background machine motor hums humming buzz buzzing beep beeps alarm",
    "rings ringing phone bell clock ticks typing keyboard clicks clicking paper rustles",
    "rustling leaves fire crackles crackling glass breaks metal clanks hammer knocks knocking",
    "tap taps whistle whistles baby cries crying cough coughs sneeze breathing snoring wave",
    "waves ocean river stream frog croaks insects crickets airplane aircraft flies flying",
    "helicopter boat motorboat gunshot explosion firework pops speech conversation narration",
    "shouting yelling whispering singing chanting rapping",
)
_WORDS = [word for line in _WORD_LINES for word in line.split()]

_SENTENCES = [
    "a dog barks and a man speaks.",
    "rain falls on a roof while thunder rumbles in the distance.",
    "a car engine idles then accelerates and passes by.",
    "birds chirp in the background as wind blows.",
    "wow ! what ? yes ! no ? stop ! why ? go ! who ?",
    "people talk and laugh while music plays.",
    "water flows and a frog croaks.",
]


def _corpus() -> list[str]:
    from captioner.vocabulary import load_vocabulary

    lines = list(_SENTENCES) * 20
    lines += [" ".join(_WORDS[i : i + 8]) for i in range(0, len(_WORDS), 8)] * 5
    # The AudioSet keywords, so keyword text is tokenised into real words too.
    lines += list(load_vocabulary(None).keywords)
    return lines


def _train_bpe(
    corpus: list[str], specials: list[str], vocab_size: int, add_prefix_space: bool
) -> object:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=1,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    return tok


def _build_llm(out: Path, corpus: list[str]) -> None:
    import torch
    from tokenizers import processors
    from transformers import OPTConfig, OPTForCausalLM, PreTrainedTokenizerFast

    # OPT's vocabulary layout: <pad>=1, </s>=2 is both BOS and EOS.
    tok = _train_bpe(corpus, ["<s>", "<pad>", "</s>", "<unk>"], 1200, add_prefix_space=False)
    for piece in (".", "Ġ!", "Ġ?"):
        if tok.token_to_id(piece) is None:  # type: ignore[attr-defined]
            raise RuntimeError(f"tiny LLM tokenizer lacks the end token {piece!r}")
    tok.post_processor = processors.TemplateProcessing(  # type: ignore[attr-defined]
        single="</s> $A", pair="</s> $A </s> $B", special_tokens=[("</s>", 2)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="</s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
    )
    torch.manual_seed(0)
    config = OPTConfig(
        vocab_size=len(fast),
        hidden_size=32,
        num_hidden_layers=2,
        ffn_dim=64,
        num_attention_heads=4,
        max_position_embeddings=128,
        word_embed_proj_dim=32,
        pad_token_id=1,
        bos_token_id=2,
        eos_token_id=2,
    )
    model = OPTForCausalLM(config)
    _teach_captions(model, fast)
    model.eval()
    model.save_pretrained(out, safe_serialization=True)
    fast.save_pretrained(out)


def _teach_captions(model: object, tokenizer: object, steps: int = 60) -> None:
    """Fit the tiny LM a little to caption-like sentences, so decoding writes words, not noise.

    A few dozen Adam steps on a 2-layer model take well under a second and make the LLM's
    distribution peaked, which also exercises the early decision the way a real LLM does.
    """
    import torch

    texts = [f"Objects: dog, and a man. This is a sound of {s}" for s in _SENTENCES[:4]]
    texts += [f"This is a sound of {s}" for s in _SENTENCES if "!" not in s]
    enc = tokenizer(texts, padding=True, return_tensors="pt")  # type: ignore[operator]
    labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
    opt = torch.optim.Adam(model.parameters(), lr=6e-3)  # type: ignore[attr-defined]
    model.train()  # type: ignore[attr-defined]
    # Ops this small gain nothing from threads, and on a busy machine threads only wait.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(steps):
            loss = model(**enc, labels=labels).loss  # type: ignore[operator]
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)


def _build_clap(out: Path, corpus: list[str]) -> None:
    import torch
    from tokenizers import processors
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, PreTrainedTokenizerFast

    tok = _train_bpe(
        corpus, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"], 1000, add_prefix_space=False
    )
    tok.post_processor = processors.RobertaProcessing(  # type: ignore[attr-defined]
        ("</s>", 2), ("<s>", 0), trim_offsets=True, add_prefix_space=False
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=128,
    )
    torch.manual_seed(1)
    text_config = {
        "vocab_size": len(fast),
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "intermediate_size": 64,
        "max_position_embeddings": 130,
        "pad_token_id": 1,
    }
    # 16 mel bins and spec_size 64 keep HTSAT's image at 64x64; depths (1, 1) and window 4
    # divide its 16x16 patch grid.
    audio_config = {
        "num_mel_bins": 16,
        "spec_size": 64,
        "patch_size": 4,
        "patch_stride": [4, 4],
        "window_size": 4,
        "depths": [1, 1],
        "num_attention_heads": [2, 2],
        "patch_embeds_hidden_size": 16,
        "hidden_size": 32,
        "enable_fusion": False,
    }
    config = ClapConfig(text_config=text_config, audio_config=audio_config, projection_dim=24)
    model = ClapModel(config).eval()
    model.save_pretrained(out, safe_serialization=True)
    fast.save_pretrained(out)
    extractor = ClapFeatureExtractor(
        feature_size=16,
        sampling_rate=16000,
        hop_length=160,
        max_length_s=2,
        fft_window_size=512,
        frequency_min=50,
        frequency_max=7600,
        truncation="rand_trunc",
        padding="repeatpad",
    )
    extractor.save_pretrained(out)


def build_tiny_models(out: Path) -> None:
    """Write tiny random-weight models to ``out/clap`` and ``out/llm``.

    Args:
        out: Folder to create (parents included); existing files are overwritten.
    """
    out = Path(out)
    corpus = _corpus()
    (out / "clap").mkdir(parents=True, exist_ok=True)
    (out / "llm").mkdir(parents=True, exist_ok=True)
    _build_clap(out / "clap", corpus)
    _build_llm(out / "llm", corpus)
    log.info("tiny models written to %s", out)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: ``python -m captioner.testing.tiny_models OUT_DIR``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m captioner.testing.tiny_models OUT_DIR", file=sys.stderr)
        return 2
    build_tiny_models(Path(args[0]))
    print(f"wrote {args[0]}/clap and {args[0]}/llm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
