"""The architectures WavCaps builds, to refuse a truncated checkpoint instead of shrinking it.

:func:`captioner.wavcaps.config.infer_config` reads the model sizes from tensor shapes and counts
layers up to the first missing index, so a checkpoint missing its whole last BERT layer would
read as an 11-layer BERT, one missing ``layers.2.blocks.5`` as HTSAT depths ``[2, 2, 5, 2]``.
WavCaps itself loads with a strict ``load_state_dict`` and refuses both. The expected sizes come
from the checkpoint's own ``config`` entry when its trainer saved one (``audio_encoder_args``,
``text_encoder_args``), else from the architectures WavCaps' code can build
(``retrieval/models/audio_encoder.py``: one HTSAT; ``text_encoder.py``: a fixed list of BERTs).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from captioner.wavcaps.config import AUDIO_PREFIX, TEXT_PREFIX, WavCapsConfig

log = logging.getLogger(__name__)

__all__ = ["Expected", "expected_architecture", "missing_tensors", "settings_from_saved_config"]

#: The one HTSAT WavCaps builds (``HTSAT_Swin_Transformer(embed_dim=96, depths=[2, 2, 6, 2], ...)``).
HTSAT_DEPTHS = (2, 2, 6, 2)
HTSAT_HEADS = (4, 8, 16, 32)
HTSAT_EMBED_DIM = 96

#: WavCaps' text encoders that are BERTs: name -> (hidden size, layers).
BERTS: dict[str, tuple[int, int]] = {
    "bert-base-uncased": (768, 12),
    "bert-large-uncased": (1024, 24),
    "prajjwal1/bert-tiny": (128, 2),
    "prajjwal1/bert-mini": (256, 4),
    "prajjwal1/bert-small": (512, 4),
    "prajjwal1/bert-medium": (512, 8),
}
#: Its other text encoders (other tokenizers and layouts), which this importer does not rebuild.
OTHER_TEXT_ENCODERS = (
    "openai/clip-vit-base-patch32",
    "gpt2",
    "distilgpt2",
    "roberta-base",
    "roberta-large",
    "distilbert-base-uncased",
    "distilroberta-base",
)

_BLOCK_TENSORS = (
    "norm1.weight",
    "norm1.bias",
    "attn.relative_position_bias_table",
    "attn.relative_position_index",
    "attn.qkv.weight",
    "attn.qkv.bias",
    "attn.proj.weight",
    "attn.proj.bias",
    "norm2.weight",
    "norm2.bias",
    "mlp.fc1.weight",
    "mlp.fc1.bias",
    "mlp.fc2.weight",
    "mlp.fc2.bias",
)
_BERT_LAYER_TENSORS = tuple(
    f"{part}.{kind}"
    for part in (
        "attention.self.query",
        "attention.self.key",
        "attention.self.value",
        "attention.output.dense",
        "attention.output.LayerNorm",
        "intermediate.dense",
        "output.dense",
        "output.LayerNorm",
    )
    for kind in ("weight", "bias")
)


@dataclass(frozen=True)
class Expected:
    """What a complete checkpoint holds.

    Attributes:
        depths: Swin blocks per HTSAT stage, or None when only evenness can be checked.
        text_layers: BERT layers allowed (one value, or two for a hidden size two BERTs share).
        source: Where the expectation comes from, for the error message.
    """

    depths: tuple[int, ...] | None
    text_layers: tuple[int, ...] | None
    source: str


def _section(saved: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = saved.get(name)
    return value if isinstance(value, Mapping) else {}


def settings_from_saved_config(
    saved: Mapping[str, Any] | None, base: WavCapsConfig
) -> WavCapsConfig:
    """Take the front-end settings (``audio_args``) from a checkpoint's saved ``config``.

    Numbers that are absent or not numbers keep ``base``'s values.
    """
    if not saved:
        return base
    audio = _section(saved, "audio_args")
    names = {
        "sr": "sample_rate",
        "n_fft": "n_fft",
        "hop_length": "hop_length",
        "n_mels": "n_mels",
        "f_min": "f_min",
        "f_max": "f_max",
    }
    values: dict[str, Any] = {}
    for key, field_name in names.items():
        raw = audio.get(key)
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and raw > 0:
            kind = type(getattr(base, field_name))
            values[field_name] = kind(raw)
    if not values:
        return base
    from dataclasses import replace

    return replace(base, **values)


def expected_architecture(
    config: WavCapsConfig, saved: Mapping[str, Any] | None
) -> tuple[Expected, str | None]:
    """Return what a complete checkpoint of this model holds, or a reason to refuse it.

    Args:
        config: Sizes read from the checkpoint's shapes.
        saved: The checkpoint's ``config`` entry (WavCaps' settings), if it has one.

    Returns:
        ``(expected, refusal)``; ``refusal`` is a message when the saved config names an
        architecture this importer does not rebuild.
    """
    if saved:
        audio = _section(saved, "audio_encoder_args")
        text = _section(saved, "text_encoder_args")
        kind, model = audio.get("type"), str(audio.get("model", ""))
        if kind is not None and (kind != "transformer" or model.lower() != "htsat"):
            return Expected(None, None, "config"), (
                f"its audio encoder is {model or kind!r}; Earmark imports WavCaps HTSAT-BERT only"
            )
        name = text.get("type")
        if name in OTHER_TEXT_ENCODERS:
            return Expected(None, None, "config"), (
                f"its text encoder is {name}; Earmark imports WavCaps HTSAT-BERT only"
            )
        depths = HTSAT_DEPTHS if kind == "transformer" else None
        layers = (BERTS[name][1],) if name in BERTS else None
        if depths is not None or layers is not None:
            return Expected(depths, layers, "its saved WavCaps config"), None
    depths = HTSAT_DEPTHS if config.embed_dim == HTSAT_EMBED_DIM else None
    by_width = sorted({n for hidden, n in BERTS.values() if hidden == config.text_hidden_size})
    return Expected(depths, tuple(by_width) or None, "the architectures WavCaps builds"), None


def missing_tensors(
    state: Mapping[str, Any], config: WavCapsConfig, expected: Expected, prefix: str = ""
) -> list[str]:
    """Names (as in the checkpoint) of the tensors a complete checkpoint would add.

    Args:
        state: The checkpoint's ``model`` entry (``module.`` prefix already removed).
        config: Sizes read from its shapes (layer counts stop at the first gap).
        expected: From :func:`expected_architecture`.
        prefix: Prefix the checkpoint's names carry (``"module."`` from DataParallel).
    """
    missing: list[str] = []
    a, t = AUDIO_PREFIX, TEXT_PREFIX
    have = list(config.depths)
    if expected.depths is not None:
        want = list(expected.depths)
    else:
        # Swin blocks come in pairs (window attention, then shifted window attention).
        want = [d + d % 2 for d in have]
    for stage in range(max(len(want), len(have))):
        got = have[stage] if stage < len(have) else 0
        need = want[stage] if stage < len(want) else got
        res = config.spec_size // config.patch_size // 2**stage
        for block in range(got, need):
            names = list(_BLOCK_TENSORS)
            if block % 2 == 1 and res > config.window_size:
                names.append("attn_mask")  # HTSAT registers a mask for shifted blocks only
            missing += [f"{a}layers.{stage}.blocks.{block}.{n}" for n in names]
        if got == 0 and stage < len(want) - 1:
            missing += [
                f"{a}layers.{stage}.downsample.{n}"
                for n in ("reduction.weight", "norm.weight", "norm.bias")
            ]
    layers = config.text_num_layers
    allowed = expected.text_layers
    if allowed and layers not in allowed:
        target = min((n for n in allowed if n > layers), default=max(allowed))
        for layer in range(layers, target):
            missing += [f"{t}encoder.layer.{layer}.{n}" for n in _BERT_LAYER_TENSORS]
    present = set(state)
    return [prefix + name for name in missing if name not in present]
