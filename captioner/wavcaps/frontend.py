"""WavCaps' 32 kHz log-mel front end, rebuilt on ``torch.stft``.

WavCaps computes features with torchlibrosa: ``Spectrogram`` (a convolutional STFT with a periodic
Hann window, ``center=True`` with reflect padding, power 2) then ``LogmelFilterBank`` (a
``librosa.filters.mel`` matrix with librosa's defaults: Slaney mel scale and Slaney area
normalisation, then ``10 * log10(max(x, amin)) - 10 * log10(max(amin, ref))`` with no top-dB
clipping). ``torch.stft`` with the same window and padding computes the same numbers without
torchlibrosa or torchaudio. Batch norm over mel bins (``bn0``) and the stretch of the time axis to
HTSAT's 1024 frames are the encoder's first steps, so they live there, not here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from captioner.wavcaps.config import WavCapsConfig

__all__ = [
    "LogMelFrontEnd",
    "hz_to_mel_slaney",
    "mel_filterbank",
    "mel_to_hz_slaney",
    "stft_kernels",
]

# Slaney's (Auditory Toolbox) mel scale, librosa's default: linear below 1 kHz, log above.
_F_SP = 200.0 / 3.0
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel_slaney(hz: np.ndarray) -> np.ndarray:
    """Convert Hz to mels on the Slaney scale (librosa ``hz_to_mel(htk=False)``)."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _F_SP
    log = _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(hz >= _MIN_LOG_HZ, log, linear)


def mel_to_hz_slaney(mel: np.ndarray) -> np.ndarray:
    """Convert Slaney mels back to Hz (librosa ``mel_to_hz(htk=False)``)."""
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * _F_SP
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(mel, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(mel >= _MIN_LOG_MEL, log, linear)


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, f_min: float, f_max: float
) -> np.ndarray:
    """Return the ``(n_fft // 2 + 1, n_mels)`` mel matrix of ``librosa.filters.mel(...).T``.

    Triangles are spaced evenly on the Slaney mel scale and scaled to unit area
    (``2 / (f_high - f_low)``), librosa's ``norm="slaney"`` default, which torchlibrosa uses.
    """
    fft_freqs = np.linspace(0.0, sample_rate / 2.0, 1 + n_fft // 2)
    mels = np.linspace(
        hz_to_mel_slaney(np.array(f_min)), hz_to_mel_slaney(np.array(f_max)), n_mels + 2
    )
    edges = mel_to_hz_slaney(mels)
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return np.ascontiguousarray(weights.T)


def stft_kernels(n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """Return torchlibrosa's STFT convolution kernels ``(real, imag)``, each ``(bins, 1, n_fft)``.

    Row ``k`` is ``cos`` (real) or ``-sin`` (imaginary) of ``2 pi k n / n_fft`` times the periodic
    Hann window. Used to check that a checkpoint was trained with this front end.
    """
    n = np.arange(n_fft)
    k = np.arange(n_fft // 2 + 1)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)
    phase = 2.0 * np.pi * np.outer(k, n) / n_fft
    return (np.cos(phase) * window)[:, None, :], (-np.sin(phase) * window)[:, None, :]


class LogMelFrontEnd(nn.Module):
    """Waveforms ``(B, samples)`` -> log-mel ``(B, 1, frames, n_mels)``, always in float32.

    The filterbank and window are rebuilt from the config at load (non-persistent buffers), and
    stay float32 even when the model is cast to half precision: ``model.to(dtype)`` casts every
    floating buffer, and a float16 Hann window leaks a tone's energy across the spectrum (cells
    off by tens of dB), so every cast is undone from full-precision copies kept here.
    """

    window: torch.Tensor
    mel_basis: torch.Tensor

    def __init__(self, config: WavCapsConfig) -> None:
        super().__init__()
        self.n_fft = config.n_fft
        self.hop_length = config.hop_length
        self.amin = config.amin
        self.db_offset = 10.0 * math.log10(max(config.amin, config.ref))
        self._basis64 = mel_filterbank(
            config.sample_rate, config.n_fft, config.n_mels, config.f_min, config.f_max
        )
        # Plain attributes, not buffers: Module.to leaves them alone.
        self._window32 = torch.hann_window(config.n_fft, periodic=True, device="cpu")
        self.register_buffer("window", self._window32.clone(), persistent=False)
        self.register_buffer(
            "mel_basis", torch.from_numpy(self._basis64).to(torch.float32), persistent=False
        )

    def _apply(self, fn: Any, recurse: bool = True) -> LogMelFrontEnd:
        # Module.to/.half/.cuda all end here; keep the device change, undo any precision change.
        super()._apply(fn, recurse)
        device = self.window.device
        self.window = self._window32.to(device=device)
        self.mel_basis = torch.from_numpy(self._basis64).to(device=device, dtype=torch.float32)
        return self

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Compute the log-mel spectrogram of mono waveforms ``(B, samples)``."""
        spec = torch.stft(
            waveforms.float(),
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.n_fft,
            window=self.window.float(),
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        power = spec.real.square() + spec.imag.square()  # (B, bins, frames)
        mel = torch.matmul(power.transpose(1, 2), self.mel_basis.float())  # (B, frames, mels)
        log_mel = 10.0 * torch.log10(torch.clamp(mel, min=self.amin)) - self.db_offset
        return log_mel.unsqueeze(1)
