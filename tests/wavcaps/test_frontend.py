"""The 32 kHz log-mel front end against direct numpy computations of WavCaps' formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from captioner.wavcaps import LogMelFrontEnd, WavCapsConfig, mel_filterbank
from captioner.wavcaps.frontend import hz_to_mel_slaney, mel_to_hz_slaney, stft_kernels
from wavcaps.synthetic import FULL, librosa_mel, torchlibrosa_stft_weights


def numpy_log_mel(wave: np.ndarray, cfg: WavCapsConfig) -> np.ndarray:
    """torchlibrosa Spectrogram + LogmelFilterBank written out in float64 numpy."""
    half = cfg.n_fft // 2
    padded = np.pad(wave.astype(np.float64), (half, half), mode="reflect")
    n_frames = 1 + (len(padded) - cfg.n_fft) // cfg.hop_length
    idx = np.arange(cfg.n_fft)[None, :] + cfg.hop_length * np.arange(n_frames)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(cfg.n_fft) / cfg.n_fft)  # periodic Hann
    power = np.abs(np.fft.rfft(padded[idx] * window, axis=1)) ** 2
    mel = power @ librosa_mel_slaney_numpy(cfg)
    return 10.0 * np.log10(np.maximum(mel, 1e-10)) - 10.0 * np.log10(max(1e-10, 1.0))


def librosa_mel_slaney_numpy(cfg: WavCapsConfig) -> np.ndarray:
    """librosa.filters.mel(htk=False, norm='slaney').T, from librosa's own formula."""

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        f = np.atleast_1d(np.asarray(f, dtype=np.float64))
        mels = f / (200.0 / 3)
        log_t = f >= 1000.0
        mels[log_t] = 15.0 + np.log(f[log_t] / 1000.0) / (np.log(6.4) / 27.0)
        return mels

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        m = np.asarray(m, dtype=np.float64)
        freqs = m * (200.0 / 3)
        log_t = m >= 15.0
        freqs[log_t] = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m[log_t] - 15.0))
        return freqs

    fftfreqs = np.fft.rfftfreq(cfg.n_fft, 1.0 / cfg.sample_rate)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(cfg.f_min)[0], hz_to_mel(cfg.f_max)[0], cfg.n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((cfg.n_mels, len(fftfreqs)))
    for i in range(cfg.n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : cfg.n_mels + 2] - mel_f[: cfg.n_mels]))[:, None]
    return weights.T


def tone_with_noise(seconds: float, cfg: WavCapsConfig) -> np.ndarray:
    # A tone alone leaves most mel bands near float32's floor; noise keeps every band measurable.
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * cfg.sample_rate)) / cfg.sample_rate
    return (0.3 * np.sin(2 * np.pi * 440.0 * t) + 0.01 * rng.standard_normal(t.size)).astype(
        np.float32
    )


def test_filterbank_is_librosas_slaney_filterbank() -> None:
    cfg = WavCapsConfig()
    ours = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.f_min, cfg.f_max)
    assert ours.shape == (513, 64)
    np.testing.assert_allclose(ours, librosa_mel_slaney_numpy(cfg), rtol=1e-9, atol=1e-12)
    # and a third implementation: transformers' port of librosa.filters.mel
    np.testing.assert_allclose(ours, librosa_mel(FULL).numpy(), rtol=1e-5, atol=1e-9)
    # Slaney, not HTK: the 1 kHz knee must be where librosa puts it.
    assert hz_to_mel_slaney(np.array(1000.0)) == pytest.approx(15.0)
    assert mel_to_hz_slaney(hz_to_mel_slaney(np.array([50.0, 999.0, 14000.0]))) == pytest.approx(
        [50.0, 999.0, 14000.0]
    )


def test_stft_kernels_are_torchlibrosas() -> None:
    real, imag = stft_kernels(1024)
    want_real, want_imag = torchlibrosa_stft_weights(1024)
    np.testing.assert_allclose(real, want_real.numpy(), atol=1e-6)
    np.testing.assert_allclose(imag, want_imag.numpy(), atol=1e-6)


@pytest.mark.parametrize("seconds", [10.0, 1.3])
def test_log_mel_matches_numpy_on_a_tone(seconds: float) -> None:
    cfg = WavCapsConfig()
    wave = tone_with_noise(seconds, cfg)
    got = LogMelFrontEnd(cfg)(torch.from_numpy(wave)[None, :])
    want = numpy_log_mel(wave, cfg)
    assert got.shape == (1, 1, want.shape[0], 64)
    if seconds == 10.0:
        assert want.shape[0] == 1001  # 320000 / 320 + 1 frames, stretched to 1024 by HTSAT
    np.testing.assert_allclose(got[0, 0].numpy(), want, atol=2e-3)
    # The tone's band is the loudest one.
    band = int(np.argmax(want.mean(axis=0)))
    assert got[0, 0].mean(dim=0).argmax().item() == band


def test_log_mel_has_no_top_db_clip_and_floors_at_amin() -> None:
    cfg = WavCapsConfig()
    silence = torch.zeros(1, cfg.window_samples)
    out = LogMelFrontEnd(cfg)(silence)
    assert torch.all(out == -100.0)  # 10*log10(1e-10); no top_db relative clipping
    loud = torch.zeros(1, cfg.window_samples)
    loud[0, : cfg.sample_rate] = 1.0  # one second of DC then silence: a > 200 dB range
    out = LogMelFrontEnd(cfg)(loud)
    assert float(out.max() - out.min()) > 80.0


def test_front_end_stays_float32_in_half_precision() -> None:
    cfg = WavCapsConfig()
    fe = LogMelFrontEnd(cfg).to(torch.float16)
    out = fe(torch.from_numpy(tone_with_noise(1.0, cfg))[None, :].half())
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("freq", [440.0, 1000.0, 5000.0])
def test_a_pure_tone_in_half_precision_matches_float32(dtype: torch.dtype, freq: float) -> None:
    # A pure tone is the hard case: a Hann window rounded to half precision leaks the tone's
    # energy into every band, tens of dB above the true (near-floor) level of distant bands.
    cfg = WavCapsConfig()
    t = np.arange(cfg.sample_rate * 2) / cfg.sample_rate
    tone = torch.from_numpy((0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32))[None]
    full = LogMelFrontEnd(cfg)
    half = LogMelFrontEnd(cfg).to(dtype)  # what model.to(dtype) does to every buffer
    assert half.window.dtype == torch.float32 and half.mel_basis.dtype == torch.float32
    diff = (half(tone) - full(tone)).abs().max().item()
    assert diff < 0.5, f"{diff:.1f} dB off in half precision"


def test_casting_the_parent_model_keeps_the_front_end_in_float32() -> None:
    cfg = WavCapsConfig()
    model = torch.nn.Sequential(LogMelFrontEnd(cfg), torch.nn.Linear(4, 4))
    model.to(torch.float16)  # as load_wavcaps casts the whole model for a GPU
    assert model[1].weight.dtype == torch.float16
    front = model[0]
    assert front.window.dtype == torch.float32
    assert torch.equal(front.window, torch.hann_window(cfg.n_fft, periodic=True))
    expected = mel_filterbank(32000, 1024, 64, 50.0, 14000.0).astype(np.float32)
    assert np.array_equal(front.mel_basis.numpy(), expected)
    model.half().double()  # any cast, any order
    assert front.window.dtype == torch.float32 and front.mel_basis.dtype == torch.float32
