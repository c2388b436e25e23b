"""Planted-signal tests of where ``paper``, ``paper-released`` and the released code differ.

Each test plants logits and text embeddings so that exactly one rule decides the outcome:
special tokens in the scoring text and as candidates, the end-token multiplier's index, the
softmax over the tokenizer's vocabulary only, and the released ``l = 1`` prompt. The expected
choices are recomputed here from the rules as written in docs/ZERAUCAP.md.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from captioner.config import CaptionerConfig
from captioner.decoding import GuidedDecoder, released_end_multiplier
from captioner.prompt import build_prompt, select_keywords
from tests.captioner._captioner_fakes import (
    END_IDS,
    ID,
    VOCAB,
    FakeLM,
    FakeTextEncoder,
    probs_to_logits,
)

AUDIO = torch.tensor([[1.0, 0.0, 0.0, 0.0]])


def preset(name: str, **kw: object) -> CaptionerConfig:
    return dataclasses.replace(CaptionerConfig.preset(name), **kw)  # type: ignore[arg-type]


def schedule(*steps: dict[str, float]):
    def fn(row: int, t: int, hist: list[int]) -> torch.Tensor:
        return probs_to_logits(steps[min(t, len(steps) - 1)])

    return fn


def decoder(lm: FakeLM, enc: FakeTextEncoder, config: CaptionerConfig) -> GuidedDecoder:
    return GuidedDecoder(lm, enc, config, END_IDS)


# ------------------------------------------------------------------ 1. special tokens
def test_eos_is_scored_with_its_special_token_written_out() -> None:
    lm = FakeLM(schedule({" dog": 0.6, " cat": 0.3}, {" barks": 0.4, "</s>": 0.35}, {".": 0.99}))
    enc = FakeTextEncoder({}, 4)
    res = decoder(lm, enc, preset("paper", k=5, early_decision=False)).decode(["p"], AUDIO)[0]
    assert res.token_ids[0] == ID[" dog"]
    # Step 1 scores "dog + candidate"; the EOS candidate is "... dog</s>", as the released
    # code decodes it, not " dog" (a caption that already stopped).
    assert " dog</s>" in enc.calls[1]
    assert " dog" not in enc.calls[1]


def test_a_non_text_special_token_is_never_a_caption_token() -> None:
    # <s> is the LLM's favourite at every step and the text encoder loves it.
    lm = FakeLM(schedule({"<s>": 0.8, "<unk>": 0.1, " dog": 0.05}, {"<s>": 0.8, ".": 0.15}))
    enc = FakeTextEncoder({"<s>": torch.tensor([1.0, 0, 0, 0])}, 4)
    dec = decoder(lm, enc, preset("paper", k=5, early_decision=False))
    assert dec.banned_ids == [ID["<pad>"], ID["<s>"], ID["<unk>"]]  # EOS stays: it ends
    batch = dec.start(["p"], AUDIO)
    outcome = dec.step(batch)
    assert not set(outcome.candidates[0].tolist()) & {ID["<s>"], ID["<unk>"], ID["<pad>"]}
    assert outcome.candidates.shape[1] == 5
    config = preset("default", k=5, beta=0.0)
    (res,) = decoder(FakeLM(lm.logits_fn), enc, config).decode(["p"], AUDIO)
    assert ID["<s>"] not in res.token_ids and res.token_ids[0] == ID[" dog"]
    assert res.text == "dog."


def test_the_released_code_lets_invisible_special_tokens_win_again_and_again() -> None:
    lm = FakeLM(schedule({"<s>": 0.8, " dog": 0.1}))
    enc = FakeTextEncoder({"<s>": torch.tensor([1.0, 0, 0, 0])}, 4)
    config = preset("paper-released", k=5, max_length=12)
    (res,) = decoder(lm, enc, config).decode(["p"], AUDIO)
    assert res.token_ids == [ID["<s>"]] * 10  # BOS + 1 prompt token + 10 = max_length
    assert res.stop_reason == "max-length"
    # Its caption writes them out, as the released code's decode does.
    assert res.text.count("<s>") == 10
    paper = decoder(FakeLM(lm.logits_fn), enc, preset("paper", k=5, max_length=12))
    assert ID["<s>"] not in paper.decode(["p"], AUDIO)[0].token_ids


# ------------------------------------------------------------------ end-token index
def released_choice(
    cands: list[int], p: np.ndarray, f: np.ndarray, beta: float, gamma: float, t: int
) -> int:
    """The released ``plug_and_play_fast_ranking`` rule, re-implemented from its description."""
    scores = p + beta * f
    sorted_positions = np.argsort(-scores, kind="stable")
    sorted_tokens = [cands[i] for i in sorted_positions]
    penalised = [
        scores[j] * np.float32(gamma) * t if token in END_IDS else scores[j]
        for j, token in enumerate(sorted_tokens)
    ]
    return cands[int(np.argmax(penalised))]


def test_released_end_multiplier_lands_on_the_sorted_position() -> None:
    # LLM order: dog, ".", cat. The audio favours cat, so the score order is cat, dog, ".":
    # "." sits at sorted position 2, so the released code damps LLM position 2, which is cat.
    steps = ({" a": 0.9}, {" dog": 0.4, ".": 0.35, " cat": 0.2})
    enc = FakeTextEncoder({" cat": torch.tensor([1.0, 0, 0, 0])}, 4)
    intended = preset("paper", k=3, beta=0.5, gamma=0.1, early_decision=False)
    released = preset("paper-released", k=3, beta=0.5, gamma=0.1)
    a = decoder(FakeLM(schedule(*steps)), enc, intended).decode(["p"], AUDIO)[0]
    b = decoder(FakeLM(schedule(*steps)), enc, released).decode(["p"], AUDIO)[0]
    assert a.token_ids[1] == ID[" cat"]  # intended: "." is damped, the audio match wins
    assert b.token_ids[1] != ID[" cat"]  # released: cat is damped instead

    # Recompute step 1 of the released run from the rule as written.
    probs = torch.softmax(probs_to_logits(steps[1]).double(), -1).numpy()
    cands = [ID[" dog"], ID["."], ID[" cat"]]
    texts = [" a" + VOCAB[c] for c in cands]
    emb = enc(texts).double().numpy()
    cos = emb @ AUDIO[0].double().numpy()
    f = np.exp(10 * cos) / np.exp(10 * cos).sum()
    assert b.token_ids[1] == released_choice(cands, probs[cands], f, 0.5, 0.1, 1)


@pytest.mark.parametrize("seed", range(20))
def test_released_multiplier_matches_the_rule_on_random_scores(seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    scores = torch.rand(1, 8, generator=gen)
    is_end = torch.rand(1, 8, generator=gen) > 0.6
    t = int(torch.randint(0, 30, (1,), generator=gen))
    got = (released_end_multiplier(scores, is_end, t, 0.1) * scores)[0].tolist()
    # Sorted position j holds LLM position order[j]; if that is an end token, the released
    # code multiplies the score at LLM position j.
    order = torch.argsort(-scores[0], stable=True).tolist()
    rate = float(np.float32(0.1) * t)
    for j in range(8):
        hit = bool(is_end[0, order[j]])
        expected = float(scores[0, j]) * (rate if hit else 1.0)
        assert got[j] == pytest.approx(expected, rel=1e-6)


# ------------------------------------------------------------------ 3. vocabulary of p
class PaddedLM(FakeLM):
    """An LLM whose logits carry 7 padded rows past the tokenizer, as OPT-1.3B's do."""

    def __init__(self, logits_fn, pad_logit: float) -> None:
        def padded(row: int, t: int, hist: list[int]) -> torch.Tensor:
            return torch.cat([logits_fn(row, t, hist), torch.full((7,), pad_logit)])

        super().__init__(padded)


def test_p_is_a_softmax_over_the_tokenizers_vocabulary_only() -> None:
    p = {" dog": 0.40, " cat": 0.35}
    lm = PaddedLM(schedule(p, {".": 0.99}), pad_logit=3.0)  # the pads would take most mass
    dec = decoder(lm, FakeTextEncoder({}, 4), preset("paper", k=5, beta=0.0))
    outcome = dec.step(dec.start(["p"], AUDIO))
    valid = torch.softmax(probs_to_logits(p).double(), -1)
    for cand, score in zip(outcome.candidates[0].tolist(), outcome.scores[0].tolist()):
        assert cand < len(VOCAB)
        mult = 0.0 if cand in END_IDS else 1.0  # t = 0
        assert score == pytest.approx(mult * float(valid[cand]), rel=1e-5)


def test_the_padded_rows_would_have_changed_the_choice() -> None:
    # p + beta * f: with p over the real vocabulary dog keeps its lead; had p covered the
    # pads (most of the mass), f would dominate and cat would win.
    p = {" dog": 0.40, " cat": 0.35}
    enc = FakeTextEncoder({" cat": torch.tensor([1.0, 0, 0, 0])}, 4)
    config = preset("paper", k=5, beta=0.04, early_decision=False)
    lm = PaddedLM(schedule(p, {".": 0.99}), 3.0)
    dec = decoder(lm, enc, config)
    outcome = dec.step(dec.start(["p"], AUDIO))
    cands = outcome.candidates[0].tolist()
    assert cands[:2] == [ID[" dog"], ID[" cat"]]
    # cos is 1 for " cat" and 0.5 for every other candidate (the encoder's uniform floor).
    emb = enc([VOCAB[c] for c in cands]).double().numpy()
    cos = emb @ AUDIO[0].double().numpy()
    assert cos[1] == pytest.approx(1.0, abs=1e-5) and np.allclose(cos[[0, 2, 3, 4]], 0.5)
    f = np.exp(10 * cos) / np.exp(10 * cos).sum()
    pad_mass = 7 * np.exp(3.0) / (7 * np.exp(3.0) + 1.0)  # the valid logits' exps sum to 1
    right = 0.40 + 0.04 * f[0] > 0.35 + 0.04 * f[1]
    wrong = 0.40 * (1 - pad_mass) + 0.04 * f[0] > 0.35 * (1 - pad_mass) + 0.04 * f[1]
    assert right and not wrong  # over the padded rows, cat would have won
    assert int(outcome.chosen[0]) == ID[" dog"]


# ------------------------------------------------------------------ 2. keywords and prompt
def test_duplicate_keywords_only_under_the_released_code() -> None:
    emb = np.eye(3, dtype=np.float32)[[0, 0, 0, 1]]
    words = ["Inside", "Inside", "Inside", "Dog"]
    audio = np.array([1.0, 0.2, 0.0], np.float32)
    paper = [k.keyword for k in select_keywords(audio, emb, words, 2)]
    released = [k.keyword for k in select_keywords(audio, emb, words, 2, allow_duplicates=True)]
    assert paper == ["Inside", "Dog"]
    assert released == ["Inside", "Inside"]
    assert build_prompt(released, released=True) == (
        "Objects: Inside, and an Inside. This is a sound of "
    )


def test_the_released_l1_prompt() -> None:
    assert build_prompt(["Dog"], released=True) == "Objects: , and a Dog. This is a sound of "
    assert build_prompt(["Dog"]) == "Objects: a Dog. This is a sound of "
    assert build_prompt([], released=True) == "This is a sound of "
    assert build_prompt(["Dog", "Cat"], released=True) == build_prompt(["Dog", "Cat"])


# ------------------------------------------------------------------ released caption text
def test_released_caption_is_cut_from_the_whole_decoded_text() -> None:
    class PromptLM(FakeLM):
        def encode_prompt(self, prompt: str) -> list[int]:
            return [ID["</s>"], ID[" This"], ID[" is"], ID[" a"], ID[" sound"], ID[" of"]]

        def decode_batch(self, sequences, *, skip_special_tokens: bool = True):
            words = super().decode_batch(sequences, skip_special_tokens=skip_special_tokens)
            # " of" + " dog": "This is a sound of dog"; the fake vocabulary has no "a" article.
            return [w.replace(" This is a sound of", "This is a sound of ") for w in words]

    lm = PromptLM(schedule({" dog": 0.9}, {" !": 0.9}))
    config = preset("paper-released", k=5, beta=0.0, gamma=1.0)
    (res,) = decoder(lm, FakeTextEncoder({}, 4), config).decode(["This is a sound of "], AUDIO)
    # transformers 4's clean-up joins " !" to the word, as the released run's tokenizer did.
    assert res.text == "dog!"
    (plain,) = decoder(
        PromptLM(lm.logits_fn), FakeTextEncoder({}, 4), preset("paper", k=5, beta=0.0, gamma=1.0)
    ).decode(["This is a sound of "], AUDIO)
    assert plain.text == "dog !"
