"""Fréchet Audio Distance: the Fréchet distance between Gaussian fits of two sets of audio embeddings.

Architecture:
1. Everything is float64. Each embedding set `[N, D]` is summarised by its mean and unbiased covariance.
2. The distance is `|mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^{1/2})`. The last trace is computed
   without a general (non-symmetric) matrix square root: with `R = S_a^{1/2}` (symmetric, from `eigh`),
   `S_a S_b` is similar to the symmetric PSD matrix `R S_b R`, whose eigenvalues give the trace. Tiny
   negative eigenvalues from round-off are clipped to zero (the small-eigenvalue guard), so the result is
   real and never NaN, also when N < D makes the covariances singular.
3. FAD is biased upward for small N (the bias falls like 1/N). `fad_infinity` estimates the N → ∞ value by
   computing FAD on random subsets of several sizes and extrapolating the line FAD(1/N) to 1/N = 0,
   as proposed for FAD∞ by Gui et al. (2024, "Adapting Frechet Audio Distance for generative music evaluation").
4. `distance_parts` says where a FAD comes from: the mean offset's share, and the FAD of each group of
   dimensions alone (for an embedding whose dimensions fall into named groups).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GaussianStats:
    """Mean `[D]` and covariance `[D, D]` (float64) of `count` embeddings."""

    mean: np.ndarray
    cov: np.ndarray
    count: int


def gaussian_stats(embeddings: np.ndarray) -> GaussianStats:
    """Fit a Gaussian to embeddings `[N, D]` (N ≥ 2)."""
    data = np.asarray(embeddings, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 2:
        raise ValueError(f"need embeddings [N >= 2, D], got shape {data.shape}")
    if not np.all(np.isfinite(data)):
        raise ValueError("embeddings contain NaN or infinite values")
    return GaussianStats(data.mean(axis=0), np.atleast_2d(np.cov(data, rowvar=False)), data.shape[0])


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix."""
    symmetric = (matrix + matrix.T) / 2.0
    values, vectors = np.linalg.eigh(symmetric)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def trace_sqrt_product(cov_a: np.ndarray, cov_b: np.ndarray) -> float:
    """tr((A B)^{1/2}) for symmetric PSD A, B, through the similar symmetric matrix A^{1/2} B A^{1/2}."""
    root_a = _psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    values = np.linalg.eigvalsh((middle + middle.T) / 2.0)
    return float(np.sqrt(np.clip(values, 0.0, None)).sum())


def frechet_distance(a: GaussianStats, b: GaussianStats) -> float:
    """The Fréchet (2-Wasserstein squared) distance between two Gaussians; ≥ 0."""
    if a.mean.shape != b.mean.shape:
        raise ValueError(f"embedding sizes differ: {a.mean.shape[0]} vs {b.mean.shape[0]}")
    difference = a.mean - b.mean
    value = difference @ difference + np.trace(a.cov) + np.trace(b.cov) - 2.0 * trace_sqrt_product(a.cov, b.cov)
    return float(max(value, 0.0))


def fad(reference: np.ndarray, candidate: np.ndarray) -> float:
    """FAD between two embedding sets `[N, D]` and `[M, D]`."""
    return frechet_distance(gaussian_stats(reference), gaussian_stats(candidate))


def distance_parts(reference: np.ndarray, candidate: np.ndarray, groups: dict[str, slice]) -> dict[str, float]:
    """Where a FAD comes from: `"offset"`, the squared distance between the two sets' means (the part of the FAD
    a shift of the whole set makes; the rest is spread and correlation), and per named group of dimensions the
    FAD of those dimensions alone (groups that co-vary do not add up to the whole)."""
    reference, candidate = np.asarray(reference, np.float64), np.asarray(candidate, np.float64)
    difference = reference.mean(axis=0) - candidate.mean(axis=0)
    parts = {"offset": float(difference @ difference)}
    parts.update({name: fad(reference[:, dims], candidate[:, dims]) for name, dims in groups.items()})
    return parts


def fad_infinity(reference: np.ndarray, candidate: np.ndarray, sizes: tuple[int, ...] | None = None,
                 repeats: int = 3, seed: int = 0) -> tuple[float, float]:
    """Extrapolated FAD∞ and the slope of FAD against 1/N.

    Subsets of `candidate` of each size in `sizes` (default: 8 sizes from N/4 to N) are scored against the full
    reference statistics, averaged over `repeats` draws; a least-squares line FAD = intercept + slope / N
    gives FAD∞ = intercept.
    """
    candidate = np.asarray(candidate, dtype=np.float64)
    count = candidate.shape[0]
    if sizes is None:
        sizes = tuple(sorted({max(2, int(round(n))) for n in np.linspace(max(2, count // 4), count, 8)}))
    if len(sizes) < 2:
        raise ValueError("FAD∞ needs at least two subset sizes")
    rng = np.random.default_rng(seed)
    stats = gaussian_stats(reference)
    inverse, values = [], []
    for size in sizes:
        scores = [frechet_distance(stats, gaussian_stats(candidate[rng.choice(count, size, replace=False)]))
                  for _ in range(repeats)]
        inverse.append(1.0 / size)
        values.append(float(np.mean(scores)))
    slope, intercept = np.polyfit(np.array(inverse), np.array(values), 1)
    return float(intercept), float(slope)
