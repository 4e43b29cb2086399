"""Spectral floor subtraction of finished takes: what it cuts and keeps, its settings, and the installed model."""

from __future__ import annotations

import numpy as np
import pytest
from vit_support import assert_loops_treated_as_tiled, debug_folder_with_card, export_command

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.generation.base import GenerationRequest
from musicsim_gui.generation.vit_wavegan.loading import load_folder
from musicsim_gui.generation.vit_wavegan.spectral_floor import SpectralFloor, parse_floor
from musicsim_gui.runtime.manifest import load_manifest

RATE = 44100


def _partials_over_noise(seconds: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a 220 Hz tone with 12 partials over white noise 30 dB below them, the partials alone, the noise alone)."""
    time = np.arange(int(seconds * RATE)) / RATE
    partials = sum(np.sin(2 * np.pi * 220.0 * k * time) / k for k in range(1, 13)).astype(np.float32)
    noise = (np.random.default_rng(0).standard_normal(time.shape[0]) * 0.01).astype(np.float32)
    return partials + noise, partials, noise


def _power_db(audio: np.ndarray, bins: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.shape[0]))) ** 2
    return float(10.0 * np.log10(spectrum[bins].sum() + 1e-20))


def test_the_floor_between_partials_is_cut_and_the_partials_kept():
    take, partials, noise = _partials_over_noise()
    cleaned = SpectralFloor({"piano": 2.0}).apply(take, RATE, "piano")
    assert cleaned.shape == take.shape and cleaned.dtype == np.float32
    freqs = np.fft.rfftfreq(take.shape[0], 1.0 / RATE)
    harmonic = np.abs((freqs / 220.0) - np.round(freqs / 220.0)) * 220.0
    on_partials = np.flatnonzero((harmonic < 5.0) & (freqs > 100.0) & (freqs < 2700.0))
    between = np.flatnonzero((harmonic > 70.0) & (freqs > 100.0) & (freqs < 2700.0))
    assert _power_db(cleaned, on_partials) > _power_db(take, on_partials) - 0.5       # the partials stay
    deepened = _power_db(take, between) - _power_db(cleaned, between)
    assert deepened > 4.0                                                              # the valleys deepen
    milder = SpectralFloor({"piano": 1.0}).apply(take, RATE, "piano")
    assert 1.0 < _power_db(take, between) - _power_db(milder, between) < deepened      # by the strength
    np.testing.assert_array_equal(SpectralFloor({"piano": 2.0}).apply(take, RATE, "bass"), take)
    np.testing.assert_array_equal(SpectralFloor({"piano": 2.0}).apply(take[:1000], RATE, "piano"), take[:1000])


def test_an_upper_limit_leaves_the_band_above_it_alone():
    take, _, _ = _partials_over_noise()
    freqs = np.fft.rfftfreq(take.shape[0], 1.0 / RATE)
    low, high = np.flatnonzero((freqs > 100.0) & (freqs < 900.0)), np.flatnonzero((freqs > 4000.0) & (freqs < 12000.0))
    everywhere = SpectralFloor({"bass": 2.0}).apply(take, RATE, "bass")
    limited = SpectralFloor({"bass": 2.0}, max_hz={"bass": 1000.0}).apply(take, RATE, "bass")
    assert abs(_power_db(limited, low) - _power_db(everywhere, low)) < 0.5      # full strength below the limit
    assert _power_db(everywhere, high) < _power_db(take, high) - 3.0
    assert abs(_power_db(limited, high) - _power_db(take, high)) < 0.1        # nothing an octave above it
    weights = SpectralFloor({"bass": 2.0}, max_hz={"bass": 1000.0}).band_weights(RATE, "bass")[:, 0]
    bins = np.fft.rfftfreq(2048, 1.0 / RATE)
    assert weights[bins < 1000.0].min() == 1.0 and weights[bins > 2000.0].max() == 0.0
    assert 0.4 < weights[np.argmin(np.abs(bins - 1414.0))] < 0.6                # half way up the octave


def _low_note_over_noise(seconds: float = 2.0) -> np.ndarray:
    """A 110 Hz tone with 60 partials (up to 6.6 kHz) over white noise 50 dB below its fundamental."""
    time = np.arange(int(seconds * RATE)) / RATE
    partials = sum(np.sin(2 * np.pi * 110.0 * k * time) / k for k in range(1, 61))
    return (partials + np.random.default_rng(2).standard_normal(time.shape[0]) * 0.003).astype(np.float32)


def test_above_the_fill_frequency_the_valleys_fill_and_the_band_keeps_its_power():
    take = _low_note_over_noise()
    freqs = np.fft.rfftfreq(take.shape[0], 1.0 / RATE)
    harmonic = np.abs((freqs / 110.0) - np.round(freqs / 110.0)) * 110.0
    top = (freqs > 3000.0) & (freqs < 6000.0)
    between = np.flatnonzero((harmonic > 40.0) & top)
    low = np.flatnonzero((freqs > 100.0) & (freqs < 1400.0))
    filled = SpectralFloor({"bass": 0.0}, fill_from_hz={"bass": 1500.0}).apply(take, RATE, "bass")
    assert filled.shape == take.shape and filled.dtype == np.float32
    assert _power_db(filled, between) > _power_db(take, between) + 10.0              # the gaps fill up
    assert abs(_power_db(filled, np.flatnonzero(top)) - _power_db(take, np.flatnonzero(top))) < 1.0   # same power
    assert abs(_power_db(filled, low) - _power_db(take, low)) < 0.1                  # nothing below the fill
    both = SpectralFloor({"bass": 1.0}, max_hz={"bass": 1000.0}, fill_from_hz={"bass": 1500.0})
    cleaned = both.apply(take, RATE, "bass")                                          # cleared below, filled above
    only_cleared = SpectralFloor({"bass": 1.0}, max_hz={"bass": 1000.0}).apply(take, RATE, "bass")
    low_between = np.flatnonzero((harmonic > 40.0) & (freqs > 100.0) & (freqs < 900.0))
    assert abs(_power_db(cleaned, low_between) - _power_db(only_cleared, low_between)) < 0.1
    assert _power_db(cleaned, between) > _power_db(take, between) + 10.0
    weights = both.fill_weights(RATE, "bass")[:, 0]
    bins = np.fft.rfftfreq(2048, 1.0 / RATE)
    assert weights[bins < 1500.0].max() == 0.0 and weights[bins > 3000.0].min() == 1.0
    assert 0.4 < weights[np.argmin(np.abs(bins - 2121.0))] < 0.6                # half way up the octave
    assert not both.fill_weights(RATE, "piano").any()


def test_loops_are_cleaned_as_they_are_heard_tiled():
    take, _, _ = _partials_over_noise(1.0)
    floor = SpectralFloor({"piano": 2.0})
    assert_loops_treated_as_tiled(floor, take, RATE, "piano", 0.01)  # without the wrap: 0.027
    loops = np.stack([take, take[::-1].copy()])
    np.testing.assert_array_equal(floor.apply_loops(loops, RATE, "bass"), loops)


def test_settings_round_trip_and_are_checked():
    floor = parse_floor("piano=2, bass=0.5", width_hz=250.0)
    assert floor == SpectralFloor({"piano": 2.0, "bass": 0.5}, 250.0)
    assert SpectralFloor.from_dict(floor.to_dict()) == floor
    assert floor.applies_to("bass") and not floor.applies_to("drums")
    assert floor.width_bins(RATE) % 2 == 1 and floor.width_bins(RATE) == 13
    for bad in ("piano", "piano=x", "=2"):
        with pytest.raises(ValueError, match="INSTRUMENT=STRENGTH"):
            parse_floor(bad)
    with pytest.raises(ValueError, match="strengths must be in"):
        SpectralFloor({"piano": 5.0})
    with pytest.raises(ValueError, match="width"):
        SpectralFloor({"piano": 1.0}, width_hz=5.0)
    with pytest.raises(ValueError, match="spectral floor"):
        SpectralFloor.from_dict({"strengths": [1.0]})
    limited = parse_floor("bass=1.4,piano=1.5", 200.0, "bass=1600")
    assert limited.max_hz == {"bass": 1600.0} and SpectralFloor.from_dict(limited.to_dict()) == limited
    assert "max_hz" not in floor.to_dict()                                         # older manifests read the same
    with pytest.raises(ValueError, match="no strength"):
        parse_floor("piano=1.5", 200.0, "bass=1600")
    with pytest.raises(ValueError, match="upper limits"):
        SpectralFloor({"bass": 1.0}, max_hz={"bass": 50.0})
    filling = parse_floor("bass=1,drums=0", 200.0, "bass=1600", "bass=1500,drums=4000", 150.0)
    assert filling.fill_from_hz == {"bass": 1500.0, "drums": 4000.0} and filling.fill_width_hz == 150.0
    assert SpectralFloor.from_dict(filling.to_dict()) == filling and filling.applies_to("drums")
    assert "fill_from_hz" not in limited.to_dict()                                 # older manifests read the same
    with pytest.raises(ValueError, match="fill frequency for piano, which has no strength"):
        parse_floor("bass=1", 200.0, "", "piano=3000")
    with pytest.raises(ValueError, match="fill frequencies"):
        parse_floor("bass=1", 200.0, "", "bass=20")
    with pytest.raises(ValueError, match="fill width"):
        SpectralFloor({"bass": 1.0}, fill_from_hz={"bass": 1500.0}, fill_width_hz=1.0)


def test_installed_floor_cleans_its_instruments_unless_smoothing_is_off(tmp_path):
    folder = debug_folder_with_card(tmp_path / "vit-debug", "# vit-debug\n- Tone match: none.\n")
    plain_generator = load_folder(folder, backend="onnx", device="cpu")
    done = export_command("spectral-floor", str(folder), "--strengths", "piano=2")
    assert done.returncode == 0, done.stderr
    assert load_manifest(folder, verify=True).config["spectral_floor"] == {"strengths": {"piano": 2.0},
                                                                           "width_hz": 320.0}
    assert "- Spectral floor:" in (folder / "MODEL_CARD.md").read_text()
    generator = load_folder(folder, backend="onnx", device="cpu")
    reference = AudioClip(np.random.default_rng(1).standard_normal((2, 4 * RATE)).astype(np.float32) * 0.1, RATE)
    request = GenerationRequest(reference, ("bass", "piano"), (5,), 1, {"seconds": 2.0})
    plain, cleaned = plain_generator.generate(request), generator.generate(request)
    np.testing.assert_allclose(cleaned[0].clip.samples, plain[0].clip.samples, atol=1e-6)   # bass: not named
    assert np.abs(cleaned[1].clip.samples - plain[1].clip.samples).max() > 1e-3
    assert cleaned[1].params["smoothing"] is True
    off = GenerationRequest(reference, ("piano",), (5,), 1, {"seconds": 2.0, "smoothing": False})
    (raw,) = generator.generate(off)
    (raw_plain,) = plain_generator.generate(off)
    np.testing.assert_allclose(raw.clip.samples, raw_plain.clip.samples, atol=1e-6)
    assert raw.params["smoothing"] is False
    wrong = export_command("spectral-floor", str(folder), "--strengths", "vocals=1")
    assert wrong.returncode == 2 and "no head for vocals" in wrong.stderr
    stray = export_command("spectral-floor", str(folder), "--strengths", "piano=2", "--fill-from", "bass=1500")
    assert stray.returncode == 2 and "bass, which has no strength" in stray.stderr
    assert "fill_from_hz" not in load_manifest(folder, verify=True).config["spectral_floor"]   # left as it was
    done = export_command("spectral-floor", str(folder), "--strengths", "piano=2,bass=0", "--fill-from", "bass=1500")
    assert done.returncode == 0, done.stderr
    assert load_manifest(folder, verify=True).config["spectral_floor"]["fill_from_hz"] == {"bass": 1500.0}
    assert "bass from 1500 Hz" in (folder / "MODEL_CARD.md").read_text()
    (filled,) = load_folder(folder, backend="onnx", device="cpu").generate(
        GenerationRequest(reference, ("bass",), (5,), 1, {"seconds": 2.0}))
    assert np.abs(filled.clip.samples - plain[0].clip.samples).max() > 1e-3     # bass: filled now
