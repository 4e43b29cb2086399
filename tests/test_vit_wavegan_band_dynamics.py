"""Band dynamics of the takes' loops: how far bands move after it, what it leaves alone, its settings, the
installed model."""

from __future__ import annotations

import numpy as np
import pytest
from vit_support import assert_loops_treated_as_tiled, debug_folder_with_card, export_command

from musicsim_gui.audio import spectral
from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.generation.base import GenerationRequest
from musicsim_gui.generation.vit_wavegan.band_dynamics import BandDynamics, parse_band_dynamics
from musicsim_gui.generation.vit_wavegan.loading import load_folder
from musicsim_gui.runtime.manifest import load_manifest

RATE = 44100


def _plucks(seconds: float = 2.0) -> np.ndarray:
    """A 110 Hz note held under noise 2-6 kHz that swells and fades four times a second (6 dB up and down)."""
    time = np.arange(int(seconds * RATE)) / RATE
    rng = np.random.default_rng(3)
    hiss = spectral.istft(spectral.stft(rng.standard_normal(time.shape[0]).astype(np.float32), n_fft=2048,
                                        hop_length=512) * _band(2000.0, 6000.0)[:, None], hop_length=512,
                          length=time.shape[0])
    swell = 10.0 ** (6.0 * np.sin(2 * np.pi * 4.0 * time) / 20.0)
    return (np.sin(2 * np.pi * 110.0 * time) + 0.05 * hiss * swell).astype(np.float32)


def _band(low: float, high: float) -> np.ndarray:
    freqs = np.fft.rfftfreq(2048, 1.0 / RATE)
    return ((freqs >= low) & (freqs < high)).astype(np.float32)


def _level_spread_db(audio: np.ndarray, low: float, high: float) -> float:
    """Standard deviation over frames of the band's level (dB), away from the ends."""
    power = (_band(low, high)[:, None] * np.abs(spectral.stft(audio, n_fft=2048, hop_length=512)) ** 2).sum(axis=0)
    return float(np.std(10.0 * np.log10(power[8:-8] + 1e-20)))


def test_the_upper_bands_move_further_and_the_note_below_is_left():
    take = _plucks()
    widened = BandDynamics({"bass": 1.5}, {"bass": 1600.0}).apply(take, RATE, "bass")
    assert widened.shape == take.shape and widened.dtype == np.float32
    before, after = _level_spread_db(take, 2500.0, 5000.0), _level_spread_db(widened, 2500.0, 5000.0)
    assert 1.3 < after / before < 1.7                                           # the swells deepen by the ratio
    assert abs(_level_spread_db(widened, 90.0, 130.0) - _level_spread_db(take, 90.0, 130.0)) < 0.05
    low = _band(90.0, 130.0)[:, None]
    note = lambda audio: np.abs(spectral.stft(audio, n_fft=2048, hop_length=512))[:, 8:-8] * low  # noqa: E731
    np.testing.assert_allclose(note(widened), note(take), rtol=0.02, atol=1e-3)  # the held note below stays
    evened = BandDynamics({"bass": 0.5}, {"bass": 1600.0}).apply(take, RATE, "bass")
    assert _level_spread_db(evened, 2500.0, 5000.0) < 0.7 * before                 # below 1 evens them out
    np.testing.assert_array_equal(BandDynamics({"bass": 1.5}).apply(take, RATE, "piano"), take)
    np.testing.assert_array_equal(BandDynamics({"bass": 1.5}).apply(take[:1000], RATE, "bass"), take[:1000])
    assert not BandDynamics({"bass": 1.0}).applies_to("bass")


def test_loops_are_scaled_as_they_are_heard_tiled():
    take = _plucks(1.0)
    dynamics = BandDynamics({"bass": 1.5}, {"bass": 1600.0})
    assert_loops_treated_as_tiled(dynamics, take, RATE, "bass", 0.01)
    loops = np.stack([take, take[::-1].copy()])
    np.testing.assert_array_equal(dynamics.apply_loops(loops, RATE, "drums"), loops)


def test_settings_round_trip_and_bad_ones_are_named():
    dynamics = parse_band_dynamics("bass=1.3, piano=0.8", "bass=1600")
    assert dynamics == BandDynamics({"bass": 1.3, "piano": 0.8}, {"bass": 1600.0})
    assert BandDynamics.from_dict(dynamics.to_dict()) == dynamics
    assert "from_hz" not in BandDynamics({"bass": 1.3}).to_dict()
    mask = dynamics.band_mask(RATE, "bass")
    assert not mask[0] and mask[-1] and mask.sum() < mask.shape[0] and dynamics.band_mask(RATE, "piano").all()
    for bad in ("bass", "bass=x", "=1.3"):
        with pytest.raises(ValueError, match="INSTRUMENT=RATIO"):
            parse_band_dynamics(bad)
    with pytest.raises(ValueError, match="ratios must be 0.25-4"):
        parse_band_dynamics("bass=9")
    with pytest.raises(ValueError, match="lower edge for drums, which has no ratio"):
        parse_band_dynamics("bass=1.3", "drums=1000")
    with pytest.raises(ValueError, match="lower edges"):
        parse_band_dynamics("bass=1.3", "bass=-5")
    with pytest.raises(ValueError, match="band dynamics"):
        BandDynamics.from_dict({"ratios": ["bass"]})


def test_installed_band_dynamics_change_only_their_instruments(tmp_path):
    folder = debug_folder_with_card(tmp_path / "vit-debug", "# vit-debug\n- Low cut: none.\n")
    plain_generator = load_folder(folder, backend="onnx", device="cpu")
    done = export_command("band-dynamics", str(folder), "--ratios", "bass=1.5", "--from-hz", "bass=1600")
    assert done.returncode == 0, done.stderr
    assert load_manifest(folder, verify=True).config["band_dynamics"] == {"ratios": {"bass": 1.5},
                                                                          "from_hz": {"bass": 1600.0}}
    card = (folder / "MODEL_CARD.md").read_text().splitlines()
    assert card[card.index("- Low cut: none.") + 1].startswith("- Band dynamics:")
    generator = load_folder(folder, backend="onnx", device="cpu")
    reference = AudioClip(np.random.default_rng(1).standard_normal((2, 4 * RATE)).astype(np.float32) * 0.1, RATE)
    request = GenerationRequest(reference, ("bass", "drums"), (5,), 1, {"seconds": 3.0})
    plain, scaled = plain_generator.generate(request), generator.generate(request)
    assert np.abs(scaled[0].clip.samples - plain[0].clip.samples).max() > 1e-3      # bass: named
    np.testing.assert_allclose(scaled[1].clip.samples, plain[1].clip.samples, atol=1e-6)   # drums: not named
    for bad, message in ((["--ratios", "vocals=1.3"], "no head for vocals"),
                         (["--ratios", "bass=1.3", "--from-hz", "drums=100"], "drums, which has no ratio")):
        wrong = export_command("band-dynamics", str(folder), *bad)
        assert wrong.returncode == 2 and message in wrong.stderr
    assert load_manifest(folder, verify=True).config["band_dynamics"]["ratios"] == {"bass": 1.5}   # left as it was
