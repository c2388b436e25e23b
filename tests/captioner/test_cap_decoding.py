"""Planted-signal tests of guided decoding with a hand-made LLM and text encoder."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from captioner.config import CaptionerConfig
from captioner.decoding import GuidedDecoder, end_multiplier, guided_scores
from tests.captioner._captioner_fakes import (
    END_IDS,
    ID,
    VOCAB,
    FakeLM,
    FakeTextEncoder,
    probs_to_logits,
)

AUDIO = torch.tensor([[1.0, 0.0, 0.0, 0.0]])


def cfg(**kw: object) -> CaptionerConfig:
    return dataclasses.replace(CaptionerConfig.preset("paper"), **kw)  # type: ignore[arg-type]


def schedule(*steps: dict[str, float]):
    """Logits function: step t uses steps[min(t, last)]."""

    def fn(row: int, t: int, hist: list[int]) -> torch.Tensor:
        return probs_to_logits(steps[min(t, len(steps) - 1)])

    return fn


def decode(lm, enc, config, prompts=("p",), audio=AUDIO):
    return GuidedDecoder(lm, enc, config, END_IDS).decode(list(prompts), audio)


def test_beta_zero_follows_the_llm_argmax() -> None:
    lm = FakeLM(schedule({" dog": 0.6, " cat": 0.3}, {" barks": 0.7}, {".": 0.9}))
    enc = FakeTextEncoder({" cat": torch.tensor([1.0, 0, 0, 0])}, 4)
    (res,) = decode(lm, enc, cfg(beta=0.0, k=5))
    assert res.token_ids == [ID[" dog"], ID[" barks"], ID["."]]
    assert res.text == "dog barks."
    assert res.stop_reason == "end-token"
    assert enc.calls == []  # beta = 0: every step is settled without the text encoder


@pytest.mark.parametrize("beta", [0.0, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0])
def test_planted_audio_match_flips_exactly_when_the_score_says(beta: float) -> None:
    p = {" dog": 0.40, " cat": 0.35, " rain": 0.05}
    lm = FakeLM(schedule(p, {".": 0.99}))
    cat_vec = torch.tensor([1.0, 0.2, 0.0, 0.0])
    enc = FakeTextEncoder({" cat": cat_vec, " dog": torch.tensor([0.0, 1.0, 0.0, 0.0])}, 4)
    config = cfg(beta=beta, k=6, early_decision=False)
    (res,) = decode(lm, enc, config)

    # Independent re-computation of step 0 from the spec: p + beta * softmax(tau * cos).
    probs = torch.softmax(probs_to_logits(p).double(), -1).numpy()
    cands = np.argsort(-probs, kind="stable")[:6]
    emb = enc([VOCAB[c] for c in cands]).double().numpy()
    cos = emb @ AUDIO[0].double().numpy()
    f = np.exp(10 * cos) / np.exp(10 * cos).sum()
    expected = cands[int(np.argmax(probs[cands] + beta * f))]
    assert res.token_ids[0] == expected
    flip = (
        0.35 + beta * f[list(cands).index(ID[" cat"])]
        > 0.40 + beta * f[list(cands).index(ID[" dog"])]
    )
    assert (res.token_ids[0] == ID[" cat"]) == flip


def test_the_flip_happens_within_the_sweep() -> None:
    p = {" dog": 0.40, " cat": 0.35}
    enc = FakeTextEncoder({" cat": torch.tensor([1.0, 0, 0, 0])}, 4)
    low = decode(FakeLM(schedule(p, {".": 0.99})), enc, cfg(beta=0.01, k=5))[0]
    high = decode(FakeLM(schedule(p, {".": 0.99})), enc, cfg(beta=0.5, k=5))[0]
    assert low.token_ids[0] == ID[" dog"]
    assert high.token_ids[0] == ID[" cat"]


def test_end_token_is_banned_at_t0_and_boosted_late() -> None:
    # "." is the LLM's favourite at every step, but at t = 0 its score is multiplied by 0.
    lm = FakeLM(schedule({".": 0.9, " dog": 0.05}, {" barks": 0.5, ".": 0.3}))
    enc = FakeTextEncoder({}, 4)
    (res,) = decode(lm, enc, cfg(beta=0.0, k=5, gamma=0.1))
    assert res.token_ids[0] == ID[" dog"]
    # From t = 1: "." scores 0.3 * 0.1 * t; it beats " barks" (0.5) once 0.03 t > 0.5: t = 17.
    assert res.token_ids[1:16] == [ID[" barks"]] * 15
    assert res.token_ids[-1] == ID["."]
    assert len(res.token_ids) == 18
    assert end_multiplier(torch.tensor([True, False]), 0, 0.1).tolist() == [0.0, 1.0]
    assert end_multiplier(torch.tensor([True]), 20, 0.1).tolist() == pytest.approx([2.0])


@pytest.mark.parametrize("end", [".", " !", " ?", "</s>"])
def test_decoding_stops_on_every_end_token_and_keeps_it(end: str) -> None:
    lm = FakeLM(schedule({" dog": 0.9}, {end: 0.95}))
    (res,) = decode(lm, FakeTextEncoder({}, 4), cfg(beta=0.0, k=5))
    assert res.token_ids == [ID[" dog"], ID[end]]
    assert res.stop_reason == "end-token"


def test_length_cap_counts_bos_and_prompt() -> None:
    lm = FakeLM(schedule({" dog": 0.9}))
    prompt = "one two three"  # fake tokenisation: BOS + 3 tokens
    (res,) = decode(lm, FakeTextEncoder({}, 4), cfg(beta=0.0, k=5, max_length=10), [prompt])
    assert len(res.token_ids) == 10 - 4
    assert res.stop_reason == "max-length"


def test_only_the_continuation_is_scored_within_the_window() -> None:
    lm = FakeLM(schedule({" dog": 0.5, " cat": 0.4}, {" barks": 0.5}, {" and": 0.5}, {".": 0.9}))
    enc = FakeTextEncoder({" cat": torch.tensor([1.0, 0.0, 0, 0])}, 4)
    (res,) = decode(lm, enc, cfg(beta=0.5, k=3, score_window=2, early_decision=False))
    assert len(enc.calls) == len(res.token_ids)
    for t, texts in enumerate(enc.calls):
        assert len(texts) == 3
        prefix = "".join(VOCAB[i] for i in res.token_ids[:t][-1:])  # window 2 = 1 old + cand
        assert all(text.startswith(prefix) for text in texts)
        # Exactly "last window-1 generated tokens + one candidate": no prompt, nothing older.
        rest = [text[len(prefix) :] for text in texts]
        assert all(r in VOCAB for r in rest)
    assert res.token_ids[:2] == [ID[" cat"], ID[" barks"]]  # the planted match won step 0


def random_logits(seed: int):
    gen = torch.Generator().manual_seed(seed)
    table = torch.randn(8, 40, len(VOCAB), generator=gen) * 3.0

    def fn(row: int, t: int, hist: list[int]) -> torch.Tensor:
        return table[row % 8, min(t, 39)]

    return fn


def random_encoder(seed: int) -> FakeTextEncoder:
    gen = torch.Generator().manual_seed(1000 + seed)
    return FakeTextEncoder({tok: torch.randn(4, generator=gen) for tok in VOCAB[2:]}, 4)


@pytest.mark.parametrize("seed", range(12))
def test_early_decision_gives_identical_captions(seed: int) -> None:
    prompts = ["a", "b c", "d e f"]
    audio = torch.nn.functional.normalize(
        torch.randn(3, 4, generator=torch.Generator().manual_seed(seed)), dim=-1
    )
    config = cfg(k=6, gamma=0.3, max_length=20)
    plain_enc, fast_enc = random_encoder(seed), random_encoder(seed)
    plain = decode(
        FakeLM(random_logits(seed)),
        plain_enc,
        dataclasses.replace(config, early_decision=False),
        prompts,
        audio,
    )
    fast = decode(FakeLM(random_logits(seed)), fast_enc, config, prompts, audio)
    assert [r.token_ids for r in fast] == [r.token_ids for r in plain]
    assert sum(len(c) for c in fast_enc.calls) <= sum(len(c) for c in plain_enc.calls)


def test_early_decision_really_skips_text_encoder_work() -> None:
    skipped = 0
    for seed in range(12):
        enc = random_encoder(seed)
        res = decode(FakeLM(random_logits(seed)), enc, cfg(k=6, gamma=0.3, max_length=20))
        skipped += res[0].early_decisions
    assert skipped > 0


@pytest.mark.parametrize("seed", range(6))
def test_batch_gives_the_same_captions_as_one_at_a_time(seed: int) -> None:
    prompts = ["a", "b c", "d e f", "g"]
    audio = torch.nn.functional.normalize(
        torch.randn(4, 4, generator=torch.Generator().manual_seed(seed)), dim=-1
    )
    config = cfg(k=6, gamma=0.3, max_length=20)
    together = decode(FakeLM(random_logits(seed)), random_encoder(seed), config, prompts, audio)
    for i in range(4):
        # Row i of the planted table belongs to row index i; a lone decode must use row i too.
        def fn(row: int, t: int, hist: list[int], i: int = i) -> torch.Tensor:
            return random_logits(seed)(i, t, hist)

        (alone,) = decode(FakeLM(fn), random_encoder(seed), config, [prompts[i]], audio[i : i + 1])
        assert alone.token_ids == together[i].token_ids


def test_degeneration_penalty_changes_the_choice() -> None:
    # " dog" (id 6, 6 % 3 == 0) repeats the context's hidden state; " cat" (id 7) does not.
    p = {" dog": 0.5, " cat": 0.3}
    enc = FakeTextEncoder({}, 4)
    lm0 = FakeLM(schedule(p, {".": 0.99}))
    assert decode(lm0, enc, cfg(beta=0.0, k=5))[0].token_ids[0] == ID[" dog"]
    lm = FakeLM(schedule(p, {".": 0.99}))
    res = decode(lm, enc, cfg(beta=0.0, k=5, alpha=0.5))[0]
    # 0.5 * 0.5 - 0.5 * 1 = -0.25 for dog versus 0.5 * 0.3 - 0 = 0.15 for cat.
    assert res.token_ids[0] == ID[" cat"]
    assert lm.candidate_forwards == len(res.token_ids)
    assert lm.advances == 0  # alpha > 0 reuses the candidates' forward: no extra LLM step


def test_guided_scores_and_validation() -> None:
    base = torch.tensor([[0.5, 0.2]])
    f = torch.tensor([[0.1, 0.9]])
    mult = torch.tensor([[1.0, 0.5]])
    assert guided_scores(base, f, mult, 0.5).tolist()[0] == pytest.approx([0.55, 0.325])
    lm = FakeLM(schedule({" dog": 0.5}))
    with pytest.raises(ValueError, match="end token"):
        GuidedDecoder(lm, FakeTextEncoder({}, 4), cfg(), [])
    with pytest.raises(ValueError, match="outside"):
        GuidedDecoder(lm, FakeTextEncoder({}, 4), cfg(), [999])
    dec = GuidedDecoder(lm, FakeTextEncoder({}, 4), cfg(), END_IDS)
    with pytest.raises(ValueError, match="one audio embedding per prompt"):
        dec.decode(["a", "b"], AUDIO)
