"""Chroma features for melody conditioning, computed with `torch.stft` and our own chroma filterbank.

Architecture:
1. `chroma_filterbank` maps the `1 + n_fft // 2` STFT bins to 12 pitch classes: each bin spreads over the pitch
   classes as a Gaussian (in semitones, one bin-spacing wide, wrapped around the octave), columns are
   L2-normalised, and a Gaussian over octaves centred on octave 5 (two octaves wide) de-emphasises very low and
   very high bins. Rows start at C. This is the classic construction librosa's `filters.chroma` also uses, so
   the two agree (tests compare them).
2. `chroma` computes a power spectrogram (periodic Hann window, reflect-padded centred frames, scaled by the
   window energy) and projects it, then normalises each frame by its maximum: `[..., frames, 12]` in [0, 1].
3. `melody_conditioning` turns that into what MusicGen-melody was trained on: a one-hot of the strongest pitch
   class per frame, `[batch, frames, 12]`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

A4_HZ = 440.0


def _octaves(freqs_hz: np.ndarray, tuning: float, n_chroma: int) -> np.ndarray:
    """Octaves of each frequency above A4 / 16 (27.5 Hz at tuning 0)."""
    a0 = A4_HZ * 2.0 ** (tuning / n_chroma) / 16.0
    return np.log2(freqs_hz / a0)


def chroma_filterbank(sample_rate: int, n_fft: int, n_chroma: int = 12, tuning: float = 0.0,
                      centre_octave: float = 5.0, octave_width: float | None = 2.0) -> np.ndarray:
    """The chroma projection matrix `[n_chroma, 1 + n_fft // 2]` (float32), row 0 = C.

    Args:
        sample_rate: audio rate in Hz.
        n_fft: FFT size of the spectrogram it will be applied to.
        n_chroma: pitch classes per octave.
        tuning: deviation from A440 in fractions of a pitch class.
        centre_octave / octave_width: the octave weighting (Gaussian in octaves); `octave_width=None` disables it.
    """
    freqs = np.arange(1, n_fft, dtype=np.float64) * (sample_rate / n_fft)
    bins = n_chroma * _octaves(freqs, tuning, n_chroma)
    bins = np.concatenate([[bins[0] - 1.5 * n_chroma], bins])  # the DC bin sits 1.5 octaves below bin 1
    widths = np.concatenate([np.maximum(np.diff(bins), 1.0), [1.0]])
    half = round(n_chroma / 2)
    distance = bins[None, :] - np.arange(n_chroma, dtype=np.float64)[:, None]
    distance = np.remainder(distance + half + 10 * n_chroma, n_chroma) - half  # wrap to [-half, half)
    weights = np.exp(-0.5 * (2.0 * distance / widths[None, :]) ** 2)
    weights /= np.maximum(np.sqrt((weights ** 2).sum(axis=0, keepdims=True)), np.finfo(np.float64).tiny)
    if octave_width is not None:
        weights *= np.exp(-0.5 * ((bins / n_chroma - centre_octave) / octave_width) ** 2)[None, :]
    weights = np.roll(weights, -3 * (n_chroma // 12), axis=0)  # rows from A to rows from C
    return weights[:, : 1 + n_fft // 2].astype(np.float32)


def power_spectrogram(wave: torch.Tensor, n_fft: int, hop_length: int) -> torch.Tensor:
    """`|STFT|² / Σ window²` of `wave [..., T]` → `[..., 1 + n_fft // 2, frames]` (centred, reflect-padded frames).

    Signals shorter than `n_fft` are zero-padded symmetrically to `n_fft` first.
    """
    import torch

    if wave.shape[-1] < n_fft:
        pad = n_fft - wave.shape[-1]
        wave = torch.nn.functional.pad(wave, (pad // 2, pad - pad // 2))
    shape = wave.shape[:-1]
    flat = wave.reshape(-1, wave.shape[-1]).float()
    window = torch.hann_window(n_fft, periodic=True, dtype=flat.dtype, device=flat.device)
    spec = torch.stft(flat, n_fft, hop_length=hop_length, win_length=n_fft, window=window, center=True,
                      pad_mode="reflect", return_complex=True)
    power = spec.real ** 2 + spec.imag ** 2
    power = power / window.pow(2).sum()
    return power.reshape(*shape, *power.shape[-2:])


def chroma(wave: torch.Tensor, sample_rate: int, n_fft: int, hop_length: int,
           n_chroma: int = 12) -> torch.Tensor:
    """Max-normalised chroma of `wave [..., T]` (mono signals): `[..., frames, n_chroma]`, values in [0, 1]."""
    import torch

    bank = torch.from_numpy(chroma_filterbank(sample_rate, n_fft, n_chroma)).to(wave.device)
    raw = torch.einsum("cf,...ft->...tc", bank, power_spectrogram(wave, n_fft, hop_length))
    peak = raw.amax(dim=-1, keepdim=True).clamp_min(1e-6)
    return raw / peak


def melody_conditioning(wave: torch.Tensor, sample_rate: int, n_fft: int, hop_length: int,
                        n_chroma: int = 12) -> torch.Tensor:
    """One-hot of the strongest pitch class per frame of `wave [B, T]` → `[B, frames, n_chroma]` (float32)."""
    import torch

    values = chroma(wave, sample_rate, n_fft, hop_length, n_chroma)
    onehot = torch.zeros_like(values)
    onehot.scatter_(-1, values.argmax(dim=-1, keepdim=True), 1.0)
    return onehot


def chroma_frames(seconds: float, sample_rate: int, hop_length: int) -> int:
    """How many chroma frames `seconds` of audio give (centred frames)."""
    return 1 + math.floor(seconds * sample_rate / hop_length)
