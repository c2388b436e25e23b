"""CaptionerConfig presets and overrides; keyword selection and the exact prompt."""

from __future__ import annotations

import numpy as np
import pytest

from captioner.config import CaptionerConfig
from captioner.prompt import article_for, build_prompt, select_keywords


def test_paper_preset_has_the_released_codes_values() -> None:
    cfg = CaptionerConfig.preset("paper")
    assert (cfg.k, cfg.alpha, cfg.beta, cfg.tau, cfg.gamma, cfg.l) == (45, 0.0, 0.5, 10.0, 0.1, 2)
    assert (cfg.max_length, cfg.score_window, cfg.seed) == (78, 77, 4182)
    assert cfg.window_policy == "random-crop"
    assert CaptionerConfig.preset("default").window_policy == "mean"
    with pytest.raises(ValueError, match="unknown preset"):
        CaptionerConfig.preset("fast")


def test_overrides_parse_strings_and_reject_bad_input() -> None:
    cfg = CaptionerConfig.preset("paper").with_overrides(
        {"beta": "0.2", "l": "3", "early_decision": "false"}
    )
    assert cfg.beta == 0.2 and cfg.l == 3 and cfg.early_decision is False
    assert cfg.to_dict()["beta"] == 0.2
    with pytest.raises(ValueError, match="unknown setting 'betta'"):
        cfg.with_overrides({"betta": "1"})
    with pytest.raises(ValueError, match="'k' needs a int"):
        cfg.with_overrides({"k": "many"})
    with pytest.raises(ValueError, match="k must be at least 1"):
        cfg.with_overrides({"k": "0"})
    with pytest.raises(ValueError, match="alpha must be at most 1"):
        cfg.with_overrides({"alpha": "1.5"})
    with pytest.raises(ValueError, match="finite"):
        cfg.with_overrides({"beta": "nan"})
    with pytest.raises(ValueError, match="window_policy"):
        cfg.with_overrides({"window_policy": "all"})


def test_prompt_matches_the_paper_for_l_0_to_3() -> None:
    assert build_prompt([]) == "This is a sound of "
    assert build_prompt(["Dog"]) == "Objects: a Dog. This is a sound of "
    assert build_prompt(["Dog", "Speech"]) == "Objects: Dog, and a Speech. This is a sound of "
    assert (
        build_prompt(["Dog", "Speech", "Engine"])
        == "Objects: Dog, Speech, and an Engine. This is a sound of "
    )
    assert build_prompt(["Rain", "Idling"]) == "Objects: Rain, and an Idling. This is a sound of "
    assert [article_for(w) for w in ("apple", "Umbrella", "dog", "")] == ["an", "an", "a", "a"]


def test_select_keywords_returns_planted_nearest_in_order() -> None:
    rng = np.random.default_rng(0)
    # Orthonormal keyword embeddings: the planted mix decides the ranking exactly.
    emb = np.linalg.qr(rng.normal(size=(8, 6)))[0].T.astype(np.float32)
    audio = (0.8 * emb[4] + 0.5 * emb[1]).astype(np.float32)
    audio /= np.linalg.norm(audio)
    words = ["w0", "w1", "w2", "w3", "w4", "w5"]
    chosen = select_keywords(audio, emb, words, 2)
    assert [k.keyword for k in chosen] == ["w4", "w1"]
    assert chosen[0].score == pytest.approx(float(emb[4] @ audio))
    assert chosen[0].score >= chosen[1].score
    assert select_keywords(audio, emb, words, 0) == []


def test_select_keywords_names_a_duplicate_keyword_once() -> None:
    emb = np.eye(3, dtype=np.float32)[[0, 0, 1]]
    chosen = select_keywords(np.array([1, 0.1, 0], np.float32), emb, ["Cat", "Cat", "Dog"], 2)
    assert [k.keyword for k in chosen] == ["Cat", "Dog"]


def test_device_and_dtype_choice() -> None:
    import torch

    from captioner.devices import pick_device, pick_dtype
    from captioner.errors import CaptionerError

    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type in ("cpu", "cuda", "mps")
    assert pick_dtype(torch.device("cpu"), None) == torch.float32
    assert pick_dtype(torch.device("cuda"), None) == torch.float16
    assert pick_dtype(torch.device("cpu"), "bf16") == torch.bfloat16
    with pytest.raises(CaptionerError, match="unknown dtype"):
        pick_dtype(torch.device("cpu"), "int3")
    if not torch.cuda.is_available():
        with pytest.raises(CaptionerError, match="no CUDA GPU"):
            pick_device("cuda")
