"""Synthesised demo sounds (numpy only): rain, thunder, footsteps, doors, birds and more.

Each function takes a random generator and returns mono float32 samples at :data:`RATE`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "RATE",
    "Synth",
    "bell",
    "birds",
    "clock",
    "crowd",
    "door",
    "engine",
    "footsteps",
    "pad",
    "rain",
    "thunder",
    "whoosh",
]

RATE = 48000
Synth = Callable[[np.random.Generator], np.ndarray]


def _env(n: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / RATE
    return np.minimum(1.0, t / max(attack, 1e-4)) * np.exp(-t / decay)


def _noise(rng: np.random.Generator, seconds: float) -> np.ndarray:
    return rng.standard_normal(int(seconds * RATE)).astype(np.float32)


def _lowpass(x: np.ndarray, alpha: float) -> np.ndarray:
    # One-pole filter via cumulative sums would drift; a short FIR is enough for a demo.
    kernel = np.ones(max(1, int(1 / alpha))) * alpha
    return np.convolve(x, kernel, mode="same").astype(np.float32)


def rain(rng: np.random.Generator) -> np.ndarray:
    x = _lowpass(_noise(rng, 6.0), 0.25) * 0.25
    t = np.linspace(0.0, 1.0, len(x))
    # Rain comes in waves: a slow swell plus a couple of heavier bursts.
    x *= (
        0.55
        + 0.25 * np.sin(2 * np.pi * (1.3 * t + rng.uniform()))
        + 0.35 * np.exp(-((t - rng.uniform(0.3, 0.8)) ** 2) / 0.004)
    )
    for start in rng.integers(0, len(x) - 2000, 180):
        drop = np.sin(2 * np.pi * rng.uniform(2000, 5000) * np.arange(1500) / RATE)
        x[start : start + 1500] += 0.3 * drop * _env(1500, 0.0005, 0.004)
    return x


def thunder(rng: np.random.Generator) -> np.ndarray:
    x = _lowpass(_noise(rng, 7.0), 0.01) * 6.0
    return x * _env(len(x), 0.4, 2.2)


def footsteps(rng: np.random.Generator) -> np.ndarray:
    x = np.zeros(int(4.5 * RATE), dtype=np.float32)
    for i in range(8):
        start = int((0.25 + i * 0.52 + rng.uniform(-0.03, 0.03)) * RATE)
        hit = _lowpass(_noise(rng, 0.12), 0.2) * _env(int(0.12 * RATE), 0.002, 0.03)
        x[start : start + len(hit)] += 1.6 * hit
    return x


def door(rng: np.random.Generator) -> np.ndarray:
    n = int(2.5 * RATE)
    t = np.arange(n) / RATE
    body = sum(np.sin(2 * np.pi * f * t) / (i + 1) for i, f in enumerate((82, 165, 247, 410)))
    x = 0.6 * body * _env(n, 0.001, 0.25) + 0.5 * _noise(rng, 2.5) * _env(n, 0.0005, 0.02)
    return x.astype(np.float32)


def birds(rng: np.random.Generator) -> np.ndarray:
    x = 0.02 * _lowpass(_noise(rng, 5.0), 0.1)
    for start in rng.uniform(0.1, 4.5, 14):
        n = int(rng.uniform(0.06, 0.15) * RATE)
        t = np.arange(n) / RATE
        f0 = rng.uniform(3000, 5000)
        sweep = np.sin(2 * np.pi * (f0 * t + rng.uniform(-8000, 8000) * t * t))
        i = int(start * RATE)
        x[i : i + n] += 0.35 * sweep * np.hanning(n)
    return x


def pad(_rng: np.random.Generator) -> np.ndarray:
    n = int(8.0 * RATE)
    t = np.arange(n) / RATE
    chord = sum(
        np.sin(2 * np.pi * f * t + 0.3 * np.sin(2 * np.pi * 0.2 * t)) for f in (220, 277.2, 329.6)
    )
    swell = np.sin(np.pi * t / t[-1]) ** 2
    return (0.22 * chord * swell).astype(np.float32)


def engine(rng: np.random.Generator) -> np.ndarray:
    n = int(6.0 * RATE)
    t = np.arange(n) / RATE
    f = 38 + 6 * np.sin(2 * np.pi * 0.15 * t)
    phase = 2 * np.pi * np.cumsum(f) / RATE
    hum = sum(np.sin(k * phase) / k for k in range(1, 8))
    return (0.25 * hum * (1 + 0.3 * np.sin(2 * np.pi * 11 * t)) + 0.03 * _noise(rng, 6.0)).astype(
        np.float32
    )


def whoosh(rng: np.random.Generator) -> np.ndarray:
    x = _lowpass(_noise(rng, 1.8), 0.12)
    t = np.linspace(0, 1, len(x))
    return (1.4 * x * np.exp(-((t - 0.55) ** 2) / 0.02)).astype(np.float32)


def bell(_rng: np.random.Generator) -> np.ndarray:
    n = int(5.0 * RATE)
    t = np.arange(n) / RATE
    partials = ((523, 1.0, 2.5), (1320, 0.5, 1.2), (1760, 0.35, 0.9), (2490, 0.2, 0.5))
    x = np.zeros(n)
    for f, a, d in partials:
        x += a * np.sin(2 * np.pi * f * t) * np.exp(-t / d)
    return (0.3 * x).astype(np.float32)


def clock(_rng: np.random.Generator) -> np.ndarray:
    x = np.zeros(int(5.0 * RATE), dtype=np.float32)
    for i in range(10):
        start = int(i * 0.5 * RATE)
        n = int(0.03 * RATE)
        tick = np.sin(2 * np.pi * (3200 if i % 2 else 2600) * np.arange(n) / RATE)
        x[start : start + n] += 0.5 * tick * _env(n, 0.0002, 0.004)
    return x


def crowd(rng: np.random.Generator) -> np.ndarray:
    n = int(8.0 * RATE)
    t = np.arange(n) / RATE
    babble = np.zeros(n, dtype=np.float32)
    for _ in range(12):
        f = rng.uniform(110, 260)
        syll = (np.sin(2 * np.pi * rng.uniform(3, 6) * t + rng.uniform(0, 6)) > 0.3).astype(float)
        babble += 0.05 * np.sin(2 * np.pi * f * t) * _lowpass(syll.astype(np.float32), 0.01)
    return babble + 0.04 * _lowpass(_noise(rng, 8.0), 0.3)
