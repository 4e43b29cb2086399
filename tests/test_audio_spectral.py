"""STFT, iSTFT, mel filterbank, mel spectrogram and dB scaling against librosa."""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from musicsim_gui.audio import spectral


def _signal(rate: int, seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    chirp = np.sin(2 * np.pi * (100 + 2000 * t) * t)
    return (0.4 * chirp + 0.05 * rng.standard_normal(t.shape)).astype(np.float32)


def test_mel_scale_matches_librosa():
    hz = np.array([0.0, 60.0, 500.0, 999.0, 1000.0, 4000.0, 16000.0])
    np.testing.assert_allclose(spectral.hz_to_mel(hz), librosa.hz_to_mel(hz), rtol=1e-12)
    np.testing.assert_allclose(spectral.hz_to_mel(hz, htk=True), librosa.hz_to_mel(hz, htk=True), rtol=1e-12)
    mels = np.linspace(0, 60, 13)
    np.testing.assert_allclose(spectral.mel_to_hz(mels), librosa.mel_to_hz(mels), rtol=1e-12)
    np.testing.assert_allclose(spectral.mel_to_hz(spectral.hz_to_mel(hz)), hz, atol=1e-9)


@pytest.mark.parametrize(("sr", "n_fft", "n_mels", "fmin", "fmax"), [
    (22050, 2048, 128, 0.0, None), (32000, 2048, 128, 0.0, None), (44100, 1024, 64, 30.0, 8000.0),
    (16000, 512, 40, 0.0, 7600.0)])
def test_filterbank_matches_librosa(sr, n_fft, n_mels, fmin, fmax):
    ours = spectral.mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
    theirs = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    assert ours.shape == theirs.shape == (n_mels, n_fft // 2 + 1) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-9)
    assert not ours.flags.writeable
    assert spectral.mel_filterbank(sr, n_fft, n_mels, fmin, fmax) is ours


@pytest.mark.parametrize(("n_fft", "hop", "win"), [(2048, 512, None), (1024, 256, 800), (512, 160, None)])
def test_stft_matches_librosa(n_fft, hop, win):
    y = _signal(16000, 1.0)
    ours = spectral.stft(y, n_fft=n_fft, hop_length=hop, win_length=win)
    theirs = librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win)
    assert ours.shape == theirs.shape and ours.dtype == np.complex64
    np.testing.assert_allclose(ours, theirs, atol=1e-5 * np.abs(theirs).max())
    uncentred = spectral.stft(y, n_fft=n_fft, hop_length=hop, win_length=win, center=False)
    np.testing.assert_allclose(uncentred, librosa.stft(y, n_fft=n_fft, hop_length=hop, win_length=win, center=False),
                               atol=1e-5 * np.abs(theirs).max())


@pytest.mark.parametrize(("sr", "kwargs"), [
    (22050, {}), (32000, {"n_mels": 128}), (44100, {"n_fft": 1024, "hop_length": 256, "n_mels": 64, "fmin": 40.0,
                                                     "fmax": 11000.0}), (16000, {"power": 1.0, "n_mels": 80})])
def test_melspectrogram_matches_librosa(sr, kwargs):
    y = _signal(sr)
    ours = spectral.melspectrogram(y, sr, **kwargs)
    theirs = librosa.feature.melspectrogram(y=y, sr=sr, **kwargs)
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6 * theirs.max())
    decibels = spectral.power_to_db(ours, ref=np.max)
    assert np.abs(decibels - librosa.power_to_db(theirs, ref=np.max)).max() <= 0.01


def test_batched_input_keeps_leading_dimensions():
    y = np.stack([_signal(8000, 0.5, seed) for seed in range(3)]).reshape(3, 1, -1)
    mel = spectral.melspectrogram(y, 8000, n_mels=32)
    assert mel.shape == (3, 1, 32, 1 + y.shape[-1] // 512)
    np.testing.assert_allclose(mel[2, 0], spectral.melspectrogram(y[2, 0], 8000, n_mels=32), rtol=1e-6)
    assert spectral.stft(y).shape == (3, 1, 1025, mel.shape[-1])


def test_power_to_db_matches_librosa():
    power = np.abs(np.random.default_rng(1).standard_normal((16, 50))).astype(np.float32) ** 4
    power[0, :5] = 0.0
    for kwargs in ({}, {"ref": np.max}, {"ref": 3.0, "top_db": None}, {"amin": 1e-5, "top_db": 40.0}):
        np.testing.assert_allclose(spectral.power_to_db(power, **kwargs), librosa.power_to_db(power, **kwargs),
                                   atol=1e-4)
    with pytest.raises(ValueError):
        spectral.power_to_db(power, amin=0.0)


@pytest.mark.parametrize(("n_fft", "hop", "win"), [(2048, 512, None), (1024, 256, None), (1000, 300, 900)])
def test_istft_reconstructs(n_fft, hop, win):
    y = np.stack([_signal(16000, 1.0, 3), _signal(16000, 1.0, 4)])
    matrix = spectral.stft(y, n_fft=n_fft, hop_length=hop, win_length=win)
    back = spectral.istft(matrix, hop_length=hop, win_length=win, n_fft=n_fft, length=y.shape[-1])
    assert back.shape == y.shape and back.dtype == np.float32
    np.testing.assert_allclose(back, y, atol=1e-5)
    theirs = librosa.istft(matrix, hop_length=hop, win_length=win, n_fft=n_fft, length=y.shape[-1])
    np.testing.assert_allclose(back, theirs, atol=1e-5)
    default_length = spectral.istft(matrix, hop_length=hop, win_length=win, n_fft=n_fft)
    assert default_length.shape[-1] == librosa.istft(matrix, hop_length=hop, win_length=win, n_fft=n_fft).shape[-1]


def test_istft_of_several_long_signals_splits_rows_over_the_cores_and_matches_librosa():
    y = np.stack([_signal(16000, 12.0, seed) for seed in (5, 6, 7)])                  # 3 rows, 1501 frames each
    matrix = spectral.stft(y, n_fft=512, hop_length=128)
    assert matrix.shape[-1] >= spectral._PARALLEL_MIN_FRAMES
    strided = np.ascontiguousarray(matrix.transpose(2, 0, 1)).transpose(1, 2, 0)      # as a stems' view arrives
    back = spectral.istft(strided, hop_length=128, n_fft=512, length=y.shape[-1])
    np.testing.assert_allclose(back, y, atol=1e-5)
    np.testing.assert_allclose(back, librosa.istft(matrix, hop_length=128, n_fft=512, length=y.shape[-1]), atol=1e-5)


def test_frame_count_and_short_input():
    assert spectral.frame_count(44100, 2048, 512) == 1 + 44100 // 512
    with pytest.raises(ValueError):
        spectral.stft(np.zeros(100, np.float32), n_fft=2048, center=False)


def test_empty_centred_input_is_one_silent_frame():
    assert np.array_equal(spectral.stft(np.zeros(0, np.float32), n_fft=64, hop_length=16), np.zeros((33, 1)))
    assert spectral.stft(np.zeros((2, 0), np.float32), n_fft=64, hop_length=16).shape == (2, 33, 1)
    assert not spectral.melspectrogram(np.zeros(0, np.float32), 12000, n_fft=64, hop_length=16, n_mels=8).any()
    with pytest.raises(ValueError, match="0 samples is shorter than n_fft=64"):
        spectral.stft(np.zeros(0, np.float32), n_fft=64, center=False)


def test_long_signals_are_split_across_cores_with_the_same_result(monkeypatch):
    from musicsim_gui.audio import dsp

    y = _signal(16000, 45.0, seed=7)  # 1407 frames: above the parallel threshold
    monkeypatch.setattr(dsp, "_cores", lambda: 3)
    parallel_mel, parallel_stft = spectral.melspectrogram(y, 16000, n_mels=64), spectral.stft(y)
    monkeypatch.setattr(dsp, "_cores", lambda: 1)
    np.testing.assert_allclose(parallel_mel, spectral.melspectrogram(y, 16000, n_mels=64), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(parallel_stft, spectral.stft(y))
    theirs = librosa.feature.melspectrogram(y=y, sr=16000, n_mels=64)
    np.testing.assert_allclose(parallel_mel, theirs, rtol=1e-4, atol=1e-6 * theirs.max())
