"""Import of a full-size synthetic HTSAT-BERT checkpoint (the published model's names and shapes).

The checkpoint (about 144 M random parameters, 580 MB) is built once for this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from captioner.backends import WAVCAPS_MARKER
from captioner.types import AudioTextModel
from captioner.wavcaps import MARKER, WavCapsBackend, WavCapsConfig, import_checkpoint, load_wavcaps
from wavcaps.reference import reference_audio_embedding
from wavcaps.synthetic import FULL, WAVCAPS_CONFIG, official_state, write_checkpoint

# Deselect with -m "not slow" for a quick run; CI runs it.
pytestmark = pytest.mark.slow

A = "audio_encoder.audio_enc."
T = "text_encoder.text_encoder."

# Tensors the retrieval model recomputes or never uses; everything else must survive.
DROPPED = re.compile(
    r"audio_encoder\.audio_enc\.("
    r"audio_feats_extractor\..*|layers\.\d+\.blocks\.\d+\.attn_mask|tscam_conv\..*|head\..*)"
    r"|text_encoder\.text_encoder\.embeddings\.position_ids|temp"
)


@pytest.fixture(scope="module")
def full_state() -> Iterator[dict[str, torch.Tensor]]:
    state = official_state(FULL, seed=11)
    yield state
    state.clear()


@pytest.fixture(scope="module")
def full_import(
    tmp_path_factory: pytest.TempPathFactory,
    full_state: dict[str, torch.Tensor],
    bert_tokenizer: Path,
) -> Iterator[Path]:
    work = tmp_path_factory.mktemp("wavcaps-full")
    ckpt = write_checkpoint(work / "HTSAT-BERT-PT.pt", full_state, config=WAVCAPS_CONFIG)
    out = import_checkpoint(ckpt, work / "imported", tokenizer_dir=bert_tokenizer)
    ckpt.unlink()  # 580 MB; the folder must stand on its own from here
    yield out


@pytest.fixture(scope="module")
def full_model(full_import: Path) -> WavCapsBackend:
    return load_wavcaps(full_import, device="cpu", dtype=torch.float32)


def to_wavcaps_names(saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Undo the import's renaming (written independently of the importer)."""
    out: dict[str, torch.Tensor] = {}
    qkv: dict[str, dict[str, torch.Tensor]] = {}
    renames = [
        ("batch_norm.", "bn0."),
        ("layernorm_before.", "norm1."),
        ("layernorm_after.", "norm2."),
        ("attention.output.dense.", "attn.proj."),
        ("intermediate.dense.", "mlp.fc1."),
        ("output.dense.", "mlp.fc2."),
        ("attention.self.relative_position", "attn.relative_position"),
    ]
    for key, value in saved.items():
        if key.startswith("audio_encoder."):
            rest = key[len("audio_encoder.") :]
            m = re.fullmatch(r"(.*)\.attention\.self\.(query|key|value)\.(weight|bias)", rest)
            if m:
                qkv.setdefault(f"{m[1]}.attn.qkv.{m[3]}", {})[m[2]] = value
                continue
            for old, new in renames:
                rest = rest.replace(old, new)
            out[A + rest] = value
        elif key.startswith("text_encoder."):
            out[T + key[len("text_encoder.") :]] = value
        else:
            out[key] = value
    for name, parts in qkv.items():
        out[A + name] = torch.cat([parts["query"], parts["key"], parts["value"]])
    return out


def test_every_tensor_is_consumed(full_state: dict[str, torch.Tensor], full_import: Path) -> None:
    assert len(full_state) == 407
    marker = json.loads((full_import / MARKER).read_text())
    assert sorted(marker["ignored"]) == sorted(
        [A + "tscam_conv.weight", A + "tscam_conv.bias", A + "head.weight", A + "head.bias", "temp"]
    )
    checked = marker["checked"]
    assert len([k for k in checked if k.endswith("attn_mask")]) == 1 + 1 + 3  # shifted blocks
    assert A + "audio_feats_extractor.log_trans.melW" in checked
    assert T + "embeddings.position_ids" in checked
    # Every dropped tensor is listed as checked or ignored; the rest survive (next test).
    dropped = {k for k in full_state if DROPPED.fullmatch(k)}
    assert dropped == set(checked) | set(marker["ignored"])


def test_round_trip_is_bit_for_bit(
    full_state: dict[str, torch.Tensor], full_model: WavCapsBackend
) -> None:
    saved = {k: v for k, v in full_model.model.state_dict().items()}
    assert 135e6 < sum(v.numel() for v in saved.values()) < 145e6
    back = to_wavcaps_names(saved)
    kept = {k for k in full_state if not DROPPED.fullmatch(k)}
    assert set(back) == kept
    for key in sorted(kept):
        assert back[key].dtype == full_state[key].dtype, key
        assert torch.equal(back[key], full_state[key]), key


def test_folder_is_self_contained_and_marked(full_import: Path) -> None:
    names = sorted(p.name for p in full_import.iterdir())
    assert MARKER == WAVCAPS_MARKER
    assert {"model.safetensors", MARKER, "tokenizer.json", "tokenizer_config.json"} <= set(names)
    assert not any(n.endswith((".pt", ".bin", ".pkl")) for n in names)  # nothing to unpickle
    marker = json.loads((full_import / MARKER).read_text())
    assert marker["format"] == "earmark-wavcaps"
    # every size read back from the shapes as the published model's
    assert WavCapsConfig.from_dict(marker["config"]) == WavCapsConfig()
    assert marker["source"]["checkpoint"] == "HTSAT-BERT-PT.pt"
    assert not list(full_import.parent.glob(".imported.partial-*"))


@pytest.fixture(scope="module")
def windows() -> torch.Tensor:
    # One window: a full-size HTSAT forward costs seconds on a shared CPU. Batching and padding
    # are tested on the scaled model.
    gen = torch.Generator().manual_seed(0)
    return torch.randn(1, 320000, generator=gen) * 0.1


@pytest.fixture(scope="module")
def audio_embeddings(full_model: WavCapsBackend, windows: torch.Tensor) -> torch.Tensor:
    return full_model.embed_audio(windows)


def test_embeddings_are_1024_d_unit_norm(
    full_model: WavCapsBackend, audio_embeddings: torch.Tensor
) -> None:
    assert isinstance(full_model, AudioTextModel)
    assert (full_model.sample_rate, full_model.window_seconds, full_model.dim) == (
        32000,
        10.0,
        1024,
    )
    audio = audio_embeddings
    assert audio.shape == (1, 1024) and audio.dtype == torch.float32
    torch.testing.assert_close(audio.norm(dim=-1), torch.ones(1))
    text = full_model.embed_text(["a dog barks", "rain falls on a roof", "a dog barks"])
    assert text.shape == (3, 1024) and text.dtype == torch.float32
    torch.testing.assert_close(text.norm(dim=-1), torch.ones(3))
    torch.testing.assert_close(text[0], text[2], atol=1e-5, rtol=0)  # padding does not leak
    assert not torch.allclose(text[0], text[1])


def test_audio_matches_wavcaps_reference_forward(
    full_state: dict[str, torch.Tensor], windows: torch.Tensor, audio_embeddings: torch.Tensor
) -> None:
    with torch.inference_mode():
        want = reference_audio_embedding(
            full_state, windows[:1], depths=FULL.depths, heads=FULL.heads, window=FULL.window
        )
    got = audio_embeddings[:1]
    cos = float((got * want).sum())
    assert cos > 0.9999, cos
    torch.testing.assert_close(got, want, atol=2e-4, rtol=0)


@pytest.mark.parametrize("with_config", [True, False])
def test_a_checkpoint_missing_its_last_bert_layer_is_refused(
    full_state: dict[str, torch.Tensor], with_config: bool
) -> None:
    from captioner.wavcaps import WavCapsImportError, convert_state_dict

    layer = T + "encoder.layer.11."
    state = {k: v for k, v in full_state.items() if not k.startswith(layer)}
    saved = WAVCAPS_CONFIG if with_config else None
    with pytest.raises(WavCapsImportError) as err:
        convert_state_dict(state, saved_config=saved)
    message = str(err.value)
    assert "truncated WavCaps checkpoint: 16 tensor(s)" in message
    for name in (k for k in full_state if k.startswith(layer)):
        assert name in message  # named as in the checkpoint
    assert ("saved WavCaps config" in message) == with_config


@pytest.mark.parametrize("with_config", [True, False])
def test_a_checkpoint_missing_an_htsat_block_is_refused(
    full_state: dict[str, torch.Tensor], with_config: bool
) -> None:
    from captioner.wavcaps import WavCapsImportError, convert_state_dict

    block = A + "layers.2.blocks.5."
    gone = sorted(k for k in full_state if k.startswith(block))
    assert len(gone) == 15  # 14 weights and the shifted block's attention mask
    state = {k: v for k, v in full_state.items() if not k.startswith(block)}
    saved = WAVCAPS_CONFIG if with_config else None
    with pytest.raises(WavCapsImportError) as err:
        convert_state_dict(state, saved_config=saved)
    message = str(err.value)
    assert "truncated WavCaps checkpoint: 15 tensor(s)" in message
    assert all(name in message for name in gone)
