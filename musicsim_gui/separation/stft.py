"""The STFT pair the separation models are trained and run with (NumPy; torch mirrors it in training).

Periodic Hann window, `center=True` with reflect padding (torch.stft's convention), one-sided spectrum.
`istft(stft(x))` reconstructs `x` to float32 rounding for any length, because the inverse divides by the
summed squared window. Masking lives between the two, outside any exported graph.
"""

from __future__ import annotations

import numpy as np
import scipy.fft


def hann(n_fft: int) -> np.ndarray:
    """Periodic Hann window `[n_fft]` (float32), the same as `torch.hann_window(n_fft)`."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def frame_count(samples: int, hop: int) -> int:
    """STFT frames for `samples` input samples with `center=True`."""
    return 1 + samples // hop


def stft(x: np.ndarray, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """Complex spectrogram of `x [..., T]` → complex64 `[..., 1 + n_fft // 2, frames]`."""
    x = np.asarray(x, dtype=np.float32)
    pad = n_fft // 2
    mode = "reflect" if x.shape[-1] > pad else "constant"
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)], mode=mode)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[..., ::hop, :]
    spec = scipy.fft.rfft(frames * hann(n_fft), axis=-1).astype(np.complex64, copy=False)
    return np.swapaxes(spec, -1, -2)


def istft(spec: np.ndarray, length: int, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """Inverse of `stft`: complex `[..., F, frames]` → float32 `[..., length]`."""
    if n_fft % hop:
        raise ValueError(f"n_fft ({n_fft}) must be a multiple of hop ({hop})")
    window = hann(n_fft)
    frames = scipy.fft.irfft(np.swapaxes(spec, -1, -2), n=n_fft, axis=-1).astype(np.float32, copy=False)
    frames *= window
    lead, count = frames.shape[:-2], frames.shape[-2]
    ratio = n_fft // hop
    pieces = frames.reshape(*lead, count, ratio, hop)
    out = np.zeros((*lead, count + ratio - 1, hop), dtype=np.float32)
    norm = np.zeros((count + ratio - 1, hop), dtype=np.float32)
    square = (window**2).reshape(ratio, hop)
    for k in range(ratio):
        out[..., k:k + count, :] += pieces[..., k, :]
        norm[k:k + count] += square[k]
    out = out.reshape(*lead, -1)
    norm = norm.reshape(-1)
    pad = n_fft // 2
    out = out[..., pad:pad + length]
    norm = norm[pad:pad + length]
    out /= np.where(norm > 1e-8, norm, 1.0)
    if out.shape[-1] < length:
        out = np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, length - out.shape[-1])])
    return out
