"""Metrics for generated stems: FAD on a documented hand-crafted embedding, the MuSiC paper's MSE, noise baselines.

The embedding ("handcrafted-v1") needs no weights, so it runs offline and means the same thing everywhere:
1. Audio is mono at 16 kHz, cut into 1 s segments (one embedding per segment; a trailing partial segment is
   dropped). Frames: 1024-sample Hann STFT, hop 256 (16 ms).
2. Per segment, over its frames: mean and standard deviation of the 40-band log-mel spectrum (timbre and its
   movement), mean and standard deviation of 13 MFCCs (DCT-II of the log-mel; spectral envelope), mean spectral
   contrast in 7 octave bands (peak minus valley dB; tonal vs noisy), and the mean and standard deviation of
   the log-mel spectral flux (onset density). D = 40·2 + 13·2 + 7 + 2 = 115.
It measures timbre, envelope, tonality and onset statistics; it knows nothing of melody, harmony or musical
form, so a low FAD here means "sounds like this kind of stem", not "is good music". Compare it only against
baselines computed with the same embedding on the same songs.
"""

from __future__ import annotations

import numpy as np

from musicsim_gui.audio.spectral import mel_filterbank, stft

EMBEDDING = "handcrafted-v1 (1 s segments at 16 kHz: log-mel 40 mean/std, MFCC 13 mean/std, spectral contrast 7, flux mean/std; D=115)"
RATE = 16000
N_FFT, HOP, MELS, MFCCS = 1024, 256, 40, 13
CONTRAST_EDGES = (0, 200, 400, 800, 1600, 3200, 6400, 8000)
FEATURE_GROUPS = {"log-mel mean": slice(0, 40), "log-mel std": slice(40, 80), "MFCC mean": slice(80, 93),
                  "MFCC std": slice(93, 106), "contrast": slice(106, 113), "flux": slice(113, 115)}
"""The embedding's dimensions by what they measure, in the order `segment_features` writes them."""


def _dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Orthonormal DCT-II `[n_out, n_in]`."""
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    matrix = np.cos(np.pi / n_in * (n + 0.5) * k) * np.sqrt(2.0 / n_in)
    matrix[0] /= np.sqrt(2.0)
    return matrix


def _contrast(magnitude: np.ndarray) -> np.ndarray:
    """`[bins, frames]` magnitude → `[7]` mean (over frames) of per-band peak-minus-valley in dB (top/bottom 20%)."""
    freqs = np.linspace(0, RATE / 2, magnitude.shape[0])
    values = []
    for low, high in zip(CONTRAST_EDGES[:-1], CONTRAST_EDGES[1:], strict=True):
        band = np.sort(magnitude[(freqs >= low) & (freqs < high)], axis=0)
        count = max(1, int(0.2 * band.shape[0]))
        peak, valley = band[-count:].mean(axis=0), band[:count].mean(axis=0)
        values.append(np.mean(20 * np.log10(peak + 1e-8) - 20 * np.log10(valley + 1e-8)))
    return np.asarray(values)


def segment_features(segment: np.ndarray) -> np.ndarray:
    """One 1 s mono 16 kHz segment `[16000]` → its embedding `[115]` (see module docstring)."""
    magnitude = np.abs(stft(segment.astype(np.float32), n_fft=N_FFT, hop_length=HOP))
    mel = mel_filterbank(RATE, N_FFT, MELS) @ (magnitude**2)
    log_mel = np.log10(mel + 1e-8)
    mfcc = _dct_matrix(MELS, MFCCS) @ log_mel
    flux = np.maximum(np.diff(log_mel, axis=1), 0).sum(axis=0)
    return np.concatenate([log_mel.mean(1), log_mel.std(1), mfcc.mean(1), mfcc.std(1), _contrast(magnitude),
                           [flux.mean(), flux.std()]])


def embed(audio: np.ndarray) -> np.ndarray:
    """Mono 16 kHz audio `[T]` → `[T // 16000, 115]` segment embeddings (float64)."""
    count = audio.shape[0] // RATE
    if count == 0:
        raise ValueError("need at least 1 s of audio to embed")
    return np.stack([segment_features(audio[i * RATE:(i + 1) * RATE]) for i in range(count)])


def paper_mse(generated: np.ndarray, label: np.ndarray) -> float:
    """The MuSiC paper's MSE: mean squared waveform difference over the common length (both `[T]`, same rate)."""
    length = min(generated.shape[0], label.shape[0])
    return float(np.mean((generated[:length].astype(np.float64) - label[:length].astype(np.float64)) ** 2))


def white_noise(frames: int, rng: np.random.Generator, rms: float = 0.1) -> np.ndarray:
    """Gaussian white noise `[frames]` at `rms`."""
    return (rng.standard_normal(frames) * rms).astype(np.float32)


def pink_noise(frames: int, rng: np.random.Generator, rms: float = 0.1) -> np.ndarray:
    """1/f ("pink") noise `[frames]` at `rms`: white noise shaped by 1/sqrt(f) in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(frames))
    freqs = np.fft.rfftfreq(frames)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, n=frames)
    return (noise / (np.sqrt(np.mean(noise**2)) + 1e-12) * rms).astype(np.float32)


def standardise(reference: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Scale every set by the reference set's per-dimension mean and std, so no feature dominates by its unit."""
    mean, std = reference.mean(axis=0), reference.std(axis=0) + 1e-6
    return [(data - mean) / std for data in (reference, *others)]


def match_rms(audio: np.ndarray, target: np.ndarray) -> np.ndarray:
    """`audio` scaled to the RMS of `target` (silence stays silence)."""
    rms = np.sqrt(np.mean(audio.astype(np.float64) ** 2))
    goal = np.sqrt(np.mean(target.astype(np.float64) ** 2))
    return (audio * (goal / rms if rms > 1e-9 else 0.0)).astype(np.float32)
