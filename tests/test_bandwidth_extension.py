"""Bandwidth extension of ViT+WaveGAN takes: fitted ratios, the rebuilt band's level and timing, generator use."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from musicsim_gui.generation.vit_wavegan.bandwidth import BandwidthExtension, band_powers, fit
from musicsim_gui.generation.vit_wavegan.finishing import Finishing

RATE = 44100


def bursts(seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    """Full-band noise bursts, four per second, decaying in 40 ms."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = np.exp(-((t % 0.25) / 0.04))
    return (0.3 * envelope * rng.standard_normal(t.size)).astype(np.float32)


def band_limited(audio: np.ndarray, model_rate: int = 12000) -> np.ndarray:
    """What a take resampled from the model rate holds: nothing above its Nyquist frequency."""
    low = soxr.resample(audio, RATE, model_rate, quality="HQ")
    return soxr.resample(low, model_rate, RATE, quality="HQ")[: audio.size].astype(np.float32)


def test_fitted_ratios_follow_the_training_stems():
    t = np.arange(4 * RATE) / RATE
    bass = (0.3 * np.sin(2 * np.pi * 55 * t) + 1e-3 * np.random.default_rng(1).standard_normal(t.size))
    extension = fit({"drums": [bursts()], "bass": [bass.astype(np.float32)]}, RATE, 12000)
    assert extension.source_hz == (3000.0, 6000.0) and extension.edges_hz == (6000.0, 8000.0, 11000.0, 16000.0, 22050.0)
    # White bursts: every band as dense as the source octave. A sine with faint noise: the source octave is
    # that noise, so the high bands are as dense as it too; the ratios are level-free densities.
    np.testing.assert_allclose(10 * np.log10(extension.ratios["drums"]), 0.0, atol=0.5)
    np.testing.assert_allclose(10 * np.log10(extension.ratios["bass"]), 0.0, atol=0.5)
    again = BandwidthExtension.from_dict(extension.to_dict())
    np.testing.assert_allclose(again.ratios["drums"], extension.ratios["drums"], rtol=1e-3)


def test_rebuilt_band_has_the_fitted_level_and_the_source_timing():
    ratios_db = (-3.0, -9.0, -20.0, -40.0)
    extension = BandwidthExtension((3000.0, 6000.0), (6000.0, 8000.0, 11000.0, 16000.0, 22050.0),
                                   {"drums": tuple(10 ** (db / 10) for db in ratios_db)})
    take = band_limited(bursts(seed=2))
    extended = extension.extend(take, RATE, "drums")
    bands = [(3000.0, 6000.0), (6500.0, 7500.0), (9000.0, 10000.0), (13000.0, 14000.0), (18000.0, 20000.0)]
    before, after = band_powers(take, RATE, bands), band_powers(extended, RATE, bands)
    assert np.all(10 * np.log10(before[1:] / before[0]) < -40)  # the take had no high band (window leakage only)
    np.testing.assert_allclose(10 * np.log10(after[1:] / after[0]), ratios_db, atol=2.0)
    assert abs(10 * np.log10(after[0] / before[0])) < 0.2  # what the model made is kept
    high = extended - take  # the added band alone
    frame = int(0.25 * RATE)
    energy = (high[: frame * 16].reshape(16, frame) ** 2)
    onset, tail = energy[:, : int(0.03 * RATE)].mean(), energy[:, int(0.15 * RATE):].mean()
    assert onset > 100 * tail  # hits in the new band land where the source's hits are
    assert extension.extend(take, 12000, "drums") is take  # no band above the model's Nyquist to rebuild
    assert extension.extend(take, RATE, "piano") is take   # no ratios for this instrument


def test_generator_takes_carry_the_extension_up_to_the_output_rate():
    from musicsim_gui.audio.clip import AudioClip
    from musicsim_gui.generation.base import GenerationRequest
    from musicsim_gui.generation.vit_wavegan.generator import torch_generator
    from musicsim_gui.generation.vit_wavegan.model import build_model

    model = build_model("debug")
    nyquist = model.config.features.sample_rate / 2
    extension = BandwidthExtension((nyquist / 2, nyquist), (nyquist, 11000.0, 22050.0),
                                   {name: (0.5, 0.1) for name in model.config.instruments})
    reference = AudioClip(bursts(3.0)[None], RATE)
    request = GenerationRequest(reference, ("drums",), (4,), 1, {"seconds": 2.0})
    plain = torch_generator(model, "debug", "1").generate(request)[0].clip
    extended = torch_generator(model, "debug", "1", finishing=Finishing(bandwidth=extension)).generate(request)[0].clip
    bands = [(nyquist / 2, nyquist), (nyquist, 11000.0)]
    plain_power, extended_power = band_powers(plain.samples[0], RATE, bands), band_powers(extended.samples[0], RATE, bands)
    assert plain_power[1] < 1e-4 * plain_power[0]
    assert 10 * np.log10(extended_power[1] / extended_power[0]) == pytest.approx(-3.0, abs=2.5)


def test_inconsistent_stored_extension_is_refused():
    stored = {"source_hz": [3000.0, 6000.0], "edges_hz": [6000.0, 8000.0, 11000.0], "ratios_db": {"drums": [-3.0]}}
    with pytest.raises(ValueError, match="2 bands"):
        BandwidthExtension.from_dict(stored)
