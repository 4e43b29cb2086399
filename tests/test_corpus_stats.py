"""Corpus statistics: the proxy measures answer known signals correctly."""

from __future__ import annotations

import numpy as np

from musicsim_gui.training.corpus.stats import onset_times, spectral_centroid, variety

RATE = 44100


def test_onsets_of_clicks_are_found_at_their_times():
    rng = np.random.default_rng(0)
    times = np.sort(rng.uniform(0.2, 9.5, size=25))
    times = times[np.concatenate([[True], np.diff(times) > 0.12])]
    signal = np.zeros(10 * RATE, dtype=np.float32)
    decay = np.exp(-np.arange(2000) / 300.0).astype(np.float32)
    for t in times:
        start = int(t * RATE)
        signal[start:start + 2000] += decay * rng.standard_normal(2000).astype(np.float32)
    found = onset_times(signal, RATE)
    assert len(found) == len(times)
    assert np.abs(found - times).max() < 0.030


def test_spectral_centroid_of_a_sine_is_its_frequency():
    t = np.arange(2 * RATE) / RATE
    assert abs(spectral_centroid(np.sin(2 * np.pi * 1000 * t).astype(np.float32), RATE) - 1000) < 30
    assert spectral_centroid(np.zeros(RATE, dtype=np.float32), RATE) == 0.0


def test_variety_counts_distinct_choices():
    def meta(prog, drums, program):
        return {"progressions_relative": {"A": prog, "B": prog}, "drum_pattern": drums,
                "programs": {"bass": [{"program": program}]}, "features": {"other_roles": ["pad"]},
                "key": "C major", "sections": [{"name": "A", "bars": 8}]}

    counts = variety([meta([["0:maj7"]], "K(0,) S", 32), meta([["0:maj7"]], "K(0, 8) S", 33),
                      meta([["2:m7"]], "K(0, 8) S", 33)])
    assert counts["songs"] == 3 and counts["progressions (A sections)"] == 2
    assert counts["drum patterns"] == 2 and counts["program sets"] == 2 and counts["keys"] == 1
