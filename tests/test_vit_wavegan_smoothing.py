"""Temporal smoothing of generated loops: what it averages, what it keeps, the seam, storing and using it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from scipy.ndimage import uniform_filter1d
from vit_support import debug_folder_with_card, export_command

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.spectral import stft
from musicsim_gui.generation.base import GenerationRequest
from musicsim_gui.generation.vit_wavegan.loading import load_folder
from musicsim_gui.generation.vit_wavegan.smoothing import HOP, N_FFT, TemporalSmoothing, parse_smoothing
from musicsim_gui.runtime.manifest import load_manifest

RATE = 12000


def _flicker(magnitude: np.ndarray) -> float:
    """Mean squared frame-to-frame change of the log magnitude in the loudest bins (a slow ramp scores far less
    than the jump it replaces, though both cover the same distance)."""
    loud = magnitude.mean(axis=1) > 0.1 * magnitude.mean(axis=1).max()
    log = np.log(magnitude[loud] + 1e-6)
    return float((np.diff(log, axis=1) ** 2).mean())


def _grainy_tone(seconds: float, seed: int) -> np.ndarray:
    """A 440 Hz tone whose level jumps at random every 160 ms (a head's grain), plus a little noise."""
    rng = np.random.default_rng(seed)
    frames = int(seconds * RATE)
    steps = np.repeat(rng.uniform(0.2, 1.0, frames // 1920 + 1), 1920)[:frames]
    time = np.arange(frames) / RATE
    return (np.sin(2 * np.pi * 440.0 * time) * steps + 0.01 * rng.standard_normal(frames)).astype(np.float32)


def test_smoothing_evens_out_grain_and_keeps_a_steady_tone():
    smoothing = TemporalSmoothing({"other": 0.3})
    grainy = _grainy_tone(2.0, 0)
    smoothed = smoothing.apply(grainy, RATE, "other")
    assert smoothed.shape == grainy.shape and smoothed.dtype == np.float32
    before, after = (np.abs(stft(audio, n_fft=N_FFT, hop_length=HOP)) for audio in (grainy, smoothed))
    assert _flicker(after) < 0.7 * _flicker(before)
    tone_bin = int(round(440.0 * N_FFT / RATE))
    expected = uniform_filter1d(before[tone_bin], smoothing.frames("other", RATE), mode="wrap")
    inner = slice(8, -8)  # frames whose window lies inside the signal
    error = np.abs(after[tone_bin, inner] - expected[inner]) / expected[inner]
    assert error.mean() < 0.1  # the tone's level now follows its 0.3 s average
    steady = np.sin(2 * np.pi * 440.0 * np.arange(2 * RATE) / RATE).astype(np.float32)
    kept = smoothing.apply(steady, RATE, "other")
    assert np.sqrt(np.mean((kept - steady) ** 2)) < 0.02 * np.sqrt(np.mean(steady**2))
    np.testing.assert_array_equal(smoothing.apply(grainy, RATE, "drums"), grainy)  # not named: unchanged


def test_smoothing_wraps_around_the_loop_seam():
    smoothing = TemporalSmoothing({"bass": 0.1})
    loop = _grainy_tone(38 * HOP / RATE, 1)  # a whole number of hops, so both see the same frame grid
    alone = smoothing.apply(loop, RATE, "bass")
    tiled = smoothing.apply(np.tile(loop, 3), RATE, "bass")
    length = loop.shape[0]
    np.testing.assert_allclose(alone, tiled[length: 2 * length], atol=1e-4)


def test_window_frames_and_settings_are_checked():
    smoothing = TemporalSmoothing({"other": 0.3, "bass": 0.01})
    assert smoothing.frames("other", RATE) == 15 and smoothing.frames("bass", RATE) == 3
    assert smoothing.frames("piano", RATE) == 0
    assert TemporalSmoothing.from_dict(smoothing.to_dict()) == smoothing
    assert parse_smoothing("other=0.3, bass=0.01") == smoothing
    for bad in ("other", "other=x", "=0.2"):
        with pytest.raises(ValueError, match="INSTRUMENT=SECONDS"):
            parse_smoothing(bad)
    for bad in ({"seconds": {"other": 0.0}}, {"seconds": {"other": 5.0}}):
        with pytest.raises(ValueError, match="windows must be"):
            TemporalSmoothing.from_dict(bad)


def test_installed_smoothing_is_used_by_the_folder_generator_and_can_be_turned_off(tmp_path):
    folder = debug_folder_with_card(tmp_path / "vit-debug", "# vit-debug\n- Tone match: none.\n- Weights: random.\n")
    rng = np.random.default_rng(3)
    reference = AudioClip(rng.standard_normal((2, 4 * 44100)).astype(np.float32) * 0.1, 44100, "noise")
    request = GenerationRequest(reference, ("bass", "other"), (7,), 1, {"seconds": 2.0})
    plain = load_folder(folder, backend="onnx", device="cpu").generate(request)
    done = export_command("smoothing", str(folder), "--seconds", "other=0.3")
    assert done.returncode == 0, done.stderr
    assert load_manifest(folder, verify=True).config["temporal_smoothing"] == {"seconds": {"other": 0.3}}
    card = (folder / "MODEL_CARD.md").read_text().splitlines()
    assert card[2].startswith("- Temporal smoothing:") and "other 300 ms" in card[2]  # after the tone match
    generator = load_folder(folder, backend="onnx", device="cpu")
    smoothed = generator.generate(request)
    np.testing.assert_allclose(smoothed[0].clip.samples, plain[0].clip.samples, atol=1e-6)  # bass untouched
    assert np.abs(smoothed[1].clip.samples - plain[1].clip.samples).max() > 1e-2              # other smoothed
    assert smoothed[1].params["smoothing"] is True
    off = generator.generate(GenerationRequest(reference, ("other",), (7,), 1, {"seconds": 2.0, "smoothing": False}))
    np.testing.assert_allclose(off[0].clip.samples, plain[1].clip.samples, atol=1e-6)
    ref = tmp_path / "ref.wav"
    sf.write(ref, reference.samples.T, reference.sample_rate)
    for flag, expected in (([], True), (["--no-smoothing"], False)):
        out = tmp_path / f"takes-{expected}"
        made = subprocess.run([sys.executable, "-m", "musicsim_gui", "generate", str(ref), "--model", str(folder),
                               "--instruments", "other", "--seconds", "2", "-o", str(out), *flag],
                              capture_output=True, text=True, timeout=300)
        assert made.returncode == 0, made.stderr
        assert json.loads((out / "takes.json").read_text())["takes"][0]["params"]["smoothing"] is expected
    wrong = export_command("smoothing", str(folder), "--seconds", "vocals=0.3")
    assert wrong.returncode != 0 and "no head for vocals" in wrong.stderr
