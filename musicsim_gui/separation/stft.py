"""The STFT pair the separation models are trained and run with, pinned to one convention.

The transform itself is `audio.spectral`'s. This module fixes the choices the separation networks were
trained with: periodic Hann window, `center=True` with reflect padding (torch.stft's convention; signals too
short to reflect are zero-padded), one-sided spectrum. `istft(stft(x))` reconstructs `x` to float32 rounding
for any length. Masking lives between the two, outside any exported graph.
"""

from __future__ import annotations

import numpy as np

from musicsim_gui.audio import spectral


def stft(x: np.ndarray, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """Complex spectrogram of `x [..., T]` → complex64 `[..., 1 + n_fft // 2, frames]`."""
    x = np.asarray(x, dtype=np.float32)
    pad_mode = "reflect" if x.shape[-1] > n_fft // 2 else "constant"
    return spectral.stft(x, n_fft=n_fft, hop_length=hop, pad_mode=pad_mode)


def istft(spec: np.ndarray, length: int, n_fft: int = 2048, hop: int = 512) -> np.ndarray:
    """Inverse of `stft`: complex `[..., F, frames]` → float32 `[..., length]`."""
    return spectral.istft(spec, hop_length=hop, n_fft=n_fft, length=length)
