"""The min/max peak pyramid against brute-force envelopes."""

from __future__ import annotations

import numpy as np
import pytest

from musicsim_gui.audio.peaks import PeakPyramid


def _brute(samples: np.ndarray, start: float, stop: float, columns: int):
    edges = start + (stop - start) * np.arange(columns + 1) / columns
    mins = np.zeros((samples.shape[0], columns), np.float32)
    maxs = np.zeros_like(mins)
    for index in range(columns):
        lo, hi = max(int(np.floor(edges[index])), 0), min(int(np.ceil(edges[index + 1])), samples.shape[1])
        if lo < hi:
            mins[:, index] = samples[:, lo:hi].min(axis=1)
            maxs[:, index] = samples[:, lo:hi].max(axis=1)
    return mins, maxs


def test_levels_shrink_by_the_factor():
    pyramid = PeakPyramid(np.zeros((2, 100_000), np.float32), factor=16)
    assert [level[0] for level in pyramid.levels] == [1, 16, 256, 4096, 65536]
    assert [level[1].shape[1] for level in pyramid.levels] == [100_000, 6250, 391, 25, 2]


def test_whole_file_envelope_equals_brute_force_on_block_aligned_columns():
    rng = np.random.default_rng(0)
    samples = rng.standard_normal((2, 16 ** 4)).astype(np.float32)
    pyramid = PeakPyramid(samples)
    mins, maxs = pyramid.envelope(0, samples.shape[1], 256)
    expected_mins, expected_maxs = _brute(samples, 0, samples.shape[1], 256)
    np.testing.assert_array_equal(mins, expected_mins)
    np.testing.assert_array_equal(maxs, expected_maxs)
    assert mins.dtype == np.float32 and mins.shape == (2, 256)


@pytest.mark.parametrize(("start", "stop", "columns"), [(1234, 98765, 500), (10, 60, 200), (0, 300_000, 777),
                                                         (-5000, 20_000, 300), (90_000, 150_000, 100)])
def test_envelope_bounds_the_true_extremes(start, stop, columns):
    rng = np.random.default_rng(1)
    samples = np.cumsum(rng.standard_normal(100_000)).astype(np.float32)
    pyramid = PeakPyramid(samples)
    mins, maxs = pyramid.envelope(start, stop, columns)
    assert mins.shape == (columns,)
    true_mins, true_maxs = _brute(samples[np.newaxis], start, stop, columns)
    covered = (true_maxs[0] != 0) | (true_mins[0] != 0)
    # a column may include at most one extra block on each side of its range: never less extreme than the truth
    assert np.all(mins[covered] <= true_mins[0][covered]) and np.all(maxs[covered] >= true_maxs[0][covered])
    assert np.all(mins <= maxs)
    outside = np.flatnonzero(start + (stop - start) * (np.arange(columns) + 1) / columns <= 0)
    assert not mins[outside].any() and not maxs[outside].any()


def test_zoomed_in_columns_show_single_samples():
    samples = np.arange(10, dtype=np.float32)
    mins, maxs = PeakPyramid(samples).envelope(2, 4, 4)
    np.testing.assert_array_equal(mins, [2, 2, 3, 3])
    np.testing.assert_array_equal(maxs, mins)


def test_empty_cases():
    pyramid = PeakPyramid(np.zeros((1, 0), np.float32))
    mins, maxs = pyramid.envelope(0, 100, 10)
    assert mins.shape == (1, 10) and not mins.any()
    assert PeakPyramid(np.ones(50, np.float32)).envelope(10, 10, 5)[0].tolist() == [0] * 5
    with pytest.raises(ValueError):
        PeakPyramid(np.zeros((1, 2, 3)))


@pytest.mark.parametrize("factor", [16, 10, 3, 2])
def test_every_level_holds_block_extremes(factor):
    samples = np.random.default_rng(factor).standard_normal((2, 20_003)).astype(np.float32)
    for block, mins, maxs in PeakPyramid(samples, factor=factor).levels[1:]:
        count = -(-samples.shape[1] // block)
        assert mins.shape == maxs.shape == (2, count) and mins.flags.c_contiguous
        for index in range(0, count, max(1, count // 40)):
            piece = samples[:, index * block:(index + 1) * block]
            np.testing.assert_array_equal(mins[:, index], piece.min(axis=1))
            np.testing.assert_array_equal(maxs[:, index], piece.max(axis=1))
        np.testing.assert_array_equal(mins[:, -1], samples[:, (count - 1) * block:].min(axis=1))
