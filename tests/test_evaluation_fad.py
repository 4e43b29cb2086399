"""FAD validated against closed forms and an independent matrix-square-root computation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from musicsim_gui.evaluation.fad import (
    GaussianStats,
    distance_parts,
    fad,
    fad_infinity,
    frechet_distance,
    gaussian_stats,
    trace_sqrt_product,
)


def random_psd(rng, dim, rank=None):
    factor = rng.normal(size=(dim, rank or dim))
    return factor @ factor.T / dim


def reference_frechet(mu_a, cov_a, mu_b, cov_b):
    """The textbook formula with scipy's general matrix square root (independent of our eigen route)."""
    root = scipy.linalg.sqrtm(cov_a @ cov_b)
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(root).real)


def test_commuting_diagonal_covariances_match_closed_form():
    var_a = np.array([1.0, 4.0, 9.0])
    var_b = np.array([4.0, 1.0, 0.25])
    mean_a, mean_b = np.zeros(3), np.array([1.0, 2.0, 2.0])
    a = GaussianStats(mean_a, np.diag(var_a), 10)
    b = GaussianStats(mean_b, np.diag(var_b), 10)
    expected = 9.0 + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("dim", [2, 16, 64])
def test_matches_scipy_sqrtm_on_random_full_rank_matrices(dim):
    rng = np.random.default_rng(dim)
    mu_a, mu_b = rng.normal(size=dim), rng.normal(size=dim)
    cov_a, cov_b = random_psd(rng, dim), random_psd(rng, dim)
    ours = frechet_distance(GaussianStats(mu_a, cov_a, 100), GaussianStats(mu_b, cov_b, 100))
    assert ours == pytest.approx(reference_frechet(mu_a, cov_a, mu_b, cov_b), rel=1e-8)


def test_singular_covariances_stay_real_and_non_negative():
    rng = np.random.default_rng(3)
    embeddings = rng.normal(size=(5, 40))  # N < D: singular covariance
    value = fad(embeddings, embeddings)
    assert np.isfinite(value) and 0.0 <= value < 1e-8
    low_rank = random_psd(rng, 30, rank=3)
    assert np.isfinite(trace_sqrt_product(low_rank, low_rank))
    assert trace_sqrt_product(low_rank, low_rank) == pytest.approx(np.trace(low_rank), rel=1e-6)


def test_sample_fad_approaches_the_gaussian_distance():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20000, 4))
    b = rng.normal(loc=0.5, scale=2.0, size=(20000, 4))
    expected = 4 * 0.25 + 4 * (1.0 - 2.0) ** 2
    assert fad(a, b) == pytest.approx(expected, rel=0.03)


def test_fad_infinity_removes_small_sample_bias():
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(4000, 8))
    candidate = rng.normal(size=(400, 8))
    biased = fad(reference, candidate[:100])
    extrapolated, slope = fad_infinity(reference, candidate, repeats=4)
    assert slope > 0
    assert abs(extrapolated) < biased / 3


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="N >= 2"):
        gaussian_stats(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="NaN"):
        gaussian_stats(np.array([[0.0, np.nan], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="sizes differ"):
        fad(np.zeros((3, 2)), np.zeros((3, 4)))


def test_distance_parts_find_the_shifted_group_and_the_offset():
    rng = np.random.default_rng(4)
    reference = rng.normal(size=(4000, 6))
    shifted = rng.normal(size=(4000, 6))
    shifted[:, 4:] += 2.0                               # only the last group moves, by 2 in each of two dims
    groups = {"first": slice(0, 2), "middle": slice(2, 4), "last": slice(4, 6)}
    parts = distance_parts(reference, shifted, groups)
    assert parts["offset"] == pytest.approx(8.0, rel=0.05)
    assert parts["last"] == pytest.approx(8.0, rel=0.05)
    assert parts["first"] < 0.05 and parts["middle"] < 0.05
    assert parts["last"] + parts["first"] + parts["middle"] == pytest.approx(fad(reference, shifted), rel=0.05)
    narrow = reference * np.array([1, 1, 0.3, 0.3, 1, 1])   # a group with too little spread: no offset, a FAD
    spread = distance_parts(reference, narrow, groups)
    assert spread["offset"] < 0.05 and spread["middle"] == pytest.approx(2 * 0.7**2, rel=0.1)
