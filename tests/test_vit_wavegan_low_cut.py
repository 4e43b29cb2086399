"""Low cut of the takes' loops: what it removes and keeps, its settings, and the installed model."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt
from vit_support import debug_folder_with_card, export_command

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.generation.base import GenerationRequest
from musicsim_gui.generation.vit_wavegan.loading import load_folder
from musicsim_gui.generation.vit_wavegan.loops import tile
from musicsim_gui.generation.vit_wavegan.low_cut import LowCut, parse_low_cut
from musicsim_gui.runtime.manifest import load_manifest

RATE = 44100


def _band_power_db(audio: np.ndarray, low_hz: float, high_hz: float) -> float:
    freqs = np.fft.rfftfreq(audio.shape[-1], 1.0 / RATE)
    power = np.abs(np.fft.rfft(audio * np.hanning(audio.shape[-1]))) ** 2
    return float(10.0 * np.log10(power[(freqs >= low_hz) & (freqs < high_hz)].sum() + 1e-20))


def test_rumble_goes_and_a_kick_drum_stays():
    time = np.arange(RATE) / RATE  # a one-second loop: 7 Hz drift under a 55 Hz kick that decays
    rumble = 0.5 * np.sin(2 * np.pi * 7.0 * time)
    kick = np.sin(2 * np.pi * 55.0 * time) * np.exp(-time * 6.0)
    cut = LowCut({"drums": 30.0}).apply((rumble + kick).astype(np.float32), RATE, "drums")
    assert cut.dtype == np.float32 and cut.shape == time.shape
    assert _band_power_db(cut, 4, 10) < _band_power_db(rumble, 4, 10) - 60.0
    assert abs(_band_power_db(cut, 45, 70) - _band_power_db(kick, 45, 70)) < 1.0
    unchanged = LowCut({"drums": 30.0}).apply((rumble + kick).astype(np.float32), RATE, "piano")
    np.testing.assert_array_equal(unchanged, (rumble + kick).astype(np.float32))


def test_it_is_the_forward_backward_butterworth_and_wraps_around_the_loop():
    noise = np.random.default_rng(0).standard_normal(2 * RATE).astype(np.float32)
    cut = LowCut({"bass": 20.0}, order=4).apply(noise, RATE, "bass")
    reference = sosfiltfilt(butter(4, 20.0, "highpass", fs=RATE, output="sos"), noise)
    middle = slice(RATE // 2, -RATE // 2)  # away from the ends, where filtfilt pads and the loop wraps
    np.testing.assert_allclose(cut[middle], reference[middle], atol=1e-4)
    loops = np.stack([noise[:RATE], noise[RATE:]])
    both = LowCut({"bass": 20.0}).apply(loops, RATE, "bass")
    np.testing.assert_allclose(both[1], LowCut({"bass": 20.0}).apply(noise[RATE:], RATE, "bass"), atol=1e-6)
    # Tiled without a crossfade, the filtered loop equals the tiled loop filtered as one signal: no seam.
    tiled = tile(both[0], 3 * RATE, 0)
    whole = LowCut({"bass": 20.0}).apply(np.tile(noise[:RATE], 3), RATE, "bass")
    np.testing.assert_allclose(tiled, whole, atol=1e-4)


def test_settings_round_trip_and_bad_ones_are_named():
    low_cut = parse_low_cut("drums=30, bass=20", order=2)
    assert low_cut == LowCut({"drums": 30.0, "bass": 20.0}, 2)
    assert LowCut.from_dict(low_cut.to_dict()) == low_cut
    assert low_cut.applies_to("bass") and not low_cut.applies_to("piano")
    for bad in ("drums", "drums=x", "=30"):
        with pytest.raises(ValueError, match="low cut"):
            parse_low_cut(bad)
    with pytest.raises(ValueError, match="5-300 Hz"):
        parse_low_cut("bass=1000")
    with pytest.raises(ValueError, match="order"):
        LowCut({"bass": 20.0}, order=12)
    with pytest.raises(ValueError, match="low cut"):
        LowCut.from_dict({"cutoffs_hz": ["bass"]})


def test_installed_low_cut_clears_the_rumble_of_its_instruments(tmp_path):
    folder = debug_folder_with_card(tmp_path / "vit-debug", "# vit-debug\n- Spectral floor: none.\n")
    plain_generator = load_folder(folder, backend="onnx", device="cpu")
    done = export_command("low-cut", str(folder), "--cutoffs", "drums=40")
    assert done.returncode == 0, done.stderr
    assert load_manifest(folder, verify=True).config["low_cut"] == {"cutoffs_hz": {"drums": 40.0}, "order": 4}
    card = (folder / "MODEL_CARD.md").read_text().splitlines()
    assert card[card.index("- Spectral floor: none.") + 1].startswith("- Low cut:")
    generator = load_folder(folder, backend="onnx", device="cpu")
    reference = AudioClip(np.random.default_rng(1).standard_normal((2, 4 * RATE)).astype(np.float32) * 0.1, RATE)
    request = GenerationRequest(reference, ("bass", "drums"), (5,), 1, {"seconds": 3.0})
    plain, cut = plain_generator.generate(request), generator.generate(request)
    np.testing.assert_allclose(cut[0].clip.samples, plain[0].clip.samples, atol=1e-6)  # bass: not named
    before, after = plain[1].clip.samples[0], cut[1].clip.samples[0]
    rest_before, rest_after = _band_power_db(before, 100, 8000), _band_power_db(after, 100, 8000)
    assert _band_power_db(after, 1, 15) - rest_after < _band_power_db(before, 1, 15) - rest_before - 20.0
    wrong = export_command("low-cut", str(folder), "--cutoffs", "vocals=30")
    assert wrong.returncode == 2 and "no head for vocals" in wrong.stderr
    too_high = export_command("low-cut", str(folder), "--cutoffs", "bass=900")
    assert too_high.returncode == 2 and "5-300 Hz" in too_high.stderr
    assert load_manifest(folder, verify=True).config["low_cut"]["cutoffs_hz"] == {"drums": 40.0}
