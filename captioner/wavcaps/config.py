"""The architecture and front-end settings of a WavCaps HTSAT-BERT model.

Defaults are the published retrieval model (``HTSAT-BERT-PT.pt``, WavCaps
``retrieval/settings/inference.yaml`` and ``models/audio_encoder.py``). :func:`infer_config` reads
the sizes back from a checkpoint's tensor shapes, so a checkpoint of a smaller variant (or the
synthetic ones the tests build) yields a matching model instead of a shape error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch

__all__ = ["AUDIO_PREFIX", "TEXT_PREFIX", "WavCapsConfig", "infer_config"]

#: Where the HTSAT audio encoder sits in a WavCaps ``ASE`` state dict.
AUDIO_PREFIX = "audio_encoder.audio_enc."
#: Where the BERT text encoder sits in a WavCaps ``ASE`` state dict.
TEXT_PREFIX = "text_encoder.text_encoder."


@dataclass(frozen=True)
class WavCapsConfig:
    """Everything needed to rebuild the model and its 32 kHz log-mel front end.

    Attributes:
        sample_rate: Audio rate the model expects.
        window_seconds: Length of one model window; shorter input is zero-padded.
        n_fft: STFT size (and Hann window length).
        hop_length: STFT hop in samples.
        n_mels: Mel bands.
        f_min: Lowest mel frequency in Hz.
        f_max: Highest mel frequency in Hz.
        amin: Floor of the mel power before the log (power-to-dB).
        ref: Reference power of power-to-dB (``10 * log10(max(amin, ref))`` is subtracted).
        spec_size: HTSAT's square input image side (time is stretched and folded into it).
        patch_size: HTSAT patch size (and stride).
        embed_dim: HTSAT patch embedding width (doubles at every stage).
        depths: Swin blocks per stage.
        num_heads: Attention heads per stage.
        window_size: Swin attention window side.
        mlp_ratio: Swin MLP width over block width.
        num_classes: Classes of HTSAT's tagging head (unused by retrieval; kept for the record).
        text_vocab_size: BERT vocabulary size.
        text_hidden_size: BERT width.
        text_num_layers: BERT layers.
        text_num_heads: BERT attention heads.
        text_intermediate_size: BERT feed-forward width.
        text_max_positions: BERT position embeddings.
        text_type_vocab_size: BERT token type embeddings.
        max_text_tokens: Tokenizer truncation length, special tokens included (WavCaps: 30).
        embed_size: Joint embedding size (both projections end here).
        temperature: Contrastive temperature from the checkpoint (not used for embedding).
    """

    sample_rate: int = 32000
    window_seconds: float = 10.0
    n_fft: int = 1024
    hop_length: int = 320
    n_mels: int = 64
    f_min: float = 50.0
    f_max: float = 14000.0
    amin: float = 1e-10
    ref: float = 1.0
    spec_size: int = 256
    patch_size: int = 4
    embed_dim: int = 96
    depths: tuple[int, ...] = (2, 2, 6, 2)
    num_heads: tuple[int, ...] = (4, 8, 16, 32)
    window_size: int = 8
    mlp_ratio: float = 4.0
    num_classes: int = 527
    text_vocab_size: int = 30522
    text_hidden_size: int = 768
    text_num_layers: int = 12
    text_num_heads: int = 12
    text_intermediate_size: int = 3072
    text_max_positions: int = 512
    text_type_vocab_size: int = 2
    max_text_tokens: int = 30
    embed_size: int = 1024
    temperature: float = 0.07

    @property
    def audio_width(self) -> int:
        """Width of HTSAT's pooled output (the audio projection's input)."""
        return self.embed_dim * 2 ** (len(self.depths) - 1)

    @property
    def window_samples(self) -> int:
        """Samples in one model window."""
        return round(self.sample_rate * self.window_seconds)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (tuples become lists)."""
        out = asdict(self)
        out["depths"] = list(self.depths)
        out["num_heads"] = list(self.num_heads)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WavCapsConfig:
        """Build a config from :meth:`to_dict` output.

        Raises:
            ValueError: An unknown key, or a value of the wrong kind.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown WavCaps config keys: {', '.join(unknown)}")
        values = dict(data)
        for key in ("depths", "num_heads"):
            if key in values:
                values[key] = tuple(int(v) for v in values[key])
        cfg = cls(**values)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Check that the sizes fit together.

        Raises:
            ValueError: Naming the first inconsistency.
        """
        if len(self.depths) != len(self.num_heads) or not self.depths:
            raise ValueError("depths and num_heads need one entry per stage")
        if self.spec_size % self.n_mels:
            raise ValueError(
                f"spec_size {self.spec_size} is not a multiple of n_mels {self.n_mels}"
            )
        freq_ratio = self.spec_size // self.n_mels
        frames = self.window_samples // self.hop_length + 1
        if frames > self.spec_size * freq_ratio:
            raise ValueError(
                f"a {self.window_seconds} s window gives {frames} frames, more than the "
                f"{self.spec_size * freq_ratio} HTSAT takes"
            )
        if self.text_hidden_size % self.text_num_heads:
            raise ValueError("text_hidden_size must be a multiple of text_num_heads")
        if not 0 < self.f_min < self.f_max <= self.sample_rate / 2:
            raise ValueError("need 0 < f_min < f_max <= sample_rate / 2")


def _count(state: Mapping[str, torch.Tensor], template: str) -> int:
    n = 0
    while template.format(n) in state:
        n += 1
    return n


def infer_config(
    state: Mapping[str, torch.Tensor], base: WavCapsConfig | None = None
) -> WavCapsConfig:
    """Read the model sizes from a WavCaps ``ASE`` state dict's shapes.

    Sizes that shapes do not reveal (sample rate, hop, mel range, window length) come from
    ``base`` (default: the published model's). BERT heads are taken as ``hidden / 64``, the
    head width of every BERT the WavCaps code offers, when that divides.

    Raises:
        KeyError: A tensor every WavCaps HTSAT-BERT checkpoint has is absent (the name is given).
    """
    cfg = base or WavCapsConfig()
    a, t = AUDIO_PREFIX, TEXT_PREFIX

    def need(key: str) -> torch.Tensor:
        if key not in state:
            raise KeyError(key)
        return state[key]

    patch = need(a + "patch_embed.proj.weight")
    n_stages = _count(state, a + "layers.{}.blocks.0.norm1.weight")
    if n_stages == 0:
        raise KeyError(a + "layers.0.blocks.0.norm1.weight")
    depths = tuple(
        _count(state, a + f"layers.{i}.blocks.{{}}.norm1.weight") for i in range(n_stages)
    )
    heads = tuple(
        int(need(a + f"layers.{i}.blocks.0.attn.relative_position_bias_table").shape[1])
        for i in range(n_stages)
    )
    table_rows = int(need(a + "layers.0.blocks.0.attn.relative_position_bias_table").shape[0])
    window = (math.isqrt(table_rows) + 1) // 2
    embed_dim = int(patch.shape[0])
    patch_size = int(patch.shape[-1])
    spec_size = cfg.spec_size
    # A shifted block's attention mask holds one entry per window of the first stage's grid.
    mask = state.get(a + "layers.0.blocks.1.attn_mask")
    if mask is not None and mask.ndim == 3:
        spec_size = window * math.isqrt(int(mask.shape[0])) * patch_size
    n_fft = cfg.n_fft
    mel_w = state.get(a + "audio_feats_extractor.log_trans.melW")
    if mel_w is not None and mel_w.ndim == 2:
        n_fft = (int(mel_w.shape[0]) - 1) * 2
    head = state.get(a + "head.weight")
    words = need(t + "embeddings.word_embeddings.weight")
    hidden = int(words.shape[1])
    temp = state.get("temp")
    return replace(
        cfg,
        n_fft=n_fft,
        n_mels=int(need(a + "bn0.weight").shape[0]),
        spec_size=spec_size,
        patch_size=patch_size,
        embed_dim=embed_dim,
        depths=depths,
        num_heads=heads,
        window_size=window,
        mlp_ratio=int(need(a + "layers.0.blocks.0.mlp.fc1.weight").shape[0]) / embed_dim,
        num_classes=int(head.shape[0]) if head is not None else cfg.num_classes,
        text_vocab_size=int(words.shape[0]),
        text_hidden_size=hidden,
        text_num_layers=_count(state, t + "encoder.layer.{}.attention.self.query.weight"),
        text_num_heads=hidden // 64 if hidden % 64 == 0 else cfg.text_num_heads,
        text_intermediate_size=int(need(t + "encoder.layer.0.intermediate.dense.weight").shape[0]),
        text_max_positions=int(need(t + "embeddings.position_embeddings.weight").shape[0]),
        text_type_vocab_size=int(need(t + "embeddings.token_type_embeddings.weight").shape[0]),
        embed_size=int(need("audio_proj.2.weight").shape[0]),
        # Stored as float32; six digits keep 0.07 from reading back as 0.07000000029802322.
        temperature=float(f"{float(temp):.6g}")
        if temp is not None and temp.numel() == 1
        else cfg.temperature,
    )
