"""The separator's training features computed with torch on the training device, from raw stems.

On a GPU the batch makers would otherwise be the bottleneck twice over: the NumPy FFTs of a batch of 64
channel examples cost ~1.9 s of a core, and its band sums and energies (~150 MB in float32) must cross from
the worker processes to the trainer. With `features_on` "device" the batch makers send only the augmented
stems in float16 (`[B, S, 2, n]`: 68 MB for 64 channel examples of 3 s, with no FFT in the batch makers;
float16 keeps each sample within about 66 dB of its value, far below the errors the loss measures), and this
module turns them
into the same `BandBatch` that `features.BandFeatures` makes: the same STFT (periodic Hann window, centred,
reflect padding), the same band layout and the same sums, to float rounding (tested against it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from musicsim_gui.separation.masknet_config import MaskNetConfig, band_index
from musicsim_gui.training.separation.features import BandBatch, BandEnergy


class DeviceBandFeatures:
    """`BandFeatures` in torch on `device`: raw stems `[B, S, n]` or `[B, S, 2, n]` → a torch `BandBatch`."""

    def __init__(self, config: MaskNetConfig, energy: bool, device: Any) -> None:
        import torch

        self.config, self.energy = config, energy
        index = band_index(config)
        self.bands = int(index.max()) + 1
        self.band_of_bin = torch.from_numpy(index).to(device)
        self.window = torch.hann_window(config.n_fft, periodic=True, device=device)

    def spectra(self, stems: Any) -> Any:
        """complex64 `[..., F, T]` of float stems `[..., n]`."""
        import torch

        rows = stems.reshape(-1, stems.shape[-1]).float()
        spec = torch.stft(rows, self.config.n_fft, self.config.hop, window=self.window, center=True,
                          pad_mode="reflect", return_complex=True)
        return spec.reshape(*stems.shape[:-1], *spec.shape[-2:])

    def band_sums(self, values: Any) -> Any:
        """float32 `[..., K, T]`: the sum of `values` `[..., F, T]` over each band's bins."""
        out = values.new_zeros(*values.shape[:-2], self.bands, values.shape[-1])
        return out.index_add_(values.dim() - 2, self.band_of_bin, values)

    def __call__(self, stems: Any) -> BandBatch:
        """The batch of raw stems (see the class docstring); stereo items give one example per channel, the
        first channels first, each paired with its other channel's mix (as `features.stereo_examples`)."""
        import torch

        spec = self.spectra(stems)
        paired = stems.dim() == 4
        if paired:
            spec = torch.cat([spec[:, :, 0], spec[:, :, 1]])
        mix_spec = spec.sum(dim=1)
        mix_magnitude = mix_spec.abs()
        mix = self.band_sums(mix_magnitude)
        partner = torch.cat([mix[mix.shape[0] // 2:], mix[: mix.shape[0] // 2]]) if paired else None
        if not self.energy:
            return BandBatch(self.band_sums(spec.abs()), mix, partner)
        cross = (spec * mix_spec.conj()[:, None]).real
        energy = BandEnergy(self.band_sums(mix_magnitude.square()), self.band_sums(cross),
                            self.band_sums(spec.abs().square()))
        return BandBatch(None, mix, partner, energy)


def raw_stems(stems: np.ndarray) -> np.ndarray:
    """What a batch maker sends when the features are made on the device: the stems in float16."""
    return stems.astype(np.float16)
