"""WavCaps' own audio forward pass, written from the public HTSAT code, on WavCaps tensor names.

It reads the checkpoint state dict as is (fused ``qkv``, the stored shift masks, torchlibrosa's
convolutional STFT and mel matrix), so comparing it with Earmark's model checks the whole tensor
mapping, not just that names line up.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

A = "audio_encoder.audio_enc."


def _ln(x: torch.Tensor, st: dict[str, torch.Tensor], p: str) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], st[p + "weight"], st[p + "bias"], eps=1e-5)


def _lin(x: torch.Tensor, st: dict[str, torch.Tensor], p: str) -> torch.Tensor:
    return F.linear(x, st[p + "weight"], st.get(p + "bias"))


def reference_audio_embedding(
    st: dict[str, torch.Tensor],
    wave: torch.Tensor,
    *,
    depths: tuple[int, ...],
    heads: tuple[int, ...],
    window: int,
    spec_size: int = 256,
    patch: int = 4,
    hop: int = 320,
) -> torch.Tensor:
    """``ASE.encode_audio(wave)``: (B, samples) -> (B, embed_size), unit norm."""
    real_w = st[A + "audio_feats_extractor.mel_trans.stft.conv_real.weight"]
    imag_w = st[A + "audio_feats_extractor.mel_trans.stft.conv_imag.weight"]
    n_fft = real_w.shape[-1]
    x = F.pad(wave[:, None, :], (n_fft // 2, n_fft // 2), mode="reflect")
    power = F.conv1d(x, real_w, stride=hop) ** 2 + F.conv1d(x, imag_w, stride=hop) ** 2
    power = power.transpose(1, 2)[:, None]  # (B, 1, T, bins)
    mel = torch.matmul(power, st[A + "audio_feats_extractor.log_trans.melW"])
    x = 10.0 * torch.log10(torch.clamp(mel, min=1e-10))
    # bn0 over mel bins (eval mode)
    x = x.transpose(1, 3)
    x = F.batch_norm(
        x,
        st[A + "bn0.running_mean"],
        st[A + "bn0.running_var"],
        st[A + "bn0.weight"],
        st[A + "bn0.bias"],
        training=False,
        eps=1e-5,
    ).transpose(1, 3)
    # reshape_wav2img
    n_mels = x.shape[3]
    freq_ratio = spec_size // n_mels
    x = F.interpolate(x, (spec_size * freq_ratio, n_mels), mode="bicubic", align_corners=True)
    x = x.permute(0, 1, 3, 2).contiguous()
    x = x.reshape(x.shape[0], 1, n_mels, freq_ratio, x.shape[3] // freq_ratio)
    x = x.permute(0, 1, 3, 2, 4).contiguous().reshape(x.shape[0], 1, spec_size, spec_size)
    # patch embedding
    x = F.conv2d(
        x, st[A + "patch_embed.proj.weight"], st[A + "patch_embed.proj.bias"], stride=patch
    )
    x = _ln(x.flatten(2).transpose(1, 2), st, A + "patch_embed.norm.")
    res = spec_size // patch
    for i, depth in enumerate(depths):
        for j in range(depth):
            x = _block(x, st, A + f"layers.{i}.blocks.{j}.", res, heads[i], window, j)
        if i < len(depths) - 1:
            b, _, c = x.shape
            g = x.view(b, res, res, c)
            g = torch.cat(
                [g[:, 0::2, 0::2], g[:, 1::2, 0::2], g[:, 0::2, 1::2], g[:, 1::2, 1::2]], -1
            )
            g = _ln(g.view(b, -1, 4 * c), st, A + f"layers.{i}.downsample.norm.")
            x = _lin(g, st, A + f"layers.{i}.downsample.reduction.")
            res //= 2
    x = _ln(x, st, A + "norm.")
    pooled = x.mean(dim=1)  # avgpool over every (frequency group, time) position
    h = F.relu(_lin(pooled, st, "audio_proj.0."))
    return F.normalize(_lin(h, st, "audio_proj.2."), dim=-1)


def _block(
    x: torch.Tensor,
    st: dict[str, torch.Tensor],
    p: str,
    res: int,
    n_heads: int,
    window: int,
    j: int,
) -> torch.Tensor:
    ws, shift = window, (window // 2 if j % 2 else 0)
    if res <= window:
        ws, shift = res, 0
    b, n, c = x.shape
    shortcut = x
    h = _ln(x, st, p + "norm1.").view(b, res, res, c)
    if shift:
        h = torch.roll(h, shifts=(-shift, -shift), dims=(1, 2))
    win = (
        h.view(b, res // ws, ws, res // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws * ws, c)
    )
    bw, nt, _ = win.shape
    qkv = _lin(win, st, p + "attn.qkv.").reshape(bw, nt, 3, n_heads, c // n_heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4)
    attn = (q * (c // n_heads) ** -0.5) @ k.transpose(-2, -1)
    index = st[p + "attn.relative_position_index"].view(-1)
    bias = st[p + "attn.relative_position_bias_table"][index].view(nt, nt, -1).permute(2, 0, 1)
    attn = attn + bias.unsqueeze(0)
    if shift:
        mask = st[p + "attn_mask"]
        nw = mask.shape[0]
        attn = attn.view(bw // nw, nw, n_heads, nt, nt) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, n_heads, nt, nt)
    out = (attn.softmax(-1) @ v).transpose(1, 2).reshape(bw, nt, c)
    out = _lin(out, st, p + "attn.proj.")
    out = (
        out.view(b, res // ws, res // ws, ws, ws, c)
        .permute(0, 1, 3, 2, 4, 5)
        .reshape(b, res, res, c)
    )
    if shift:
        out = torch.roll(out, shifts=(shift, shift), dims=(1, 2))
    x = shortcut + out.reshape(b, n, c)
    mlp = _lin(F.gelu(_lin(_ln(x, st, p + "norm2."), st, p + "mlp.fc1.")), st, p + "mlp.fc2.")
    return x + mlp
