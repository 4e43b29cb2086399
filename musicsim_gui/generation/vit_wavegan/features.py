"""Reference features for ViT+WaveGAN in NumPy: model-rate mono, 30 s chunks, the log-mel image, a tempo estimate.

These run outside the exported graphs (ONNX takes the finished mel image), identically in training and in the
app, so they are part of the model's contract and pinned by `FeatureConfig`.

Units: audio is float32 mono at `FeatureConfig.sample_rate`; the mel image is `[1, n_mels, frames]` float32,
log power standardised per image (zero mean, unit variance) after an 80 dB floor below its peak. Both the image
and the tempo's onset envelope start from `spectral.melspectrogram` (periodic Hann window, centred zero-padded
frames, Slaney filters from 0 Hz to Nyquist).
"""

from __future__ import annotations

import numpy as np

from musicsim_gui.audio import spectral
from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.generation.vit_wavegan.config import FeatureConfig


def to_model_audio(clip: AudioClip, sample_rate: int) -> np.ndarray:
    """`[T]` float32 mono at `sample_rate` (channel mean, soxr HQ resampling)."""
    import soxr

    mono = clip.samples.mean(axis=0)
    if clip.sample_rate != sample_rate:
        mono = soxr.resample(mono, clip.sample_rate, sample_rate, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)


def chunks(mono: np.ndarray, length: int) -> np.ndarray:
    """`[T]` → `[N, length]`: consecutive chunks, the last zero-padded (N ≥ 1)."""
    count = max(1, -(-mono.shape[0] // length))
    padded = np.zeros(count * length, dtype=np.float32)
    padded[: mono.shape[0]] = mono
    return padded.reshape(count, length)


def loudest_chunk(chunked: np.ndarray) -> int:
    """Index of the chunk with the highest RMS (the most representative part of a song)."""
    return int(np.argmax(np.sqrt(np.mean(chunked.astype(np.float64) ** 2, axis=1))))


def _resize_time(image: np.ndarray, columns: int) -> np.ndarray:
    """Average `[M, F]` into `columns` equal time bins (F ≥ columns), or repeat columns (F < columns)."""
    frames = image.shape[1]
    if frames < columns:
        return image[:, np.minimum((np.arange(columns) * frames) // columns, frames - 1)]
    starts = (np.arange(columns) * frames) // columns
    sums = np.add.reduceat(image, starts, axis=1)
    counts = np.diff(np.append(starts, frames))
    return sums / counts[None, :]


def mel_image(chunk: np.ndarray, features: FeatureConfig) -> np.ndarray:
    """One chunk `[T]` at the model rate → the encoder input `[1, n_mels, frames]` (see module docstring)."""
    mel = spectral.melspectrogram(chunk, features.sample_rate, n_fft=features.n_fft,
                                  hop_length=features.hop_length, n_mels=features.n_mels)
    db = 10.0 * np.log10(np.maximum(mel, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    image = _resize_time(db, features.frames)
    image = (image - image.mean()) / (image.std() + 1e-5)
    return image[np.newaxis].astype(np.float32)


def estimate_tempo(mono: np.ndarray, sample_rate: int, low: float = 70.0, high: float = 180.0) -> float:
    """Tempo in BPM of `[T]` audio: autocorrelation of a log-mel spectral-flux onset envelope.

    Lags between `low` and `high` BPM are weighted by a log-normal prior centred on 120 BPM (one octave wide),
    which settles the usual half/double-tempo ambiguity towards the common range. Audio shorter than 16 hops
    (~0.3 s at 12 kHz), empty included, has no measurable pulse: 120 BPM.
    """
    hop = 256
    if mono.shape[0] < 16 * hop:
        return 120.0
    mel = np.log1p(1000.0 * spectral.melspectrogram(mono, sample_rate, n_fft=1024, hop_length=hop, n_mels=40))
    flux = np.maximum(np.diff(mel, axis=1), 0.0).sum(axis=0)
    flux = flux - flux.mean()
    if not np.any(flux):
        return 120.0
    spectrum = np.fft.rfft(flux, n=2 * flux.size)
    autocorr = np.fft.irfft(spectrum * np.conj(spectrum))[: flux.size]
    frame_rate = sample_rate / hop
    lags = np.arange(int(frame_rate * 60.0 / high), min(flux.size - 1, int(frame_rate * 60.0 / low)) + 1)
    if lags.size == 0:
        return 120.0
    bpm = 60.0 * frame_rate / lags
    score = autocorr[lags] * np.exp(-0.5 * (np.log2(bpm / 120.0)) ** 2)
    return float(bpm[int(np.argmax(score))])
