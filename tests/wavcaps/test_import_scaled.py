"""Import errors and model behaviour, on a small checkpoint with the official key names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import captioner.models
from captioner.backends import load_audio_text_model
from captioner.errors import ModelLoadError
from captioner.wavcaps import (
    MARKER,
    LogMelFrontEnd,
    WavCapsBackend,
    WavCapsImportError,
    convert_state_dict,
    import_checkpoint,
    load_wavcaps,
)
from wavcaps.synthetic import A, T, write_checkpoint


class NotATensor:
    """Anything a weights-only unpickler must refuse to build."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("this must never run",))


@pytest.fixture(scope="module")
def small_model_dir(
    tmp_path_factory: pytest.TempPathFactory, scaled_checkpoint: Path, bert_tokenizer: Path
) -> Path:
    out = tmp_path_factory.mktemp("small") / "wavcaps"
    return import_checkpoint(scaled_checkpoint, out, tokenizer_dir=bert_tokenizer)


@pytest.fixture(scope="module")
def small_model(small_model_dir: Path) -> WavCapsBackend:
    return load_wavcaps(small_model_dir, device="cpu", dtype=torch.float32)


def test_unmapped_tensors_are_named(scaled_state: dict[str, torch.Tensor]) -> None:
    state = dict(scaled_state)
    state[A + "extra_layer.weight"] = torch.zeros(3)
    state[T + "encoder.layer.7.attention.self.query.weight"] = torch.zeros(3)
    state["logit_scale"] = torch.zeros(())
    with pytest.raises(WavCapsImportError) as err:
        convert_state_dict(state)
    msg = str(err.value)
    assert "3 unmapped" in msg
    for name in (
        "extra_layer.weight",
        "encoder.layer.7.attention.self.query.weight",
        "logit_scale",
    ):
        assert name in msg


def test_missing_tensors_are_named(scaled_state: dict[str, torch.Tensor]) -> None:
    state = dict(scaled_state)
    del state[A + "layers.1.blocks.0.mlp.fc2.bias"]
    del state[T + "encoder.layer.1.output.LayerNorm.weight"]
    with pytest.raises(WavCapsImportError) as err:
        convert_state_dict(state)
    msg = str(err.value)
    assert "2 missing" in msg
    assert "audio_encoder.layers.1.blocks.0.output.dense.bias" in msg
    assert "text_encoder.encoder.layer.1.output.LayerNorm.weight" in msg


def test_wrong_shapes_are_named(scaled_state: dict[str, torch.Tensor]) -> None:
    state = dict(scaled_state)
    state["text_proj.0.weight"] = torch.zeros(1024, 7)
    with pytest.raises(WavCapsImportError, match=r"text_proj\.0\.weight: shape \(1024, 7\)"):
        convert_state_dict(state)


def test_a_different_front_end_is_refused(scaled_state: dict[str, torch.Tensor]) -> None:
    state = dict(scaled_state)
    key = A + "audio_feats_extractor.log_trans.melW"
    state[key] = state[key] * 1.01  # e.g. another mel normalisation
    with pytest.raises(WavCapsImportError, match=r"melW: differs from Earmark.s front end"):
        convert_state_dict(state)


def test_a_different_htsat_image_size_is_refused(scaled_state: dict[str, torch.Tensor]) -> None:
    state = dict(scaled_state)
    key = A + "tscam_conv.weight"
    state[key] = torch.zeros(527, 16, 4, 3)  # the kernel of a 128-wide HTSAT image
    with pytest.raises(WavCapsImportError, match=r"tscam_conv\.weight: kernel height 4"):
        convert_state_dict(state)


def test_a_checkpoint_without_htsat_is_refused(scaled_state: dict[str, torch.Tensor]) -> None:
    state = {k: v for k, v in scaled_state.items() if "patch_embed" not in k}
    with pytest.raises(WavCapsImportError, match="not a WavCaps HTSAT-BERT checkpoint"):
        convert_state_dict(state)


def test_bad_files_lose_nothing(
    tmp_path: Path, scaled_state: dict[str, torch.Tensor], scaled_checkpoint: Path
) -> None:
    out = tmp_path / "out"
    torch.save({"state_dict": scaled_state}, tmp_path / "lightning.ckpt")
    with pytest.raises(WavCapsImportError, match="under the key 'model'"):
        import_checkpoint(tmp_path / "lightning.ckpt", out)
    torch.save({"model": scaled_state, "extra": NotATensor()}, tmp_path / "unsafe.pt")
    with pytest.raises(WavCapsImportError, match=r"not a WavCaps checkpoint.*\(print\)"):
        import_checkpoint(tmp_path / "unsafe.pt", out)
    with pytest.raises(WavCapsImportError, match="not found"):
        import_checkpoint(tmp_path / "nope.pt", out)
    with pytest.raises(WavCapsImportError, match="cannot load a tokenizer"):
        import_checkpoint(scaled_checkpoint, out, tokenizer_dir=tmp_path / "no-tokenizer")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lightning.ckpt", "unsafe.pt"]
    # An existing, non-empty folder is never touched.
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(WavCapsImportError, match="not an empty folder"):
        import_checkpoint(scaled_checkpoint, out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_batching_and_zero_padding(small_model: WavCapsBackend) -> None:
    gen = torch.Generator().manual_seed(5)
    a = torch.randn(320000, generator=gen) * 0.1
    b = torch.randn(96000, generator=gen) * 0.1  # a 3 s clip
    padded_b = torch.nn.functional.pad(b, (0, 320000 - b.numel()))
    batch = small_model.embed_audio(torch.stack([a, padded_b]))
    assert batch.shape == (2, 1024)
    torch.testing.assert_close(batch.norm(dim=-1), torch.ones(2))
    assert not torch.allclose(batch[0], batch[1], atol=1e-3)
    # A short clip is zero-padded to 10 s, and batching does not change an embedding.
    torch.testing.assert_close(small_model.embed_audio(b[None]), batch[1:], atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="the model takes 320000"):
        small_model.embed_audio(torch.zeros(1, 320001))


def test_text_is_truncated_at_30_word_pieces(small_model: WavCapsBackend) -> None:
    long = " ".join(["dog barks loudly"] * 40)
    enc = small_model.tokenizer([long], truncation=True, max_length=small_model.max_text_tokens)
    assert len(enc["input_ids"][0]) == 30
    torch.testing.assert_close(
        small_model.embed_text([long]), small_model.embed_text([long + " and a car passes"])
    )
    short = small_model.embed_text(["a dog barks", long])
    torch.testing.assert_close(
        short[:1], small_model.embed_text(["a dog barks"]), atol=1e-5, rtol=0
    )
    assert small_model.embed_text([]).shape == (0, 1024)


def test_buffers_outside_the_weights_file_are_rebuilt(small_model: WavCapsBackend) -> None:
    # Weights are loaded into modules built without random init; the buffers that are not in
    # model.safetensors must still hold their computed values.
    m = small_model.model
    positions = m.text_encoder.embeddings.position_ids
    assert torch.equal(positions[0], torch.arange(positions.shape[1]))
    assert not m.text_encoder.embeddings.token_type_ids.any()
    assert torch.equal(m.front_end.window, torch.hann_window(1024, periodic=True))
    assert torch.equal(m.front_end.mel_basis, LogMelFrontEnd(m.config).mel_basis)


def test_dispatch_loads_it_like_any_clap(small_model_dir: Path) -> None:
    model = load_audio_text_model(str(small_model_dir), device="cpu", dtype=torch.float32)
    assert isinstance(model, WavCapsBackend)
    assert model.fingerprint.startswith(str(small_model_dir))


def test_missing_tokenizer_says_how_to_fix(
    tmp_path: Path,
    scaled_checkpoint: Path,
    bert_tokenizer: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No --tokenizer and no bert-base-uncased in the HF cache (see conftest): the folder is
    # written without one, and loading says what to do.
    out = import_checkpoint(scaled_checkpoint, tmp_path / "no-tok")
    assert not (out / "tokenizer_config.json").exists()
    with pytest.raises(ModelLoadError, match="earmark models download bert-base-uncased"):
        load_wavcaps(out, device="cpu", dtype=torch.float32)
    # Once bert-base-uncased is in the HF cache, loading uses it ...
    monkeypatch.setattr(captioner.models, "resolve", lambda ref, **_: bert_tokenizer)
    model = load_wavcaps(out, device="cpu", dtype=torch.float32)
    assert model.embed_text(["a dog barks"]).shape == (1, 1024)
    # ... and importing copies it in, so the folder stands on its own.
    copied = import_checkpoint(scaled_checkpoint, tmp_path / "cached-tok")
    assert (copied / "tokenizer_config.json").is_file()


def test_broken_folders_give_clear_errors(tmp_path: Path, small_model_dir: Path) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(small_model_dir, broken)
    (broken / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match=r"model\.safetensors is missing"):
        load_wavcaps(broken, device="cpu", dtype=torch.float32)
    shutil.copy(small_model_dir / "model.safetensors", broken / "model.safetensors")
    marker = json.loads((broken / MARKER).read_text())
    marker["config"]["embed_dim"] = 16  # weights no longer fit
    (broken / MARKER).write_text(json.dumps(marker))
    with pytest.raises(ModelLoadError, match="weights do not fit"):
        load_wavcaps(broken, device="cpu", dtype=torch.float32)
    (broken / MARKER).write_text("{not json")
    with pytest.raises(ModelLoadError, match="unreadable"):
        load_wavcaps(broken, device="cpu", dtype=torch.float32)


def test_checkpoint_saved_from_dataparallel_imports(
    tmp_path: Path, scaled_state: dict[str, torch.Tensor]
) -> None:
    wrapped = {"module." + k: v for k, v in scaled_state.items()}
    tensors, report = convert_state_dict(wrapped)
    assert len(report.mapped) + len(report.checked) + len(report.ignored) == len(scaled_state)
    assert "audio_proj.0.weight" in tensors
    ckpt = write_checkpoint(tmp_path / "dp.pt", wrapped)
    assert (import_checkpoint(ckpt, tmp_path / "dp") / "model.safetensors").is_file()


def test_half_precision_keeps_the_embedding(
    small_model_dir: Path, small_model: WavCapsBackend
) -> None:
    half = load_wavcaps(small_model_dir, device="cpu", dtype=torch.float16)
    assert half.dtype == torch.float16 and half.fingerprint != small_model.fingerprint
    wave = torch.randn(1, 320000, generator=torch.Generator().manual_seed(9)) * 0.1
    got, want = half.embed_audio(wave), small_model.embed_audio(wave)
    assert got.dtype == torch.float32  # the protocol's promise, whatever the weights' precision
    torch.testing.assert_close(got.norm(dim=-1), torch.ones(1))
    assert float((got * want).sum()) > 0.99
    text = half.embed_text(["a dog barks"])
    assert float((text * small_model.embed_text(["a dog barks"])).sum()) > 0.99


def test_legacy_and_optimizer_laden_checkpoints_import(
    tmp_path: Path, scaled_state: dict[str, torch.Tensor]
) -> None:
    # WavCaps' training script saves {"model", "optimizer", "config", "epoch"}.
    optimizer = {"state": {0: {"exp_avg": torch.ones(4)}}, "param_groups": [{"lr": 5e-5}]}
    config = {"audio_args": {"sr": 32000, "n_mels": 64}, "temp": 0.07}
    legacy = tmp_path / "legacy.pt"
    torch.save(
        {"model": scaled_state, "optimizer": optimizer, "config": config, "epoch": 3},
        legacy,
        _use_new_zipfile_serialization=False,  # pre-1.6 format: cannot be memory-mapped
    )
    assert (import_checkpoint(legacy, tmp_path / "a") / "model.safetensors").is_file()
    modern = tmp_path / "modern.pt"
    torch.save({"model": scaled_state, "optimizer": optimizer, "config": config}, modern)
    assert (import_checkpoint(modern, tmp_path / "b") / "model.safetensors").is_file()


def test_text_with_lone_surrogates_is_embedded(small_model: WavCapsBackend) -> None:
    out = small_model.embed_text(["\udcffdog", "dog"])  # invalid UTF-8 from a command line
    assert out.shape == (2, small_model.dim) and bool(torch.isfinite(out).all())
