"""Synthetic WavCaps HTSAT-BERT checkpoints with the official key names and shapes.

The names and shapes follow the public WavCaps retrieval code (XinhaoMei/WavCaps,
``retrieval/models/ase_model.py``, ``audio_encoder.py``, ``htsat.py``, ``feature_extractor.py``,
``text_encoder.py``): ``ASE(config).state_dict()`` with the HTSAT audio encoder (torchlibrosa
front end, ``bn0``, Swin stages with fused ``qkv`` and registered shift masks, ``tscam_conv`` and
``head``), ``bert-base-uncased`` without pooler (with the ``position_ids`` buffer that transformers
4.2x saved), two ``Linear-ReLU-Linear`` projections and ``temp``. Deterministic buffers get the
values the WavCaps code computes (written here from its formulas, independently of Earmark's
importer); everything else is random.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

A = "audio_encoder.audio_enc."
T = "text_encoder.text_encoder."


@dataclass(frozen=True)
class Sizes:
    """Architecture sizes; the defaults are the published HTSAT-BERT model's."""

    embed_dim: int = 96
    depths: tuple[int, ...] = (2, 2, 6, 2)
    heads: tuple[int, ...] = (4, 8, 16, 32)
    window: int = 8
    spec_size: int = 256
    patch: int = 4
    n_mels: int = 64
    n_fft: int = 1024
    sample_rate: int = 32000
    num_classes: int = 527
    vocab: int = 30522
    hidden: int = 768
    layers: int = 12
    intermediate: int = 3072
    max_pos: int = 512
    embed_size: int = 1024


FULL = Sizes()


def scaled(vocab: int) -> Sizes:
    """A small model with the same front end, key names and HTSAT image size."""
    return Sizes(
        embed_dim=8,
        depths=(2, 2),
        heads=(2, 2),
        vocab=vocab,
        hidden=128,
        layers=2,
        intermediate=256,
        max_pos=64,
    )


def _stage_geometry(s: Sizes, i: int) -> tuple[int, int, int]:
    """(dim, resolution, window) of stage ``i``; HTSAT shrinks the window to small grids."""
    dim = s.embed_dim * 2**i
    res = s.spec_size // s.patch // 2**i
    window = min(s.window, res)
    return dim, res, window


def swin_relative_index(w: int) -> torch.Tensor:
    """HTSAT ``WindowAttention.relative_position_index`` for a ``w x w`` window."""
    coords = np.stack(np.meshgrid(np.arange(w), np.arange(w), indexing="ij")).reshape(2, -1)
    rel = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0).copy()
    rel[:, :, 0] += w - 1
    rel[:, :, 1] += w - 1
    rel[:, :, 0] *= 2 * w - 1
    return torch.from_numpy(rel.sum(-1)).long()


def swin_shift_mask(res: int, w: int) -> torch.Tensor:
    """HTSAT ``SwinTransformerBlock.attn_mask`` for a shifted block on a ``res x res`` grid."""
    shift = w // 2
    img = np.zeros((res, res))
    cnt = 0
    for h in (slice(0, -w), slice(-w, -shift), slice(-shift, None)):
        for v in (slice(0, -w), slice(-w, -shift), slice(-shift, None)):
            img[h, v] = cnt
            cnt += 1
    windows = img.reshape(res // w, w, res // w, w).transpose(0, 2, 1, 3).reshape(-1, w * w)
    diff = windows[:, None, :] - windows[:, :, None]
    return torch.from_numpy(np.where(diff != 0, -100.0, 0.0)).float()


def torchlibrosa_stft_weights(n_fft: int) -> tuple[torch.Tensor, torch.Tensor]:
    """torchlibrosa ``STFT.conv_real/conv_imag`` weights: DFT matrix rows times periodic Hann."""
    x, y = np.meshgrid(np.arange(n_fft), np.arange(n_fft))
    # omega ** (x * y) as torchlibrosa's dft_matrix, with the exponent reduced mod n_fft first.
    dft = np.exp(-2j * np.pi * ((x * y) % n_fft) / n_fft)
    window = np.hanning(n_fft + 1)[:-1]  # scipy 'hann' with fftbins=True is the periodic one
    bins = n_fft // 2 + 1
    real = np.real(dft[:, :bins] * window[:, None]).T[:, None, :]
    imag = np.imag(dft[:, :bins] * window[:, None]).T[:, None, :]
    return torch.tensor(real, dtype=torch.float32), torch.tensor(imag, dtype=torch.float32)


def librosa_mel(s: Sizes) -> torch.Tensor:
    """``librosa.filters.mel(sr, n_fft, n_mels, 50, 14000).T`` via transformers' port of it."""
    from transformers.audio_utils import mel_filter_bank

    bank = mel_filter_bank(
        num_frequency_bins=s.n_fft // 2 + 1,
        num_mel_filters=s.n_mels,
        min_frequency=50.0,
        max_frequency=14000.0,
        sampling_rate=s.sample_rate,
        norm="slaney",
        mel_scale="slaney",
    )
    return torch.tensor(bank, dtype=torch.float32)


def official_state(s: Sizes, seed: int = 0) -> dict[str, torch.Tensor]:
    """Return a random ``ASE`` state dict with the official key names and the shapes of ``s``."""
    g = torch.Generator().manual_seed(seed)

    def rnd(*shape: int, std: float = 0.02, mean: float = 0.0) -> torch.Tensor:
        return torch.empty(shape).normal_(mean, std, generator=g)

    def ln(prefix: str, dim: int) -> dict[str, torch.Tensor]:
        return {prefix + "weight": rnd(dim, std=0.05, mean=1.0), prefix + "bias": rnd(dim)}

    def linear(prefix: str, out_f: int, in_f: int, bias: bool = True) -> dict[str, torch.Tensor]:
        d = {prefix + "weight": rnd(out_f, in_f)}
        if bias:
            d[prefix + "bias"] = rnd(out_f)
        return d

    st: dict[str, torch.Tensor] = {}
    real, imag = torchlibrosa_stft_weights(s.n_fft)
    st[A + "audio_feats_extractor.mel_trans.stft.conv_real.weight"] = real
    st[A + "audio_feats_extractor.mel_trans.stft.conv_imag.weight"] = imag
    st[A + "audio_feats_extractor.log_trans.melW"] = librosa_mel(s)
    st[A + "bn0.weight"] = rnd(s.n_mels, std=0.05, mean=1.0)
    st[A + "bn0.bias"] = rnd(s.n_mels)
    st[A + "bn0.running_mean"] = rnd(s.n_mels, std=5.0, mean=-40.0)
    st[A + "bn0.running_var"] = 100.0 + torch.rand(s.n_mels, generator=g) * 50.0
    st[A + "bn0.num_batches_tracked"] = torch.tensor(12345, dtype=torch.long)
    st[A + "patch_embed.proj.weight"] = rnd(s.embed_dim, 1, s.patch, s.patch, std=0.1)
    st[A + "patch_embed.proj.bias"] = rnd(s.embed_dim)
    st.update(ln(A + "patch_embed.norm.", s.embed_dim))
    for i, depth in enumerate(s.depths):
        dim, res, w = _stage_geometry(s, i)
        for j in range(depth):
            b = A + f"layers.{i}.blocks.{j}."
            st.update(ln(b + "norm1.", dim))
            st[b + "attn.relative_position_bias_table"] = rnd((2 * w - 1) ** 2, s.heads[i])
            st[b + "attn.relative_position_index"] = swin_relative_index(w)
            st.update(linear(b + "attn.qkv.", 3 * dim, dim))
            st.update(linear(b + "attn.proj.", dim, dim))
            st.update(ln(b + "norm2.", dim))
            st.update(linear(b + "mlp.fc1.", 4 * dim, dim))
            st.update(linear(b + "mlp.fc2.", dim, 4 * dim))
            if j % 2 == 1 and res > s.window:
                st[b + "attn_mask"] = swin_shift_mask(res, w)
        if i < len(s.depths) - 1:
            d = A + f"layers.{i}.downsample."
            st.update(linear(d + "reduction.", 2 * dim, 4 * dim, bias=False))
            st.update(ln(d + "norm.", 4 * dim))
    features = s.embed_dim * 2 ** (len(s.depths) - 1)
    st.update(ln(A + "norm.", features))
    sf = s.spec_size // 2 ** (len(s.depths) - 1) // s.patch // (s.spec_size // s.n_mels)
    st[A + "tscam_conv.weight"] = rnd(s.num_classes, features, sf, 3)
    st[A + "tscam_conv.bias"] = rnd(s.num_classes)
    st.update(linear(A + "head.", s.num_classes, s.num_classes))

    st[T + "embeddings.position_ids"] = torch.arange(s.max_pos).unsqueeze(0)
    st[T + "embeddings.word_embeddings.weight"] = rnd(s.vocab, s.hidden)
    st[T + "embeddings.position_embeddings.weight"] = rnd(s.max_pos, s.hidden)
    st[T + "embeddings.token_type_embeddings.weight"] = rnd(2, s.hidden)
    st.update(ln(T + "embeddings.LayerNorm.", s.hidden))
    for n in range(s.layers):
        p = T + f"encoder.layer.{n}."
        for part in ("query", "key", "value"):
            st.update(linear(p + f"attention.self.{part}.", s.hidden, s.hidden))
        st.update(linear(p + "attention.output.dense.", s.hidden, s.hidden))
        st.update(ln(p + "attention.output.LayerNorm.", s.hidden))
        st.update(linear(p + "intermediate.dense.", s.intermediate, s.hidden))
        st.update(linear(p + "output.dense.", s.hidden, s.intermediate))
        st.update(ln(p + "output.LayerNorm.", s.hidden))
    st.update(linear("audio_proj.0.", s.embed_size, features))
    st.update(linear("audio_proj.2.", s.embed_size, s.embed_size))
    st.update(linear("text_proj.0.", s.embed_size, s.hidden))
    st.update(linear("text_proj.2.", s.embed_size, s.embed_size))
    st["temp"] = torch.tensor(0.07)
    return st


#: The settings WavCaps' trainer saves beside the weights (its ``config`` entry), reduced to the
#: entries an importer can read; values of the published HTSAT-BERT retrieval model.
WAVCAPS_CONFIG = {
    "embed_size": 1024,
    "temp": 0.07,
    "audio_args": {"sr": 32000, "n_fft": 1024, "hop_length": 320, "f_min": 50, "f_max": 14000,
                   "n_mels": 64, "max_length": 30, "mono": True},
    "audio_encoder_args": {"type": "transformer", "model": "htsat", "pretrained": True,
                           "freeze": False},
    "text_encoder_args": {"type": "bert-base-uncased", "freeze": False},
    "optim_args": {"lr": 5e-5, "optimizer_name": "adam", "betas": [0.9, 0.999], "eps": 1e-8},
}  # fmt: skip


def trainer_optimizer_state(state: dict[str, torch.Tensor]) -> dict[str, object]:
    """An Adam state dict as WavCaps' trainer leaves it.

    Its ``cosine_lr`` schedule computes the learning rate with ``np.cos``, so the param group
    holds a ``numpy.float64``, which a plain weights-only unpickler refuses.
    """
    step = 1234
    lr = 0.5 * (1 + np.cos(np.pi * step / 5000)) * 5e-5
    first = next(iter(state.values()))
    moments = {"step": torch.tensor(float(step)), "exp_avg": torch.zeros_like(first),
               "exp_avg_sq": torch.zeros_like(first)}  # fmt: skip
    group = {"lr": lr, "betas": (0.9, 0.999), "eps": 1e-08, "weight_decay": 0, "amsgrad": False,
             "params": [0]}  # fmt: skip
    return {"state": {0: moments}, "param_groups": [group]}


def write_checkpoint(
    path: Path, state: dict[str, torch.Tensor], *, config: dict[str, object] | None = None
) -> Path:
    """Save ``state`` the way WavCaps' trainer does: model, optimizer, config and epoch."""
    saved: dict[str, object] = {
        "model": state,
        "optimizer": trainer_optimizer_state(state),
        "epoch": 10,
    }
    if config is not None:
        saved["config"] = config
    torch.save(saved, path)
    return path


def build_bert_tokenizer(out: Path, words: list[str]) -> Path:
    """Train a small lower-casing WordPiece (BERT) tokenizer offline and save it to ``out``."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizer

    trainer_tok = BertWordPieceTokenizer(lowercase=True)
    trainer_tok.train_from_iterator(words, vocab_size=600, min_frequency=1, show_progress=False)
    out.mkdir(parents=True, exist_ok=True)
    BertTokenizer(vocab=trainer_tok.get_vocab(), do_lower_case=True).save_pretrained(str(out))
    return out
