"""Training features of the separator in NumPy: stem spectra and their band sums.

Computed on the batch thread (scipy's FFT releases the GIL and is far faster than torch's CPU FFT for
these sizes), so the training step only runs the network. The STFT is the one inference uses
(`separation/stft.py`); band sums follow the network's band layout (`masknet_config.band_index`).

A batch (`BandBatch`) holds band sums of magnitudes (always the mix's, the network's input; the stems' for
the L1 loss) or, when asked for, band sums of energies (`BandEnergy`) in place of the stems' magnitudes: the
mix's power, each stem's power and the real part of mix × stem conjugate. The network's mask is constant
within a band, so those three sums make the squared error of complex masking,
Σ|m·X − S|² = m²·Σ|X|² − 2m·ΣRe(X̄S) + Σ|S|², exact per band without going back to the bins.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from musicsim_gui.separation.masknet_config import MaskNetConfig, band_index
from musicsim_gui.separation.stft import stft


class BandEnergy(NamedTuple):
    """Band sums of energies of N examples: `mix` Σ|X|² `[N, K, T]`, `cross` ΣRe(X̄·S) and `stems` Σ|S|²
    `[N, S, K, T]`."""

    mix: np.ndarray
    cross: np.ndarray
    stems: np.ndarray


class BandBatch(NamedTuple):
    """One batch of N examples: band sums of stem magnitudes `[N, S, K, T]` (None when the energies stand in
    for them) and of the mix's `[N, K, T]`; for a stereo-cue network the partner channel's mix band sums
    `[N, K, T]`; the energies when asked for."""

    stems: np.ndarray | None
    mix: np.ndarray
    partner: np.ndarray | None = None
    energy: BandEnergy | None = None

    def to_torch(self, device: Any = "cpu") -> BandBatch:
        """The same batch as torch tensors on `device` (sharing memory on the CPU)."""
        import torch

        def tensor(array: np.ndarray) -> Any:
            return torch.from_numpy(array).to(device, non_blocking=True)

        def convert(value: object) -> object:
            if value is None:
                return None
            if isinstance(value, BandEnergy):
                return BandEnergy(*(tensor(part) for part in value))
            return tensor(value)

        return BandBatch(*(convert(value) for value in self))


class BandFeatures:
    """STFT and band pooling for one `MaskNetConfig`; with `energy`, batches carry their `BandEnergy` in place
    of the stems' magnitude sums (the SDR loss needs only the energies)."""

    def __init__(self, config: MaskNetConfig, energy: bool = False) -> None:
        self.config = config
        self.energy = energy
        index = band_index(config)
        self.starts = np.flatnonzero(np.diff(index, prepend=-1))
        self.widths = np.diff(np.append(self.starts, config.bins)).astype(np.float32)  # [K]
        wide = np.flatnonzero(self.widths > 1)
        self.single_bands = int(wide[0]) if wide.size else len(self.starts)
        """The leading bands of one bin each (every bin below `full_bins`): copied, not summed."""

    def spectra(self, stems: np.ndarray) -> np.ndarray:
        """complex64 `[B, S, F, T]` of float32 stems `[B, S, n]`."""
        return stft(stems, self.config.n_fft, self.config.hop)

    def band_sums(self, values: np.ndarray) -> np.ndarray:
        """float32 `[..., K, T]`: the sum of `values` `[..., F, T]` over each band's bins.

        The one-bin bands are a copy, and only the bins above them go through `np.add.reduceat`, whose
        per-band work along a middle axis dominates otherwise (half the time on the bundled layout).
        """
        single = self.single_bands
        out = np.empty((*values.shape[:-2], len(self.starts), values.shape[-1]), dtype=np.float32)
        out[..., :single, :] = values[..., :single, :]
        if single < len(self.starts):
            first = self.starts[single]
            np.add.reduceat(values[..., first:, :], self.starts[single:] - first, axis=-2, out=out[..., single:, :])
        return out

    def __call__(self, stems: np.ndarray) -> BandBatch:
        """`sums` of the spectra of mono stems `[B, S, n]`, or of stereo stems `[B, S, 2, n]` with each channel
        an example of its own (`stereo_examples`)."""
        spec = self.spectra(stems)
        stereo = stems.ndim == 4
        return self.sums(stereo_examples(spec) if stereo else spec, paired=stereo)

    def sums(self, spec: np.ndarray, paired: bool) -> BandBatch:
        """The `BandBatch` of stem spectra `[N, S, F, T]`.

        With `paired` (channel examples laid out by `stereo_examples`), `partner` holds the band sums of each
        example's partner mix, the other channel of the same item.
        """
        mix_spec = spec.sum(axis=1)
        mix_magnitude = np.abs(mix_spec)
        mix = self.band_sums(mix_magnitude)
        partner = None
        if paired:
            half = mix.shape[0] // 2
            partner = np.concatenate([mix[half:], mix[:half]])
        if self.energy:
            return BandBatch(None, mix, partner, self.energies(spec, mix_spec, mix_magnitude))
        return BandBatch(self.band_sums(np.abs(spec)), mix, partner)

    def energies(self, spec: np.ndarray, mix_spec: np.ndarray, mix_magnitude: np.ndarray) -> BandEnergy:
        """The `BandEnergy` of stem spectra `[N, S, F, T]` and their sum `[N, F, T]`, given its magnitude."""
        cross = (spec * np.conj(mix_spec)[:, None]).real  # one complex product: faster than real/imag views
        stem_power = np.abs(spec)
        np.square(stem_power, out=stem_power)
        return BandEnergy(self.band_sums(np.square(mix_magnitude)), self.band_sums(cross), self.band_sums(stem_power))


def stereo_examples(spec: np.ndarray) -> np.ndarray:
    """`[B, S, 2, ...]` → `[2B, S, ...]`: channel 0 of every item, then channel 1 (so item i's partner is i ± B)."""
    return np.concatenate([spec[:, :, 0], spec[:, :, 1]])
