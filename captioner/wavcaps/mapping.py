"""Map a WavCaps ``ASE`` state dict onto :class:`WavCapsModel` (no file I/O here).

Every checkpoint tensor is accounted for, one of four ways:

* **mapped** onto a module: HTSAT names become transformers ``ClapAudioEncoder`` names
  (``norm1`` -> ``layernorm_before``, ``attn.proj`` -> ``attention.output.dense``, ``mlp.fc1`` ->
  ``intermediate.dense``, ``bn0`` -> ``batch_norm``, ...); the fused ``attn.qkv`` is split in three
  equal row blocks (query, key, value: HTSAT reshapes its output as ``(3, heads, head_dim)``);
  BERT names are unchanged; the projections keep their names.
* **checked** and dropped: buffers the model recomputes, which must equal what it computes or the
  checkpoint was trained with something else: the torchlibrosa STFT kernels and mel matrix
  (against :mod:`captioner.wavcaps.frontend`), Swin shift masks, BERT ``position_ids``.
* **ignored** by design: HTSAT's tagging layers ``tscam_conv`` and ``head`` (the retrieval model
  returns the pooled latent computed before them) and the contrastive temperature ``temp`` (it
  only scales training logits; its value is kept in the config).
* anything else is **unmapped**, and an error lists it, as it does every model tensor the
  checkpoint lacks (**missing**) and every shape that disagrees.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from captioner.errors import CaptionerError
from captioner.wavcaps.architectures import (
    expected_architecture,
    missing_tensors,
    settings_from_saved_config,
)
from captioner.wavcaps.config import AUDIO_PREFIX, TEXT_PREFIX, WavCapsConfig, infer_config
from captioner.wavcaps.frontend import mel_filterbank, stft_kernels

log = logging.getLogger(__name__)

__all__ = ["ConversionReport", "WavCapsImportError", "convert_state_dict"]

# Tolerance for buffers a checkpoint stores as float32 after computing them in float64.
_BUFFER_RTOL = 1e-4
# Most tensor names one error message lists.
_MAX_NAMES = 60

_AUDIO_RENAMES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"bn0\.(.+)"), r"batch_norm.\1"),
    (re.compile(r"patch_embed\.(proj|norm)\.(weight|bias)"), r"patch_embed.\1.\2"),
    (re.compile(r"norm\.(weight|bias)"), r"norm.\1"),
    (re.compile(r"layers\.(\d+)\.downsample\.(.+)"), r"layers.\1.downsample.\2"),
    (
        re.compile(r"layers\.(\d+)\.blocks\.(\d+)\.norm1\.(.+)"),
        r"layers.\1.blocks.\2.layernorm_before.\3",
    ),
    (
        re.compile(r"layers\.(\d+)\.blocks\.(\d+)\.norm2\.(.+)"),
        r"layers.\1.blocks.\2.layernorm_after.\3",
    ),
    (
        re.compile(r"layers\.(\d+)\.blocks\.(\d+)\.mlp\.fc1\.(.+)"),
        r"layers.\1.blocks.\2.intermediate.dense.\3",
    ),
    (
        re.compile(r"layers\.(\d+)\.blocks\.(\d+)\.mlp\.fc2\.(.+)"),
        r"layers.\1.blocks.\2.output.dense.\3",
    ),
    (
        re.compile(r"layers\.(\d+)\.blocks\.(\d+)\.attn\.proj\.(.+)"),
        r"layers.\1.blocks.\2.attention.output.dense.\3",
    ),
    (
        re.compile(
            r"layers\.(\d+)\.blocks\.(\d+)\.attn\.(relative_position_bias_table|relative_position_index)"
        ),
        r"layers.\1.blocks.\2.attention.self.\3",
    ),
]
_QKV = re.compile(r"layers\.(\d+)\.blocks\.(\d+)\.attn\.qkv\.(weight|bias)")
_SHIFT_MASK = re.compile(r"layers\.\d+\.blocks\.\d+\.attn_mask")
_IGNORED_AUDIO = re.compile(r"(tscam_conv|head)\.(weight|bias)")
_FRONT_END = {
    "audio_feats_extractor.mel_trans.stft.conv_real.weight": "stft_real",
    "audio_feats_extractor.mel_trans.stft.conv_imag.weight": "stft_imag",
    "audio_feats_extractor.log_trans.melW": "mel",
}
_PROJECTION = re.compile(r"(audio_proj|text_proj)\.[02]\.(weight|bias)")


class WavCapsImportError(CaptionerError):
    """A checkpoint cannot be imported (unreadable, not WavCaps HTSAT-BERT, or inconsistent)."""


@dataclass
class ConversionReport:
    """What happened to each checkpoint tensor.

    Attributes:
        config: The model configuration read from the shapes.
        mapped: Checkpoint keys whose values went into the model.
        checked: Recomputed buffers that matched and were dropped.
        ignored: Tensors the retrieval model does not use.
    """

    config: WavCapsConfig
    mapped: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def _close(name: str, got: torch.Tensor, want: np.ndarray, problems: list[str]) -> None:
    if tuple(got.shape) != want.shape:
        problems.append(f"{name}: shape {tuple(got.shape)}, expected {want.shape}")
        return
    diff = float(np.max(np.abs(got.detach().double().numpy() - want)))
    scale = float(np.max(np.abs(want))) or 1.0
    if diff > _BUFFER_RTOL * scale:
        problems.append(f"{name}: differs from Earmark's front end by {diff:.3g} (max {scale:.3g})")


def _target_shapes(config: WavCapsConfig) -> dict[str, tuple[int, ...]]:
    from captioner.wavcaps.model import WavCapsModel

    # The meta device gives names and shapes without allocating 800 MB.
    with torch.device("meta"):
        model = WavCapsModel(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_MAX_NAMES])
    return shown + (f", and {len(names) - _MAX_NAMES} more" if len(names) > _MAX_NAMES else "")


def convert_state_dict(
    state: Mapping[str, torch.Tensor],
    base: WavCapsConfig | None = None,
    *,
    saved_config: Mapping[str, Any] | None = None,
) -> tuple[dict[str, torch.Tensor], ConversionReport]:
    """Turn a WavCaps ``ASE`` state dict into a :class:`WavCapsModel` state dict.

    Args:
        state: The checkpoint's ``model`` entry.
        base: Settings that shapes do not reveal (default: the published model's).
        saved_config: The checkpoint's ``config`` entry (WavCaps' settings), when it has one:
            its front-end settings are used and its architecture is what a complete checkpoint
            must hold.

    Returns:
        The model's state dict (every tensor contiguous, ready for safetensors) and a report.

    Raises:
        WavCapsImportError: Listing unmapped, missing and mis-shaped tensors, front-end
            buffers that differ from Earmark's, or the tensors a truncated checkpoint lacks.
    """
    prefix = ""
    if state and all(k.startswith("module.") for k in state):
        prefix = "module."
        state = {k[len("module.") :]: v for k, v in state.items()}  # saved from DataParallel
    base = settings_from_saved_config(saved_config, base or WavCapsConfig())
    try:
        config = infer_config(state, base)
        config.validate()
    except KeyError as exc:
        raise WavCapsImportError(
            f"not a WavCaps HTSAT-BERT checkpoint: it has no tensor {exc.args[0]}"
        ) from None
    except ValueError as exc:
        raise WavCapsImportError(f"inconsistent WavCaps checkpoint: {exc}") from None
    expected, refusal = expected_architecture(config, saved_config)
    if refusal:
        raise WavCapsImportError(f"cannot import this WavCaps checkpoint: {refusal}")
    absent = missing_tensors(state, config, expected, prefix)
    if absent:
        raise WavCapsImportError(
            f"truncated WavCaps checkpoint: {len(absent)} tensor(s) that {expected.source} "
            f"hold are missing: {_names(absent)}"
        )
    report = ConversionReport(config)
    out: dict[str, torch.Tensor] = {}
    unmapped: list[str] = []
    problems: list[str] = []
    real, imag = stft_kernels(config.n_fft)
    expected_front = {
        "stft_real": real,
        "stft_imag": imag,
        "mel": mel_filterbank(
            config.sample_rate, config.n_fft, config.n_mels, config.f_min, config.f_max
        ),
    }
    for key, value in state.items():
        if _PROJECTION.fullmatch(key):
            out[key] = value
            report.mapped.append(key)
        elif key == "temp":
            report.ignored.append(key)
        elif key.startswith(AUDIO_PREFIX):
            _convert_audio(
                key,
                key[len(AUDIO_PREFIX) :],
                value,
                out,
                report,
                unmapped,
                problems,
                expected_front,
                _tscam_height(config),
            )
        elif key.startswith(TEXT_PREFIX):
            rest = key[len(TEXT_PREFIX) :]
            if rest == "embeddings.position_ids":
                want = np.arange(value.shape[-1])[None, :]
                if not np.array_equal(value.reshape(1, -1).numpy(), want):
                    problems.append(f"{key}: not 0..{value.shape[-1] - 1}")
                report.checked.append(key)
            elif rest == "embeddings.token_type_ids":
                if bool(value.any()):
                    problems.append(f"{key}: not all zero")
                report.checked.append(key)
            elif rest.startswith("pooler."):
                report.ignored.append(key)  # WavCaps builds BERT without its pooler
            else:
                out["text_encoder." + rest] = value
                report.mapped.append(key)
        else:
            unmapped.append(key)

    targets = _target_shapes(config)
    unmapped += sorted(k for k in out if k not in targets)
    for k in [k for k in out if k not in targets]:
        del out[k]
    missing = sorted(k for k in targets if k not in out)
    problems += [
        f"{k}: shape {tuple(out[k].shape)}, model needs {targets[k]}"
        for k in sorted(out)
        if tuple(out[k].shape) != targets[k]
    ]
    _check_relative_index(out, problems)
    if unmapped or missing or problems:
        parts = []
        if unmapped:
            parts.append(f"{len(unmapped)} unmapped tensor(s): " + ", ".join(unmapped))
        if missing:
            parts.append(f"{len(missing)} missing tensor(s): " + ", ".join(missing))
        if problems:
            parts.append("; ".join(problems))
        raise WavCapsImportError("cannot import WavCaps checkpoint: " + " | ".join(parts))
    log.debug(
        "WavCaps state dict: %d mapped, %d checked, %d ignored",
        len(report.mapped),
        len(report.checked),
        len(report.ignored),
    )
    return {k: v.contiguous() for k, v in out.items()}, report


def _convert_audio(
    key: str,
    rest: str,
    value: torch.Tensor,
    out: dict[str, torch.Tensor],
    report: ConversionReport,
    unmapped: list[str],
    problems: list[str],
    expected_front: Mapping[str, np.ndarray],
    expected_sf: int,
) -> None:
    if rest in _FRONT_END:
        _close(key, value, expected_front[_FRONT_END[rest]], problems)
        report.checked.append(key)
        return
    if _IGNORED_AUDIO.fullmatch(rest):
        # Unused, but its kernel height is the frequency groups of HTSAT's last grid, which
        # pins spec_size when the shapes above could not (no shifted block in stage 0).
        if rest == "tscam_conv.weight" and value.ndim == 4 and value.shape[2] != expected_sf:
            problems.append(
                f"{key}: kernel height {value.shape[2]} does not fit spec_size "
                f"{report.config.spec_size} (expected {expected_sf})"
            )
        report.ignored.append(key)
        return
    if _SHIFT_MASK.fullmatch(rest):
        # transformers rebuilds the shifted-window mask at run time from the same rule.
        if value.ndim != 3 or not bool(((value == 0) | (value == -100)).all()):
            problems.append(f"{key}: not a Swin shifted-window mask")
        report.checked.append(key)
        return
    qkv = _QKV.fullmatch(rest)
    if qkv:
        stage, block, kind = qkv.groups()
        if value.shape[0] % 3:
            problems.append(f"{key}: {value.shape[0]} rows cannot split into query, key, value")
            return
        prefix = f"audio_encoder.layers.{stage}.blocks.{block}.attention.self."
        for name, part in zip(("query", "key", "value"), value.chunk(3, dim=0)):
            out[f"{prefix}{name}.{kind}"] = part.clone()
        report.mapped.append(key)
        return
    for pattern, repl in _AUDIO_RENAMES:
        if pattern.fullmatch(rest):
            out["audio_encoder." + pattern.sub(repl, rest)] = value
            report.mapped.append(key)
            return
    unmapped.append(key)


def _tscam_height(config: WavCapsConfig) -> int:
    freq_ratio = config.spec_size // config.n_mels
    grid = config.spec_size // config.patch_size // 2 ** (len(config.depths) - 1)
    return grid // freq_ratio


def _check_relative_index(out: Mapping[str, torch.Tensor], problems: list[str]) -> None:
    """The relative position index is a loaded buffer; it must be Swin's, or attention breaks."""
    for key, value in out.items():
        if not key.endswith("relative_position_index"):
            continue
        w = math.isqrt(int(value.shape[0]))
        coords = torch.stack(
            torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")
        ).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (w - 1)
        want = rel[:, :, 0] * (2 * w - 1) + rel[:, :, 1]
        if tuple(value.shape) != tuple(want.shape) or not torch.equal(value.long(), want):
            problems.append(f"{key}: not Swin's relative position index")
