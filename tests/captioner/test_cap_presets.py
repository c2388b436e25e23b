"""Presets end to end: the one loader, precision, knob metadata, provenance, released crops."""

from __future__ import annotations

import argparse
import dataclasses
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from captioner import Captioner, CaptionerConfig
from captioner.audio import load_windows
from captioner.config import DTYPES, PRESETS, knob, knobs
from captioner.llm import CausalLM
from captioner.loading import load_captioner, normalise_dtype, plan_load
from captioner.models import DEFAULT_CLAP, DEFAULT_LLM, WAVCAPS_FOLDER, models_dir
from captioner.vocabulary import Vocabulary


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def released(tiny_models: Path) -> Captioner:
    return load_captioner(
        "paper-released",
        clap=str(tiny_models / "clap"),
        llm=str(tiny_models / "llm"),
        device="cpu",
        overrides={"max_length": "30"},
    )


def rebuilt(cap: Captioner, config: CaptionerConfig, **kw: object) -> Captioner:
    args = {
        "audio_model": cap.audio_model,
        "lm": cap.lm,
        "vocabulary": cap.vocabulary,
        "keyword_embeddings": cap.keyword_embeddings,
    }
    args.update(kw)
    return Captioner(config, **args, clap_ref=cap.clap_ref, llm_ref=cap.llm_ref)  # type: ignore[arg-type]


def sweep_tone(path: Path, seconds: float, rate: int = 16000) -> Path:
    """A rising sweep: every crop of it sounds different."""
    t = np.arange(int(seconds * rate)) / rate
    freq = 200 + 300 * t
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)
    return path


# ------------------------------------------------------------------ presets and the loader
def test_presets_and_their_defaults() -> None:
    assert set(PRESETS) == {"paper", "paper-released", "default"}
    paper, rel, default = (
        CaptionerConfig.preset(n) for n in ("paper", "paper-released", "default")
    )
    assert (paper.dtype, rel.dtype, default.dtype) == ("float32", "float32", "auto")
    assert not paper.released_code and rel.released_code and not default.released_code
    assert rel.window_policy == "released-crop" and not rel.early_decision
    assert paper.preset_name == "paper" and "preset_name" not in paper.to_dict()
    for cfg in (paper, rel):
        assert (cfg.k, cfg.beta, cfg.tau, cfg.gamma, cfg.l, cfg.max_length) == (
            45,
            0.5,
            10.0,
            0.1,
            2,
            78,
        )


def test_plan_applies_the_presets_models_and_precision(tmp_path: Path) -> None:
    plan = plan_load("paper")
    assert plan.clap == DEFAULT_CLAP and plan.llm == DEFAULT_LLM  # no WavCaps imported yet
    assert plan.config.dtype == "float32" and plan.device == "auto"
    (models_dir() / WAVCAPS_FOLDER).mkdir(parents=True)
    for name in ("paper", "paper-released"):
        assert plan_load(name).clap == str(models_dir() / WAVCAPS_FOLDER)
    assert plan_load("default").clap == DEFAULT_CLAP
    assert plan_load("paper", clap="mine").clap == "mine"
    assert plan_load("default").config.dtype == "auto"
    assert plan_load("paper", dtype="fp16").config.dtype == "float16"
    # --dtype wins over --set dtype=..., which wins over the preset.
    assert plan_load("paper", overrides={"dtype": "bfloat16"}).config.dtype == "bfloat16"
    assert plan_load("paper", dtype="float16", overrides={"dtype": "bfloat16"}).config.dtype == (
        "float16"
    )
    plan = plan_load("default", vocabulary=tmp_path / "kw.txt", overrides={"beta": "0.2"})
    assert plan.config.beta == 0.2 and plan.vocabulary == str(tmp_path / "kw.txt")
    assert plan.model_refs == (DEFAULT_CLAP, DEFAULT_LLM)
    with pytest.raises(ValueError, match="unknown dtype 'int3'"):
        plan_load("paper", dtype="int3")
    with pytest.raises(ValueError, match="unknown preset"):
        plan_load("fast")
    assert [normalise_dtype(d) for d in ("FP32", "bf16", "half", "auto")] == [
        "float32",
        "bfloat16",
        "float16",
        "auto",
    ]


def test_planning_imports_no_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from captioner.loading import plan_load; plan_load('paper'); "
        "print('torch' in sys.modules)"
    )
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "False"


def test_loaded_captioner_carries_preset_and_precision(
    released: Captioner, tiny_models: Path, tone: Path
) -> None:
    result = released.caption(tone)
    prov = result.provenance
    assert prov.preset == "paper-released" and prov.dtype == "float32" == released.dtype
    assert prov.params["released_code"] is True and prov.params["dtype"] == "float32"
    bf16 = load_captioner(
        "paper",
        clap=str(tiny_models / "clap"),
        llm=str(tiny_models / "llm"),
        device="cpu",
        dtype="bfloat16",
    )
    assert bf16.dtype == "bfloat16" and bf16.config.dtype == "bfloat16"
    assert next(bf16.audio_model.model.parameters()).dtype == torch.bfloat16  # type: ignore[attr-defined]
    assert bf16.caption(tone).provenance.dtype == "bfloat16"


@pytest.mark.parametrize(
    "command",
    [["caption", "x.wav"], ["library", "caption"], ["search", "dog"], ["eval"]],
)
def test_every_model_command_takes_dtype_and_the_new_preset(command: list[str]) -> None:
    from desktop.cli import build_parser

    parser = build_parser()
    extra = ["--dataset", "clotho", "--captions", "c.csv"] if command == ["eval"] else []
    args = parser.parse_args(
        [*command, *extra, "--dtype", "bfloat16", "--preset", "paper-released"]
    )
    assert args.dtype == "bfloat16" and args.preset == "paper-released"
    with pytest.raises(SystemExit):
        parser.parse_args([*command, *extra, "--dtype", "int8"])


def test_common_loader_uses_the_plan() -> None:
    from desktop.commands._common import config_from_args, plan_from_args

    args = argparse.Namespace(
        preset="paper-released",
        clap=None,
        llm=None,
        device="cpu",
        dtype=None,
        vocabulary=None,
        settings=["beta=0.3"],
    )
    plan = plan_from_args(args)
    assert plan.preset == "paper-released" and plan.config.beta == 0.3
    assert plan.config.dtype == "float32" and plan.device == "cpu"
    assert config_from_args(args) == plan.config


# ------------------------------------------------------------------ knob metadata
def test_every_knob_has_a_label_help_and_a_range_that_validation_enforces() -> None:
    names = [k.name for k in knobs()]
    assert "preset_name" not in names
    assert names[:7] == ["k", "alpha", "beta", "tau", "gamma", "l", "max_length"]
    for item in knobs():
        assert item.label and item.help.endswith(".")
        if item.kind in (int, float):
            assert item.minimum is not None and item.maximum is not None and item.step
            assert item.minimum <= item.default <= item.maximum
            over = item.maximum + (1 if item.kind is int else 0.5)
            with pytest.raises(ValueError, match=f"{item.name} must be at most"):
                CaptionerConfig().with_overrides({item.name: str(over)})
        elif item.kind is str:
            assert item.default in item.choices
    assert knob("beta").label == "Audio match weight (β)"
    assert knob("dtype").choices == DTYPES
    assert "released-crop" in knob("window_policy").choices
    with pytest.raises(KeyError):
        knob("nope")
    with pytest.raises(ValueError, match="unknown setting 'preset_name'"):
        CaptionerConfig().with_overrides({"preset_name": "x"})


# ------------------------------------------------------------------ vocabulary of the LLM
def test_padded_embedding_rows_are_no_candidates(tiny_models: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tmp_path / "padded-llm"
    shutil.copytree(tiny_models / "llm", folder)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForCausalLM.from_pretrained(str(folder))
    n = len(tokenizer)
    model.resize_token_embeddings(n + 7)  # OPT-1.3B: 50272 rows for 50265 tokens
    with torch.no_grad():
        model.get_input_embeddings().weight[n:] = 5.0  # padded rows that would win the softmax
    model.save_pretrained(folder, safe_serialization=True)
    lm = CausalLM.load(folder, ref="padded", device=torch.device("cpu"), dtype=torch.float32)
    assert lm.n_valid_tokens == n
    assert lm.special_token_ids() == [0, 1, 2, 3]  # <s>, <pad>, </s>, <unk>
    state = lm.start([lm.encode_prompt("This is a sound of ")])
    assert state.logits.shape[-1] == n + 7


def test_captions_never_use_a_non_text_special_token(released: Captioner, tmp_path: Path) -> None:
    paper = rebuilt(released, dataclasses.replace(CaptionerConfig.preset("paper"), max_length=30))
    banned = set(paper.decoder.banned_ids)
    assert banned == {0, 1, 3}
    for i in range(6):
        rng = np.random.default_rng(i)
        clip = (rng.normal(scale=0.1, size=16000 * 2).astype(np.float32), 16000)
        result = paper.caption(clip)
        tokens = paper.lm.tokenizer(result.text, add_special_tokens=False)["input_ids"]
        assert not banned & set(tokens)
        assert "<s>" not in result.text and "<pad>" not in result.text


# ------------------------------------------------------------------ released keywords
def test_released_preset_names_a_duplicate_keyword_twice(released: Captioner, tone: Path) -> None:
    audio = released.embed_audio(tone)
    other = np.linalg.qr(np.stack([audio, np.ones_like(audio)]).T)[0][:, 1].astype(np.float32)
    words = ("Inside", "Inside", "Dog")
    vocab = Vocabulary("dupes", words, "x")
    emb = np.stack([audio, audio, other]).astype(np.float32)
    cfg = dataclasses.replace(released.config, max_length=20)
    rel = rebuilt(released, cfg, vocabulary=vocab, keyword_embeddings=emb).caption(tone)
    assert rel.prompt == "Objects: Inside, and an Inside. This is a sound of "
    paper_cfg = dataclasses.replace(CaptionerConfig.preset("paper"), max_length=20)
    paper = rebuilt(released, paper_cfg, vocabulary=vocab, keyword_embeddings=emb).caption(tone)
    assert paper.prompt == "Objects: Inside, and a Dog. This is a sound of "
    one = rebuilt(released, dataclasses.replace(cfg, l=1), vocabulary=vocab, keyword_embeddings=emb)
    assert one.caption(tone).prompt == "Objects: , and an Inside. This is a sound of "


# ------------------------------------------------------------------ released crops
def test_released_crops_follow_one_stream_in_captioning_order(
    released: Captioner, tmp_path: Path
) -> None:
    long = sweep_tone(tmp_path / "sweep.wav", 7.0)  # tiny CLAP: 16 kHz, 2 s windows
    short = sweep_tone(tmp_path / "short.wav", 1.0)
    fresh = rebuilt(released, released.config)
    got = [fresh.embed_audio(p) for p in (long, short, long)]
    draws = random.Random(released.config.seed)
    first, second = draws.randint(0, 112_000 - 32_000), draws.randint(0, 112_000 - 32_000)
    assert first != second

    def embedding(start: int | None, path: Path) -> np.ndarray:
        windows = load_windows(
            path,
            target_rate=16000,
            window_seconds=2.0,
            policy="released-crop",
            crop_start=start,
        ).windows
        out = released.audio_model.embed_audio(torch.from_numpy(windows))
        return torch.nn.functional.normalize(out.float().mean(0), dim=0).numpy()

    assert np.allclose(got[0], embedding(first, long), atol=1e-5)
    assert np.allclose(got[1], embedding(None, short), atol=1e-5)  # short: no draw
    assert np.allclose(got[2], embedding(second, long), atol=1e-5)
    assert not np.allclose(got[0], got[2], atol=1e-4)  # same file, the next crop
    # The paper preset crops a file the same way every time, whatever came before.
    paper = rebuilt(released, CaptionerConfig.preset("paper"))
    assert np.array_equal(paper.embed_audio(long), paper.embed_audio(long))


def test_caption_many_draws_in_input_order_even_in_batches(
    released: Captioner, tmp_path: Path
) -> None:
    paths = [sweep_tone(tmp_path / f"c{i}.wav", 3.0 + i) for i in range(4)]
    one = [c.audio_embedding for c in rebuilt(released, released.config).caption_many(paths)]
    batched = rebuilt(released, released.config).caption_many(paths, batch_size=3)
    for a, b in zip(one, batched):
        assert np.allclose(a, b.audio_embedding, atol=1e-5)  # type: ignore[union-attr]
    # advance_crops stands in for a clip captioned earlier.
    resumed = rebuilt(released, released.config)
    resumed.advance_crops(paths[0])
    rest = [c.audio_embedding for c in resumed.caption_many(paths[1:])]  # type: ignore[union-attr]
    for a, b in zip(one[1:], rest):
        assert np.allclose(a, b, atol=1e-5)
    skipped_badly = rebuilt(released, released.config)
    wrong = [c.audio_embedding for c in skipped_badly.caption_many(paths[1:])]  # type: ignore[union-attr]
    assert not np.allclose(one[1], wrong[0], atol=1e-4)


def test_embed_text_accepts_lone_surrogates(released: Captioner) -> None:
    broken = "\udcff dog \udcfe"  # what Python makes of invalid UTF-8 in argv
    out = released.embed_text([broken, "\ud800", "ok"])
    assert out.shape == (3, released.dim) and np.all(np.isfinite(out))
    assert np.allclose(out[0], released.embed_text(["\ufffd dog \ufffd"])[0], atol=1e-6)
    direct = released.audio_model.embed_text([broken])  # the CLAP backend cleans too
    assert bool(torch.isfinite(direct).all())
    from captioner.text import clean_text

    assert clean_text("\ud800x") == "?x" and clean_text("fine") == "fine"
    with pytest.raises(TypeError, match="must be a string"):
        released.embed_text([b"bytes"])  # type: ignore[list-item]
