"""The WavCaps HTSAT-BERT retrieval model rebuilt from transformers parts.

Audio: :class:`LogMelFrontEnd` -> transformers' ``ClapAudioEncoder`` (a port of the same HTSAT:
``bn0`` over mel bins, bicubic stretch of the time axis to ``spec_size * freq_ratio`` frames, fold
into a square image, Swin stages, mean pool) -> a 768 -> 1024 -> 1024 ReLU MLP -> L2 norm.
Text: transformers' ``BertModel`` without pooler -> the ``[CLS]`` hidden state -> the same kind
of MLP -> L2 norm. The projections are plain ``nn.Sequential`` so their tensor names are
WavCaps' own (``audio_proj.0`` / ``audio_proj.2``); transformers' ``ClapProjectionLayer`` computes
the same thing under other names.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import torch
from torch import nn
from torch.nn import functional as F

from captioner.wavcaps.config import WavCapsConfig
from captioner.wavcaps.frontend import LogMelFrontEnd

log = logging.getLogger(__name__)

__all__ = ["WavCapsModel", "skip_weight_init"]


@contextlib.contextmanager
def skip_weight_init() -> Iterator[None]:
    """Build modules without random initialisation; their weights are loaded right after.

    Random init of BERT base alone takes over a second on a CPU. transformers' own
    ``no_init_weights`` does this; without it (an API change) we just pay the time.
    """
    try:
        from transformers.initialization import no_init_weights
    except ImportError:  # pragma: no cover - older/newer transformers
        yield
        return
    with no_init_weights():
        yield


def _mlp(width: int, embed_size: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(width, embed_size), nn.ReLU(), nn.Linear(embed_size, embed_size))


class WavCapsModel(nn.Module):
    """HTSAT audio encoder, BERT text encoder and their projections into one space.

    Attributes:
        config: The sizes and front-end settings.
        front_end: Waveform -> log-mel (float32).
        audio_encoder: transformers ``ClapAudioEncoder`` configured as WavCaps' HTSAT.
        audio_proj: Audio projection MLP.
        text_encoder: transformers ``BertModel`` without pooling layer.
        text_proj: Text projection MLP.
    """

    def __init__(self, config: WavCapsConfig) -> None:
        super().__init__()
        from transformers import BertConfig, BertModel, ClapAudioConfig
        from transformers.models.clap.modeling_clap import ClapAudioEncoder

        config.validate()
        self.config = config
        self.front_end = LogMelFrontEnd(config)
        audio_config = ClapAudioConfig(
            num_mel_bins=config.n_mels,
            spec_size=config.spec_size,
            patch_size=config.patch_size,
            patch_stride=[config.patch_size, config.patch_size],
            patch_embeds_hidden_size=config.embed_dim,
            hidden_size=config.audio_width,
            depths=list(config.depths),
            num_attention_heads=list(config.num_heads),
            window_size=config.window_size,
            mlp_ratio=config.mlp_ratio,
            hidden_act="gelu",  # nn.GELU (exact), as in HTSAT
            layer_norm_eps=1e-5,  # nn.LayerNorm's default, as in HTSAT
            qkv_bias=True,
            enable_patch_layer_norm=True,
            enable_fusion=False,  # WavCaps' HTSAT has no fusion branch
            drop_path_rate=0.0,
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
        )
        self.audio_encoder = ClapAudioEncoder(audio_config)
        self.audio_proj = _mlp(config.audio_width, config.embed_size)
        text_config = BertConfig(
            vocab_size=config.text_vocab_size,
            hidden_size=config.text_hidden_size,
            num_hidden_layers=config.text_num_layers,
            num_attention_heads=config.text_num_heads,
            intermediate_size=config.text_intermediate_size,
            max_position_embeddings=config.text_max_positions,
            type_vocab_size=config.text_type_vocab_size,
            layer_norm_eps=1e-12,
            hidden_act="gelu",
        )
        self.text_encoder = BertModel(text_config, add_pooling_layer=False)
        self.text_proj = _mlp(config.text_hidden_size, config.embed_size)

    def encode_audio(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Embed zero-padded mono windows ``(B, window_samples)`` -> ``(B, embed_size)`` float32.

        Raises:
            ValueError: A window is longer than the model window.
        """
        n = self.config.window_samples
        if waveforms.ndim != 2:
            raise ValueError(
                f"expected (batch, samples) windows, got shape {tuple(waveforms.shape)}"
            )
        if waveforms.shape[1] > n:
            raise ValueError(f"windows hold {waveforms.shape[1]} samples; the model takes {n}")
        if waveforms.shape[1] < n:
            waveforms = F.pad(waveforms, (0, n - waveforms.shape[1]))
        param = next(self.audio_proj.parameters())
        mel = self.front_end(waveforms.to(param.device))
        pooled = self.audio_encoder(input_features=mel.to(param.dtype)).pooler_output
        # Normalise in float32: a float16 norm is off by ~1e-4, enough to skew cosine ranks.
        return F.normalize(self.audio_proj(pooled).float(), dim=-1)

    def encode_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Embed token ids ``(N, L)`` -> ``(N, embed_size)`` float32, unit norm (``[CLS]`` state)."""
        hidden = self.text_encoder(
            input_ids=input_ids, attention_mask=attention_mask
        ).last_hidden_state
        return F.normalize(self.text_proj(hidden[:, 0, :]).float(), dim=-1)
