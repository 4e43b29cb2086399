"""Separation scores: the cached SDR against one reference is fast_bss_eval's SDR, silent stems are skipped."""

from __future__ import annotations

import fast_bss_eval
import numpy as np
import pytest

from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.evaluation.separation import ReferenceSdr, is_silent_stem, score


@pytest.fixture(scope="module")
def reference():
    rng = np.random.default_rng(3)
    signal = rng.standard_normal(3 * 44100)
    return np.convolve(signal, np.hanning(9) / 4, mode="same")


@pytest.mark.parametrize("kind", ["noisy", "filtered", "unrelated", "scaled", "delayed"])
def test_reference_sdr_is_fast_bss_eval_sdr(reference, kind):
    rng = np.random.default_rng(4)
    n = reference.shape[-1]
    estimate = {
        "noisy": reference + 0.3 * rng.standard_normal(n),
        "filtered": np.convolve(reference, [0.5, 0.3, 0.2], mode="same") + 0.05 * rng.standard_normal(n),
        "unrelated": rng.standard_normal(n),
        "scaled": 3.0 * reference,  # clamped at +60 dB
        "delayed": np.concatenate([np.zeros(200), reference[:-200]]) + 0.1 * rng.standard_normal(n),
    }[kind]
    expected = float(fast_bss_eval.sdr(reference[None], estimate[None], clamp_db=60)[0])
    assert ReferenceSdr(reference)(estimate) == pytest.approx(expected, abs=1e-9)


def test_reference_sdr_scores_many_estimates_and_refuses_another_length(reference):
    scorer = ReferenceSdr(reference)
    rng = np.random.default_rng(5)
    louder_noise = [scorer(reference + level * rng.standard_normal(reference.shape[-1])) for level in (0.1, 0.3, 1.0)]
    assert louder_noise == sorted(louder_noise, reverse=True)
    with pytest.raises(ValueError, match="samples"):
        scorer(reference[:-1])


def test_score_skips_silent_stems_and_agrees_with_the_cached_sdr(reference):
    rng = np.random.default_rng(6)
    stems = {name: np.stack([reference, reference]) * (1.0 + index) for index, name in enumerate(INSTRUMENTS)}
    stems["other"] = stems["other"] * 1e-4  # 80 dB below the rest
    estimates = {name: stem + 0.2 * rng.standard_normal(stem.shape) for name, stem in stems.items()}
    scores = score(stems, estimates)
    assert is_silent_stem(stems, "other") and not is_silent_stem(stems, "bass")
    assert np.isnan(scores["other"]["sdr"]) and np.isnan(scores["other"]["si_sdr"])
    for name in ("bass", "drums", "piano"):
        cached = ReferenceSdr(stems[name].mean(axis=0))(estimates[name].mean(axis=0))
        assert scores[name]["sdr"] == pytest.approx(cached, abs=1e-9)
