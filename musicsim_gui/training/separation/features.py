"""Training features of the separator in NumPy: stem spectra and their band sums.

Computed on the batch thread (scipy's FFT releases the GIL and is far faster than torch's CPU FFT for
these sizes), so the training step only runs the network. The STFT is the one inference uses
(`separation/stft.py`); band sums follow the network's band layout (`masknet_config.band_index`).
"""

from __future__ import annotations

import numpy as np

from musicsim_gui.separation.masknet_config import MaskNetConfig, band_index
from musicsim_gui.separation.stft import stft


class BandFeatures:
    """STFT and band pooling for one `MaskNetConfig`."""

    def __init__(self, config: MaskNetConfig) -> None:
        self.config = config
        index = band_index(config)
        self.starts = np.flatnonzero(np.diff(index, prepend=-1))
        self.widths = np.diff(np.append(self.starts, config.bins)).astype(np.float32)  # [K]

    def spectra(self, stems: np.ndarray) -> np.ndarray:
        """complex64 `[B, S, F, T]` of float32 stems `[B, S, n]`."""
        return stft(stems, self.config.n_fft, self.config.hop)

    def band_sums(self, magnitude: np.ndarray) -> np.ndarray:
        """float32 `[..., K, T]`: the sum of magnitude `[..., F, T]` over each band's bins."""
        return np.add.reduceat(magnitude, self.starts, axis=-2).astype(np.float32, copy=False)

    def __call__(self, stems: np.ndarray) -> tuple[np.ndarray, ...]:
        """`sums` of the spectra of mono stems `[B, S, n]`, or of stereo stems `[B, S, 2, n]` with each channel
        an example of its own (`stereo_examples`)."""
        spec = self.spectra(stems)
        stereo = stems.ndim == 4
        return self.sums(stereo_examples(spec) if stereo else spec, paired=stereo)

    def sums(self, spec: np.ndarray, paired: bool) -> tuple[np.ndarray, ...]:
        """(stem band sums `[N, S, K, T]`, mix band sums `[N, K, T]`) of stem spectra `[N, S, F, T]`.

        With `paired` (channel examples laid out by `stereo_examples`), a third array follows: the band sums of
        each example's partner mix, the other channel of the same item.
        """
        stems, mix = self.band_sums(np.abs(spec)), self.band_sums(np.abs(spec.sum(axis=1)))
        if not paired:
            return stems, mix
        half = mix.shape[0] // 2
        return stems, mix, np.concatenate([mix[half:], mix[:half]])


def stereo_examples(spec: np.ndarray) -> np.ndarray:
    """`[B, S, 2, ...]` → `[2B, S, ...]`: channel 0 of every item, then channel 1 (so item i's partner is i ± B)."""
    return np.concatenate([spec[:, :, 0], spec[:, :, 1]])
