"""Offline mixing through the playback kernel, loudness and level, and export to files."""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.io import load_audio
from musicsim_gui.audio.loudness import integrated_loudness, normalize_loudness, normalize_peak, peak_dbfs
from musicsim_gui.audio.mixdown import ExportSettings, export_clip, render_mix
from musicsim_gui.audio.mixkernel import ChannelStrip, MixScratch, mix_block, resolve_gains
from musicsim_gui.core.errors import AudioFileError, MusicSimError

RATE = 8000


def _dc(value: float, frames: int = 1000, channels: int = 1, rate: int = RATE) -> AudioClip:
    return AudioClip(np.full((channels, frames), value, np.float32), rate)


def _noise(seconds: float, rate: int = 44100, level: float = 0.1, seed: int = 0) -> AudioClip:
    rng = np.random.default_rng(seed)
    return AudioClip(level * rng.standard_normal((2, int(seconds * rate))), rate, "noise")


def test_gain_pan_and_master():
    sources = [_dc(0.5), _dc(0.25)]
    strips = [ChannelStrip(pan=-1.0), ChannelStrip(gain_db=-6.0)]
    mix = render_mix(sources, strips, master_gain_db=6.0)
    master, six_down = 10 ** (6 / 20), 10 ** (-6 / 20)
    expected_left = master * (0.5 * math.sqrt(2.0) + 0.25 * six_down)
    expected_right = master * 0.25 * six_down
    np.testing.assert_allclose(mix.samples[:, 0], [expected_left, expected_right], rtol=1e-6)
    assert mix.channels == 2 and mix.sample_rate == RATE and mix.frames == 1000


def test_constant_power_pan_law():
    for pan in np.linspace(-1, 1, 9):
        out = render_mix([_dc(1.0)], [ChannelStrip(pan=float(pan))]).samples[:, 0]
        assert out[0] ** 2 + out[1] ** 2 == pytest.approx(2.0, rel=1e-6)
    centre = render_mix([_dc(1.0)], [ChannelStrip()]).samples[:, 0]
    np.testing.assert_allclose(centre, [1.0, 1.0], rtol=1e-6)


@pytest.mark.parametrize(("strips", "expected"), [
    ([ChannelStrip(mute=True), ChannelStrip()], 0.25),
    ([ChannelStrip(solo=True), ChannelStrip()], 0.5),
    ([ChannelStrip(solo=True), ChannelStrip(solo=True)], 0.75),
    ([ChannelStrip(solo=True, mute=True), ChannelStrip()], 0.0),
    ([ChannelStrip(mute=True), ChannelStrip(mute=True)], 0.0),
])
def test_mute_and_solo(strips, expected):
    mix = render_mix([_dc(0.5), _dc(0.25)], strips)
    np.testing.assert_allclose(mix.samples, expected, atol=1e-7)


def test_rates_channels_and_lengths_are_reconciled():
    sources = [_dc(0.5, frames=RATE, rate=RATE), _dc(0.25, frames=RATE // 4, channels=2, rate=RATE // 2),
               AudioClip(np.tile([[0.1], [0.2], [0.3], [0.4]], (1, 100)), RATE)]
    mix = render_mix(sources, [ChannelStrip()] * 3, sample_rate=16000)
    assert mix.sample_rate == 16000 and mix.frames == 16000
    middle = mix.samples[:, 2000]  # all three sources present (resampling ripple settled)
    np.testing.assert_allclose(middle, 0.5 + 0.25, atol=2e-3)
    np.testing.assert_allclose(mix.samples[:, 100], [0.5 + 0.25 + 0.2, 0.5 + 0.25 + 0.3], atol=5e-3)
    np.testing.assert_allclose(mix.samples[:, -100], 0.5, atol=1e-3)
    with pytest.raises(ValueError):
        render_mix(sources, [ChannelStrip()])


def test_export_equals_playback_blocks():
    sources = [_noise(0.5, RATE, seed=1), _noise(0.3, RATE, seed=2)]
    strips = [ChannelStrip(gain_db=-3.0, pan=0.3), ChannelStrip(pan=-0.7)]
    offline = render_mix(sources, strips, master_gain_db=-1.0, block_frames=4096)
    gains = resolve_gains(strips, -1.0)
    block, scratch, position, played = np.zeros((256, 2), np.float32), MixScratch(256), 0, []
    while position < offline.frames:
        position = mix_block(block, [s.samples for s in sources], gains, position, scratch)
        played.append(block.T.copy())
    np.testing.assert_array_equal(np.concatenate(played, axis=1)[:, :offline.frames], offline.samples)


def test_loudness_matches_pyloudnorm_and_normalises():
    clip = _noise(3.0)
    reference = pyloudnorm.Meter(44100).integrated_loudness(clip.samples.T.astype(np.float64))
    assert integrated_loudness(clip) == pytest.approx(reference, abs=1e-6)
    assert integrated_loudness(normalize_loudness(clip, -23.0)) == pytest.approx(-23.0, abs=0.01)
    assert peak_dbfs(normalize_peak(clip, -3.0)) == pytest.approx(-3.0, abs=1e-4)
    silent = AudioClip(np.zeros((2, 44100), np.float32), 44100)
    assert integrated_loudness(silent) == -math.inf and peak_dbfs(silent) == -math.inf
    assert normalize_loudness(silent) is silent and normalize_peak(silent) is silent
    assert integrated_loudness(_noise(0.2)) == -math.inf
    wide = AudioClip(np.tile(clip.samples[:1], (6, 1)), 44100)
    assert math.isfinite(integrated_loudness(wide))


@pytest.mark.parametrize(("suffix", "bit_depth", "subtype"), [(".wav", 16, "PCM_16"), (".wav", 24, "PCM_24"),
                                                              (".wav", 32, "FLOAT"), (".flac", 16, "PCM_16"),
                                                              (".flac", 24, "PCM_24")])
@pytest.mark.parametrize("rate", [None, 44100, 48000])
def test_export_formats_and_rates(tmp_path, suffix, bit_depth, subtype, rate):
    clip = _noise(0.5, rate=32000)
    path = export_clip(clip, tmp_path / f"mix{suffix}", ExportSettings(bit_depth=bit_depth, sample_rate=rate))
    info = sf.info(path)
    assert info.subtype == subtype and info.samplerate == (rate or 32000) and info.channels == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_export_normalisation(tmp_path):
    clip = _noise(3.0)
    peak_file = export_clip(clip, tmp_path / "peak.wav", ExportSettings(bit_depth=32, normalize="peak", peak_dbfs=-2.0))
    assert peak_dbfs(load_audio(peak_file)) == pytest.approx(-2.0, abs=1e-4)
    loud_file = export_clip(clip, tmp_path / "loud.wav", ExportSettings(normalize="lufs", lufs=-20.0))
    assert integrated_loudness(load_audio(loud_file)) == pytest.approx(-20.0, abs=0.05)
    capped = export_clip(clip, tmp_path / "cap.flac", ExportSettings(normalize="lufs", lufs=0.0, peak_dbfs=-1.0))
    assert peak_dbfs(load_audio(capped)) <= -0.99


def test_export_settings_are_validated(tmp_path):
    with pytest.raises(MusicSimError, match="bit depth"):
        ExportSettings(bit_depth=20)
    with pytest.raises(MusicSimError, match="normalisation"):
        ExportSettings(normalize="rms")
    with pytest.raises(AudioFileError, match="32-bit FLAC"):
        export_clip(_noise(0.1), tmp_path / "x.flac", ExportSettings(bit_depth=32))
    assert list(tmp_path.iterdir()) == []
