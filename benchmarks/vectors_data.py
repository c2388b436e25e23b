"""Synthetic embedding sets for the vector-search benchmarks, and exact ground truth.

Uniform random unit vectors are the worst case for approximate search and unlike real audio
embeddings, which sit on a low-dimensional, clustered manifold. The ``clustered`` set imitates
that: a few thousand clusters of Zipf-distributed sizes, each a centre on the sphere plus a
Gaussian in a 16-dimensional subspace of its own plus a little isotropic noise, so that nearest
neighbours sit at cosine ~0.8-0.9 and random pairs near 0, as with CLAP audio embeddings.
Generated in chunks, so 10M x 512 never needs a float32 matrix of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DataSpec",
    "chunks",
    "exact_topk",
    "materialise",
    "matrix_blocks",
    "queries",
    "similarity_stats",
]


@dataclass(frozen=True)
class DataSpec:
    """A reproducible synthetic set: ``kind`` is ``clustered`` or ``uniform``."""

    kind: str
    n: int
    dim: int = 512
    seed: int = 0
    clusters: int = 2000
    subspace: int = 16


def _normalise(x: np.ndarray) -> np.ndarray:
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


class _Mixture:
    def __init__(self, spec: DataSpec) -> None:
        rng = np.random.default_rng(spec.seed + 7919)
        self.spec = spec
        self.centres = _normalise(rng.standard_normal((spec.clusters, spec.dim)).astype(np.float32))
        # Subspace bases scaled so that |A z|^2 ~ 0.5 on average, with per-cluster spread.
        spread = rng.uniform(0.6, 1.4, spec.clusters).astype(np.float32)
        scale = np.sqrt(0.5 / spec.subspace) * spread
        self.bases = (
            rng.standard_normal((spec.clusters, spec.subspace, spec.dim)).astype(np.float32)
            / np.sqrt(spec.dim, dtype=np.float32)
            * scale[:, None, None]
        )
        weights = 1.0 / np.arange(1, spec.clusters + 1) ** 0.7
        self.p = weights / weights.sum()
        self.iso = float(np.sqrt(0.1 / spec.dim))

    def sample(self, rng: np.random.Generator, m: int) -> np.ndarray:
        s = self.spec
        labels = rng.choice(s.clusters, size=m, p=self.p)
        z = rng.standard_normal((m, s.subspace)).astype(np.float32)
        x = self.centres[labels].copy()
        order = np.argsort(labels, kind="stable")
        bounds = np.flatnonzero(np.diff(labels[order])) + 1
        for group in np.split(order, bounds):  # one small matmul per cluster present
            x[group] += z[group] @ self.bases[labels[group[0]]]
        x += self.iso * rng.standard_normal((m, s.dim)).astype(np.float32)
        return _normalise(x)


def chunks(spec: DataSpec, chunk: int = 100_000) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, float32 unit rows)`` blocks of the set, in order; same seed, same rows."""
    mixture = _Mixture(spec) if spec.kind == "clustered" else None
    for start in range(0, spec.n, chunk):
        m = min(chunk, spec.n - start)
        rng = np.random.default_rng([spec.seed, start])
        if mixture is None:
            yield start, _normalise(rng.standard_normal((m, spec.dim)).astype(np.float32))
        else:
            yield start, mixture.sample(rng, m)


def materialise(spec: DataSpec) -> np.ndarray:
    """The whole set as one float32 matrix (``n * dim * 4`` bytes)."""
    out = np.empty((spec.n, spec.dim), dtype=np.float32)
    for start, block in chunks(spec):
        out[start : start + len(block)] = block
    return out


def queries(spec: DataSpec, m: int) -> np.ndarray:
    """``m`` held-out query vectors from the same distribution (never in the set)."""
    rng = np.random.default_rng([spec.seed, 10**12])
    if spec.kind == "clustered":
        return _Mixture(spec).sample(rng, m)
    return _normalise(rng.standard_normal((m, spec.dim)).astype(np.float32))


def exact_topk(
    blocks: Iterable[tuple[int, np.ndarray]], q: np.ndarray, k: int, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` positions and cosines of each query over ``(start, rows)`` blocks.

    Args:
        blocks: e.g. :func:`chunks` or :func:`matrix_blocks`.
        q: Unit query rows.
        k: How many neighbours.
        limit: Only rows before this position count.
    """
    best_s = np.full((len(q), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(q), k), dtype=np.int64)
    for start, block in blocks:
        if limit is not None:
            if start >= limit:
                break
            block = block[: limit - start]
        s = q @ np.asarray(block, dtype=np.float32).T
        kk = min(k, s.shape[1])
        idx = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        cand_s = np.concatenate([best_s, np.take_along_axis(s, idx, axis=1)], axis=1)
        cand_i = np.concatenate([best_i, idx + start], axis=1)
        order = np.argsort(-cand_s, axis=1, kind="stable")[:, :k]
        best_s = np.take_along_axis(cand_s, order, axis=1)
        best_i = np.take_along_axis(cand_i, order, axis=1)
    return best_i, best_s


def matrix_blocks(x: np.ndarray, chunk: int = 100_000) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, rows)`` blocks of a matrix (a memory-mapped ``.npy`` works)."""
    for start in range(0, len(x), chunk):
        yield start, np.asarray(x[start : start + chunk], dtype=np.float32)


def similarity_stats(spec: DataSpec, top_s: np.ndarray) -> dict[str, float]:
    """How the set looks: mean nearest/10th-nearest cosine of queries, random-pair cosine."""
    _, block = next(chunks(spec, chunk=min(spec.n, 4000)))
    pair = block[: len(block) // 2] * block[len(block) // 2 : 2 * (len(block) // 2)]
    return {
        "query_top1_cosine_mean": round(float(top_s[:, 0].mean()), 4),
        "query_top10_cosine_mean": round(float(top_s[:, -1].mean()), 4),
        "random_pair_cosine_mean": round(float(pair.sum(axis=1).mean()), 4),
        "random_pair_cosine_std": round(float(pair.sum(axis=1).std()), 4),
    }
