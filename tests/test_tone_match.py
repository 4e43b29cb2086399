"""Tone matching of generated loops and the phrase arrangement of takes: fitting, applying, storing, using."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from separation_support import write_corpus
from vit_support import debug_folder_with_card

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.generation.base import GenerationRequest
from musicsim_gui.generation.vit_wavegan import loops
from musicsim_gui.generation.vit_wavegan.export import export_folder
from musicsim_gui.generation.vit_wavegan.loading import debug_generator, load_folder
from musicsim_gui.generation.vit_wavegan.model import build_model
from musicsim_gui.generation.vit_wavegan.tone import ToneMatch, band_centres, fit_tone, spectral_shape
from musicsim_gui.runtime.manifest import load_manifest
from musicsim_gui.training.vit_wavegan.tone_fit import install_tone_match

RATE = 44100


def _lowpassed_noise(seconds: float, cutoff_hz: float, cut_db: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(int(seconds * RATE)))
    freqs = np.fft.rfftfreq(int(seconds * RATE), 1.0 / RATE)
    spectrum[freqs > cutoff_hz] *= 10.0 ** (cut_db / 20.0)
    return np.fft.irfft(spectrum, n=int(seconds * RATE)).astype(np.float32)


def test_fitted_gains_recover_a_known_tilt_and_bring_takes_to_the_real_shape():
    real = {"bass": [_lowpassed_noise(3.0, 3000.0, -30.0, seed) for seed in range(3)]}
    takes = {"bass": [_lowpassed_noise(3.0, 3000.0, 0.0, 10 + seed) for seed in range(3)]}
    match = fit_tone(real, takes, RATE)
    centres = np.asarray(match.centres_hz)
    gains = np.asarray(match.gains_db["bass"])
    assert np.all(np.diff(centres) > 0) and centres[-1] < RATE / 2
    low, high = gains[centres < 2000].mean(), gains[centres > 5000].mean()
    assert high - low == pytest.approx(-30.0, abs=3.0)
    matched = match.apply(takes["bass"][0], RATE, "bass")
    error = 10 * np.abs(spectral_shape(matched, RATE) - spectral_shape(real["bass"][0], RATE))
    before = 10 * np.abs(spectral_shape(takes["bass"][0], RATE) - spectral_shape(real["bass"][0], RATE))
    assert error[centres > 5000].mean() < 3.0 < before[centres > 5000].mean()


def test_gains_are_clipped_and_instruments_without_gains_pass_unchanged():
    silent_top = {"piano": [_lowpassed_noise(2.0, 1000.0, -120.0, 1)]}
    match = fit_tone(silent_top, {"piano": [_lowpassed_noise(2.0, 1000.0, 0.0, 2)]}, RATE)
    assert min(match.gains_db["piano"]) >= -40.0 and max(match.gains_db["piano"]) <= 6.0
    loop = _lowpassed_noise(0.5, 20000.0, 0.0, 3)
    assert np.array_equal(match.apply(loop, RATE, "drums"), loop)
    with pytest.raises(ValueError, match="audible"):
        fit_tone({"bass": [np.zeros(RATE, np.float32)]}, {"bass": [loop]}, RATE)


def test_circular_filtering_of_a_loop_equals_filtering_the_endless_repetition():
    centres = tuple(float(c) for c in band_centres(RATE))
    match = ToneMatch(centres, {"bass": tuple(float(g) for g in np.linspace(0.0, -30.0, len(centres)))})
    loop = _lowpassed_noise(0.37, 20000.0, 0.0, 4)
    once = match.apply(loop, RATE, "bass")
    repeated = match.apply(np.tile(loop, 3), RATE, "bass")
    np.testing.assert_allclose(repeated[loop.size: 2 * loop.size], once, atol=1e-5)
    seam = np.abs(np.diff(np.tile(once, 2)))[loop.size - 3: loop.size + 2].max()
    assert seam < 4 * np.abs(np.diff(once)).mean() + 1e-6  # the seam is no bigger than a typical step


def test_stored_match_must_fit_its_bands():
    with pytest.raises(ValueError, match="need 3 gains"):
        ToneMatch.from_dict({"centres_hz": [100.0, 200.0, 300.0], "gains_db": {"bass": [0.0, -1.0]}})
    with pytest.raises(ValueError, match="increase"):
        ToneMatch.from_dict({"centres_hz": [300.0, 200.0], "gains_db": {}})


def test_installed_match_is_used_by_the_folder_generator_and_named_in_its_card(tmp_path):
    folder = debug_folder_with_card(tmp_path / "vit-debug", "# vit-debug\n- Bandwidth extension: none.\n")
    reference = AudioClip(_lowpassed_noise(4.0, 20000.0, 0.0, 5)[None].repeat(2, 0), RATE, "noise")
    request = GenerationRequest(reference, ("bass", "drums"), (7,), 1, {"seconds": 2.0})
    plain = load_folder(folder, backend="onnx", device="cpu").generate(request)
    centres = tuple(float(c) for c in band_centres(RATE))
    cut = ToneMatch(centres, {"bass": tuple(float(g) for g in np.linspace(0.0, -40.0, len(centres)))})
    install_tone_match(folder, cut)
    install_tone_match(folder, cut)  # a refit replaces the earlier line
    card = (folder / "MODEL_CARD.md").read_text()
    assert card.count("- Tone match:") == 1 and card.index("Bandwidth") < card.index("Tone match")
    assert load_manifest(folder, verify=True).config["tone_match"]["gains_db"]["bass"][-1] == -40.0
    matched = load_folder(folder, backend="onnx", device="cpu").generate(request)
    assert np.abs(matched[0].clip.samples - plain[0].clip.samples).max() > 1e-2          # bass equalised
    np.testing.assert_allclose(matched[1].clip.samples, plain[1].clip.samples, atol=1e-6)  # drums untouched


def test_export_tone_command_fits_on_a_corpus(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"train": 2}, seconds=4.0)
    folder = tmp_path / "vit-debug"
    export_folder(build_model("debug"), folder, "vit-debug", "1")
    done = subprocess.run([sys.executable, "-m", "musicsim_gui", "export", "tone", str(folder), "--corpus",
                           str(corpus), "--songs", "2"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    stored = json.loads((folder / "manifest.json").read_text())["config"]["tone_match"]
    assert set(stored["gains_db"]) == set(INSTRUMENTS)
    missing = subprocess.run([sys.executable, "-m", "musicsim_gui", "export", "tone", str(folder), "--corpus",
                              str(tmp_path / "nowhere")], capture_output=True, text=True, timeout=300)
    assert missing.returncode != 0 and "no song folders" in missing.stderr


def test_phrase_pattern_varies_the_fourth_bar():
    assert loops.phrase_pattern(4) == (0, 0, 0, 1)
    assert loops.phrase_pattern(2) == (0, 1, 0, 1, 0, 1, 2, 3)
    assert loops.phrase_pattern(1) == (0, 1, 2, 3) * 3 + (4, 5, 6, 7)
    assert loops.phrase_pattern(16) == (0,) and loops.phrase_pattern(0) == (0,)
    loop = np.stack([np.full(100, 1.0, np.float32), np.full(100, -1.0, np.float32)])
    tiled = loops.tile(loop, 800, fade=0, period=100.0, pattern=(0, 0, 0, 1))
    assert np.array_equal(np.sign(tiled[50::100]), [1, 1, 1, -1, 1, 1, 1, -1])


def test_phrase_takes_vary_and_stay_reproducible_and_loop_takes_repeat():
    generator = debug_generator()
    reference = AudioClip(_lowpassed_noise(4.0, 20000.0, 0.0, 6)[None].repeat(2, 0), RATE, "noise")
    params = {"seconds": 8.0, "tempo_bpm": 540.0}  # the debug window (0.26 s) holds 2 beats and a crossfade
    phrase = generator.generate(GenerationRequest(reference, ("piano",), (3,), 1, params))[0]
    again = generator.generate(GenerationRequest(reference, ("piano",), (3,), 1, params))[0]
    looped = generator.generate(GenerationRequest(reference, ("piano",), (3,), 1, {**params, "arrangement": "loop"}))[0]
    assert phrase.params["arrangement"] == "phrase" and looped.params["arrangement"] == "loop"
    np.testing.assert_array_equal(phrase.clip.samples, again.clip.samples)
    assert generator.pattern(540.0, "phrase") == (0, 1, 0, 1, 0, 1, 2, 3)
    assert np.abs(phrase.clip.samples - looped.clip.samples).max() > 1e-3
    with pytest.raises(Exception, match="unknown arrangement"):
        generator.generate(GenerationRequest(reference, ("piano",), (3,), 1, {**params, "arrangement": "x"}))
