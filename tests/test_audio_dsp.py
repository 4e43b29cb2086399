"""Resampling, channel mixing, chunking and length fitting of AudioClips."""

from __future__ import annotations

import numpy as np
import pytest

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.dsp import chunk, fit_length, resample, to_channels, to_mono


def _sine(rate: int, hz: float, seconds: float, channels: int = 1) -> AudioClip:
    t = np.arange(int(rate * seconds)) / rate
    return AudioClip(np.tile(0.5 * np.sin(2 * np.pi * hz * t), (channels, 1)), rate, "sine")


@pytest.mark.parametrize(("source", "target"), [(44100, 32000), (48000, 44100), (22050, 48000), (8000, 16000)])
def test_resample_keeps_a_sine(source, target):
    clip = _sine(source, 1000.0, 1.0, channels=2)
    out = resample(clip, target)
    assert out.sample_rate == target and out.channels == 2 and out.source == "sine"
    assert out.frames == round(clip.frames * target / source)
    t = np.arange(out.frames) / target
    expected = 0.5 * np.sin(2 * np.pi * 1000.0 * t)
    middle = slice(target // 10, -target // 10)
    assert np.abs(out.samples[:, middle] - expected[middle]).max() < 1e-3


def test_resample_removes_content_above_the_new_nyquist():
    clip = _sine(48000, 20000.0, 0.5)
    out = resample(clip, 16000)
    assert np.sqrt(np.mean(out.samples ** 2)) < 1e-3


def test_resample_same_rate_and_empty():
    clip = _sine(16000, 440.0, 0.1)
    assert resample(clip, 16000) is clip
    empty = resample(AudioClip(np.zeros((2, 0), np.float32), 44100), 32000)
    assert empty.samples.shape == (2, 0) and empty.sample_rate == 32000
    with pytest.raises(ValueError):
        resample(clip, 0)


def test_channel_mixing_rules():
    samples = np.arange(12, dtype=np.float32).reshape(6, 2)  # six channels, two frames
    clip = AudioClip(samples, 8000)
    np.testing.assert_allclose(to_mono(clip).samples, samples.mean(axis=0, keepdims=True))
    stereo = to_channels(clip, 2)
    np.testing.assert_allclose(stereo.samples[0], samples[[0, 2, 4]].mean(axis=0))
    np.testing.assert_allclose(stereo.samples[1], samples[[1, 3, 5]].mean(axis=0))
    mono = AudioClip(np.array([[1.0, -1.0]], np.float32), 8000)
    np.testing.assert_array_equal(to_channels(mono, 3).samples, [[1, -1]] * 3)
    wide = to_channels(AudioClip(samples[:2], 8000), 4)
    np.testing.assert_array_equal(wide.samples, samples[[0, 1, 0, 1]])
    assert to_channels(clip, 6) is clip
    with pytest.raises(ValueError):
        to_channels(clip, 0)


def test_fit_length_cuts_and_pads():
    clip = AudioClip(np.ones((2, 5), np.float32), 10)
    assert fit_length(clip, 3).samples.shape == (2, 3)
    padded = fit_length(clip, 8).samples
    np.testing.assert_array_equal(padded, np.concatenate([np.ones((2, 5)), np.zeros((2, 3))], axis=1))
    assert fit_length(clip, 5) is clip


def test_chunk_thirty_seconds_with_zero_padded_tail():
    rate = 100
    samples = np.arange(2 * 7500, dtype=np.float32).reshape(2, 7500)  # 75 s
    pieces = chunk(AudioClip(samples, rate))
    assert [p.frames for p in pieces] == [3000, 3000, 3000]
    np.testing.assert_array_equal(pieces[1].samples, samples[:, 3000:6000])
    np.testing.assert_array_equal(pieces[2].samples[:, :1500], samples[:, 6000:])
    assert not pieces[2].samples[:, 1500:].any()
    assert len(chunk(AudioClip(samples[:, :3000], rate))) == 1
    assert chunk(AudioClip(np.zeros((1, 0), np.float32), rate)) == []
    assert [p.frames for p in chunk(AudioClip(samples, rate), seconds=10.0)] == [1000] * 8


@pytest.mark.parametrize(("source", "target", "pieces"), [(44100, 32000, 3), (48000, 44100, 3), (22050, 48000, 3),
                                                          (96000, 16000, 3), (44100, 44101, 1)])
def test_parallel_pieces_equal_one_pass(source, target, pieces, monkeypatch):
    import soxr

    from musicsim_gui.audio import dsp

    monkeypatch.setattr(dsp, "_cores", lambda: 3)
    noise = np.random.default_rng(5).standard_normal((2, 3 * (1 << 20) + 12345)).astype(np.float32) * 0.1
    assert len(dsp._pieces(noise.shape[1], source, target)) == pieces
    out = resample(AudioClip(noise, source), target).samples
    single = np.stack([soxr.resample(channel, source, target, quality="HQ") for channel in noise])
    assert out.shape == single.shape
    np.testing.assert_allclose(out, single, atol=1e-6)


def test_work_submitted_to_the_pool_runs_inline_there(monkeypatch):
    from musicsim_gui.audio import dsp
    from musicsim_gui.audio.spectral import melspectrogram

    monkeypatch.setattr(dsp, "_cores", lambda: 4)
    clip = AudioClip(np.random.default_rng(0).standard_normal((1, 3 << 20)).astype(np.float32) * 0.1, 48000)

    def nested():  # would deadlock if pool tasks waited on pool tasks
        assert dsp.cores() == 1
        return resample(clip, 16000).frames, melspectrogram(clip.samples[0, :480000], 48000).shape

    futures = [dsp.thread_pool().submit(nested) for _ in range(4)]
    assert [f.result(timeout=120) for f in futures] == [(1 << 20, (128, 938))] * 4


@pytest.mark.parametrize("channels", [1, 2, 3, 6])
def test_mono_downmix_equals_librosa_bit_for_bit(channels):
    import librosa

    samples = np.random.default_rng(channels).standard_normal((channels, 10_001)).astype(np.float32)
    np.testing.assert_array_equal(to_mono(AudioClip(samples, 8000)).samples[0], librosa.to_mono(samples))
