"""End to end through the public API with the tiny random-weight models."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from captioner import Captioner, CaptionerConfig
from captioner.backends import load_audio_text_model
from captioner.backends.clap import ClapBackend
from captioner.errors import (
    AudioDecodeError,
    CaptionCancelledError,
    ModelLoadError,
    ModelNotFoundError,
)
from captioner.indexing import TAG_COUNT, TAG_FLOOR
from captioner.prompt import build_prompt
from captioner.types import AudioIndex, Caption, CaptionFailure
from captioner.vocabulary import load_vocabulary
from tests.conftest import write_tone


@pytest.fixture(scope="module")
def cap(tiny_models: Path) -> Captioner:
    return Captioner.load(
        CaptionerConfig.preset("paper"),
        clap=str(tiny_models / "clap"),
        llm=str(tiny_models / "llm"),
        device="cpu",
    )


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models gain nothing from threads; on a shared busy machine threads only wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def with_config(cap: Captioner, **kw: object) -> Captioner:
    cfg = dataclasses.replace(cap.config, **kw)  # type: ignore[arg-type]
    return Captioner(
        cfg,
        cap.audio_model,
        cap.lm,
        cap.vocabulary,
        cap.keyword_embeddings,
        clap_ref=cap.clap_ref,
        llm_ref=cap.llm_ref,
    )


def clips(tmp_path: Path, n: int = 5) -> list[Path]:
    out = []
    for i in range(n):
        rng = np.random.default_rng(i)
        noise = rng.normal(scale=0.05 * (i + 1), size=16000 * (i + 1)).astype(np.float32)
        path = tmp_path / f"clip{i}.wav"
        sf.write(str(path), noise, 16000)
        out.append(path)
    return out


def test_caption_has_text_keywords_prompt_and_provenance(cap: Captioner, tone: Path) -> None:
    result = cap.caption(tone)
    assert isinstance(result, Caption)
    assert result.text and result.text == " ".join(result.text.split())
    audioset = set(load_vocabulary(None).keywords)
    assert len(result.keywords) == 2 and all(k.keyword in audioset for k in result.keywords)
    assert result.keywords[0].score >= result.keywords[1].score
    assert result.prompt == build_prompt([k.keyword for k in result.keywords])
    assert result.audio_embedding.shape == (cap.dim,)
    assert np.linalg.norm(result.audio_embedding) == pytest.approx(1.0, abs=1e-5)
    prov = result.provenance
    assert prov.clap == cap.clap_ref and prov.llm == cap.llm_ref
    assert prov.params == cap.config.to_dict() and prov.window_policy == "pad"
    assert prov.device == "cpu" and prov.dtype == "float32" and prov.vocabulary == "audioset"
    assert set(result.timings) >= {"decode_audio", "embed_audio", "generate", "total"}
    assert result.path == str(tone) and result.duration_s == pytest.approx(1.0)


def test_same_input_same_caption(tiny_models: Path, cap: Captioner, tone: Path) -> None:
    again = Captioner.load(
        CaptionerConfig.preset("paper"),
        clap=str(tiny_models / "clap"),
        llm=str(tiny_models / "llm"),
        device="cpu",
    )
    first, second = again.caption(tone), cap.caption(tone)
    assert first.text == second.text and first.keywords == second.keywords
    assert np.array_equal(first.audio_embedding, second.audio_embedding)


def test_exact_speedups_give_identical_captions(cap: Captioner, tmp_path: Path) -> None:
    paths = clips(tmp_path, 3)
    plain = with_config(cap, early_decision=False)
    reference = [plain.caption(p).text for p in paths]
    assert [c.text for c in cap.caption_many(paths, batch_size=1)] == reference
    assert [c.text for c in cap.caption_many(paths, batch_size=2)] == reference


@pytest.mark.parametrize("beta", [0.5, 2.0])
def test_batched_early_decided_decoding_equals_the_plain_loop(cap: Captioner, beta: float) -> None:
    # Prompts of different lengths exercise left padding; random audio steers differently.
    prompts = [
        build_prompt([]),
        build_prompt(["Dog", "Speech"]),
        build_prompt(["Rain", "Thunder", "Engine"]),
    ]
    audio = torch.nn.functional.normalize(
        torch.randn(3, cap.dim, generator=torch.Generator().manual_seed(3)), dim=-1
    )
    plain = with_config(cap, beta=beta, early_decision=False).decoder
    fast = with_config(cap, beta=beta).decoder
    one_by_one = [plain.decode([p], audio[i : i + 1])[0] for i, p in enumerate(prompts)]
    together = fast.decode(prompts, audio)
    assert [r.token_ids for r in together] == [r.token_ids for r in one_by_one]
    assert len({r.text for r in one_by_one}) > 1  # the rows really differ


def test_early_decision_skips_text_encoder_on_real_models(cap: Captioner, tone: Path) -> None:
    calls: list[int] = []
    original = cap.decoder.embed_text

    def counting(texts):
        calls.append(len(texts))
        return original(texts)

    fast = with_config(cap)
    fast.decoder.embed_text = counting
    fast_result = fast.caption(tone)
    fast_calls = sum(calls)
    calls.clear()
    plain = with_config(cap, early_decision=False)
    plain.decoder.embed_text = counting
    assert plain.caption(tone).text == fast_result.text
    assert fast_calls < sum(calls)


def test_caption_many_keeps_order_and_survives_bad_files(cap: Captioner, tmp_path: Path) -> None:
    good = clips(tmp_path, 2)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio" * 100)
    nan = tmp_path / "nan.wav"
    sf.write(str(nan), np.full(100, np.nan, np.float32), 16000, subtype="FLOAT")
    sources = [good[0], bad, tmp_path / "missing.flac", nan, good[1]]
    results = list(cap.caption_many(iter(sources), batch_size=2))
    assert [type(r).__name__ for r in results] == [
        "Caption",
        "CaptionFailure",
        "CaptionFailure",
        "CaptionFailure",
        "Caption",
    ]
    assert isinstance(results[1], CaptionFailure) and results[1].path == str(bad)
    assert results[1].error_type == "AudioDecodeError"
    assert results[0].text == cap.caption(good[0]).text
    assert results[4].text == cap.caption(good[1]).text
    with pytest.raises(AudioDecodeError):
        cap.caption(bad)


def test_long_file_is_several_windows(cap: Captioner, tmp_path: Path) -> None:
    path = write_tone(tmp_path / "long.wav", seconds=30.0, sample_rate=16000)
    mean = with_config(cap, window_policy="mean", max_windows=8).caption(path)
    assert mean.provenance.window_policy == "mean-of-8x2s"
    assert mean.duration_s == pytest.approx(30.0)
    assert cap.caption(path).provenance.window_policy == "random-crop"


def test_embeddings(cap: Captioner, tone: Path) -> None:
    text = cap.embed_text(["a dog barks", "rain"])
    assert text.shape == (2, cap.dim) and text.dtype == np.float32
    assert np.allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-5)
    audio = cap.embed_audio(tone)
    assert audio.shape == (cap.dim,) and np.linalg.norm(audio) == pytest.approx(1.0, abs=1e-5)
    assert cap.embedding_model_id == cap.clap_ref
    assert cap.embed_text([]).shape == (0, cap.dim)


def test_text_is_padded_to_the_longest_string(cap: Captioner) -> None:
    backend = cap.audio_model
    assert isinstance(backend, ClapBackend)
    seen: list[tuple[int, ...]] = []
    original = backend.model.get_text_features

    def spy(**kw):
        seen.append(tuple(kw["input_ids"].shape))
        return original(**kw)

    backend.model.get_text_features = spy
    try:
        short = backend.embed_text(["dog"])
        both = backend.embed_text(["dog", "rain falls on a roof while thunder rumbles"])
    finally:
        del backend.model.get_text_features
    assert seen[0][1] < 10 and seen[1][1] < 20  # longest in the call, never a fixed 77
    assert torch.allclose(short[0], both[0], atol=1e-5)
    assert backend._truncation == "rand_trunc"  # unfused model: never "fusion"


def test_degeneration_penalty_runs_on_real_models(cap: Captioner, tone: Path) -> None:
    result = with_config(cap, alpha=0.3).caption(tone)
    assert result.text and result.provenance.params["alpha"] == 0.3


def test_cancel_between_steps(cap: Captioner, tone: Path) -> None:
    with pytest.raises(CaptionCancelledError):
        cap.caption(tone, cancel=lambda: True)


def test_missing_and_broken_models(tiny_models: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="earmark models download org/absent"):
        Captioner.load(clap="org/absent", llm=str(tiny_models / "llm"), device="cpu")
    broken = tmp_path / "clap-no-tokenizer"
    shutil.copytree(tiny_models / "clap", broken)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (broken / name).unlink()
    with pytest.raises(ModelLoadError, match="tokenizer"):
        load_audio_text_model(str(broken), device="cpu", dtype=torch.float32)
    with pytest.raises(ModelLoadError, match="not a CLAP model"):
        load_audio_text_model(str(tiny_models / "llm"), device="cpu", dtype=torch.float32)


def test_five_token_tokenizer_is_refused(cap: Captioner) -> None:
    backend = cap.audio_model
    assert isinstance(backend, ClapBackend)

    class Stub:
        model_max_length = 512

        def __len__(self) -> int:
            return 5

    with pytest.raises(ModelLoadError, match="only 5 tokens"):
        ClapBackend(backend.model, Stub(), backend.extractor, model_id="x", fingerprint="y")


def test_sdpa_text_attention_matches_eager(tiny_models: Path) -> None:
    backend = load_audio_text_model(str(tiny_models / "clap"), device="cpu", dtype=torch.float32)
    assert isinstance(backend, ClapBackend)
    texts = ["a dog", "rain falls on a roof while thunder rumbles", "x"]
    eager = backend.embed_text(texts)
    backend.model.config.text_config._attn_implementation = "sdpa"  # what GPU loads use
    assert torch.allclose(eager, backend.embed_text(texts), atol=1e-5)


def test_int8_text_encoder_is_an_opt_in_cpu_mode(tiny_models: Path, tone: Path) -> None:
    cfg = CaptionerConfig.preset("paper").with_overrides({"text_int8": "true"})
    fast = Captioner.load(
        cfg, clap=str(tiny_models / "clap"), llm=str(tiny_models / "llm"), device="cpu"
    )
    backend = fast.audio_model
    assert isinstance(backend, ClapBackend) and backend.fingerprint.endswith("|text-int8")
    exact = load_audio_text_model(str(tiny_models / "clap"), device="cpu", dtype=torch.float32)
    a = fast.embed_text(["a dog barks"])[0]
    b = exact.embed_text(["a dog barks"])[0].numpy()
    assert float(a @ b) > 0.9  # close, not identical: that is why it is opt-in
    assert fast.caption(tone).text


def test_fast_batch_decode_matches_the_tokenizer(cap: Captioner) -> None:
    rng = np.random.default_rng(0)
    seqs = [rng.integers(0, cap.lm.n_valid_tokens, size=n).tolist() for n in (1, 5, 30)]
    slow = cap.lm.tokenizer.batch_decode(seqs, skip_special_tokens=True)
    assert cap.lm._rust_decode is not None
    assert cap.lm.decode_batch(seqs) == slow


def test_windows_of_many_clips_share_audio_calls(
    cap: Captioner, tmp_path: Path, monkeypatch
) -> None:
    import captioner.indexing as indexing

    long = write_tone(tmp_path / "long.wav", seconds=20.0, sample_rate=16000, freq=300.0)
    short = write_tone(tmp_path / "short.wav", seconds=1.0, sample_rate=16000, freq=900.0)
    mean = with_config(cap, window_policy="mean", max_windows=8)
    alone = [mean.embed_audio(long), mean.embed_audio(short)]
    calls: list[int] = []
    original = cap.audio_model.embed_audio

    def counting(windows):
        calls.append(int(windows.shape[0]))
        return original(windows)

    monkeypatch.setattr(cap.audio_model, "embed_audio", counting)
    monkeypatch.setattr(indexing, "_AUDIO_WINDOWS_PER_CALL", 3)
    together = mean.indexer.embed_many([(long, None), (short, None)])
    assert calls == [3, 3, 3]  # 8 + 1 windows in calls of at most 3
    for got, want in zip(together, alone):
        assert np.allclose(got.audio_embedding, want, atol=1e-5)  # type: ignore[union-attr]


def test_index_many_batched_equals_one_at_a_time(cap: Captioner, tmp_path: Path) -> None:
    paths = [*clips(tmp_path, 3), tmp_path / "missing.wav"]
    mean = with_config(cap, window_policy="mean", max_windows=4)
    batched = list(mean.index_many(paths, batch_size=4))
    alone = [next(mean.index_many([p], batch_size=1)) for p in paths]
    assert isinstance(batched[-1], CaptionFailure) and isinstance(alone[-1], CaptionFailure)
    for got, want, path in zip(batched[:-1], alone[:-1], paths):
        assert isinstance(got, AudioIndex) and isinstance(want, AudioIndex)
        assert got.path == str(path) and got.policy_key == mean.policy_key == "mean/4"
        assert np.allclose(got.audio_embedding, want.audio_embedding, atol=1e-5)
        assert [t.keyword for t in got.tags] == [t.keyword for t in want.tags]
        assert 0 < len(got.tags) <= TAG_COUNT and all(t.score > TAG_FLOOR for t in got.tags)
        # The tags are the closest keywords, as the caption's prompt keywords are.
        assert got.tags == mean.indexer.keywords(got.audio_embedding, len(got.tags))


def test_caption_from_a_stored_index_equals_a_fresh_caption(cap: Captioner, tmp_path: Path) -> None:
    paths = [*clips(tmp_path, 3), tmp_path / "missing.wav"]
    fresh = list(cap.caption_many(paths, batch_size=2))
    index = list(cap.index_many(paths[:2]))
    assert all(isinstance(i, AudioIndex) for i in index)
    # Mixed batch: two clips from the index, one decoded, one failing.
    stored = [*index, None, None]
    again = list(cap.caption_many(paths, batch_size=4, indexed=stored))  # type: ignore[arg-type]
    assert isinstance(again[-1], CaptionFailure)
    for got, want in zip(again[:-1], fresh[:-1]):
        assert isinstance(got, Caption) and isinstance(want, Caption)
        assert got.text == want.text and got.prompt == want.prompt
        assert np.allclose(got.audio_embedding, want.audio_embedding, atol=1e-6)
        assert got.provenance.policy_key == cap.policy_key
    assert again[0].timings["decode_audio"] == 0.0  # type: ignore[union-attr]
    # An index made with other window settings is not used: the file is decoded again.
    other = dataclasses.replace(
        index[0], policy_key="first", audio_embedding=-index[0].audio_embedding
    )  # type: ignore[arg-type]
    redone = next(cap.caption_many(paths[:1], indexed=[other]))
    assert isinstance(redone, Caption) and redone.text == fresh[0].text  # type: ignore[union-attr]
    assert np.allclose(redone.audio_embedding, fresh[0].audio_embedding, atol=1e-6)  # type: ignore[union-attr]


def test_load_indexer_needs_no_language_model(
    cap: Captioner, tiny_models: Path, tmp_path: Path
) -> None:
    from captioner.loading import plan_load

    plan = plan_load("paper", clap=str(tiny_models / "clap"), llm=str(tmp_path / "no-llm"))
    with pytest.raises(ModelNotFoundError):
        plan.load()
    indexer = plan.load_indexer()
    assert not hasattr(indexer, "lm")
    paths = clips(tmp_path, 2)
    assert indexer.policy_key == cap.policy_key
    assert indexer.embedding_model_id == cap.embedding_model_id and indexer.dim == cap.dim
    for got, want in zip(indexer.index_many(paths), cap.index_many(paths)):
        assert isinstance(got, AudioIndex) and isinstance(want, AudioIndex)
        assert np.allclose(got.audio_embedding, want.audio_embedding, atol=1e-6)
        assert got.tags == want.tags
    assert np.allclose(indexer.embed_text(["a dog"]), cap.embed_text(["a dog"]), atol=1e-6)
    shared = cap.indexer
    assert shared.audio_model is cap.audio_model and shared.policy_key == cap.policy_key
