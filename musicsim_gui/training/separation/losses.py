"""The separator's training losses and the validation measure (item 1 of `train.py`'s docstring).

`masking_loss` runs the network on a `BandBatch` and scores its band masks: the negative SDR of complex
masking from the band energies (exact per band, phase-aware, as the evaluation measures) or the relative L1
of band magnitudes, with the network's forward pass in float32 or, with `precision` "bf16", under bfloat16
autocast (item 6 of `train.py`'s docstring). `stft_sdr` is the per-stem SDR the validation reports.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from musicsim_gui.training.separation.features import BandBatch, BandEnergy

LOSSES = {"l1": "L1 magnitude loss (relative)", "sdr": "negative SDR of complex masking (dB)"}
"""The training losses (`TrainConfig.loss`) and how the metrics plot labels them."""

SILENT_STEM = 1e-5
"""A stem with less than this fraction of its mix's energy counts as silent in the SDR loss."""


def masking_loss(model: Any, batch: BandBatch, widths: Any, kind: str, precision: str = "fp32") -> tuple[Any, Any]:
    """(loss, band masks `[B, S, K, T]`, float32) of the network on a torch `BandBatch` (see the module docstring
    for `kind` and `precision`).

    L1: bins below `full_bins` are their own band, so there the loss is the exact bin-wise L1 between masked
    mix magnitudes and stem magnitudes; above, masks are constant per band and the L1 of band sums stands
    in. Each example's error is relative to its mix magnitude, so loud and quiet count alike.
    """
    import torch

    partner = None if batch.partner is None else batch.partner / widths[:, None]
    with torch.autocast(batch.mix.device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        masks = model.band_masks(batch.mix / widths[:, None], partner)
    masks = masks.float()
    if kind == "sdr":
        return negative_sdr(masks, batch.energy), masks
    error = (masks * batch.mix[:, None] - batch.stems).abs().sum(dim=(1, 2, 3))
    return (error / (batch.mix.sum(dim=(1, 2)) + 1e-6)).mean(), masks


def negative_sdr(masks: Any, energy: BandEnergy) -> Any:
    """Mean over examples and non-silent stems of −SDR (dB) of complex masking with band masks `[B, S, K, T]`."""
    import torch

    error = (masks.square() * energy.mix[:, None] - 2 * masks * energy.cross + energy.stems).sum(dim=(2, 3))
    target = energy.stems.sum(dim=(2, 3))                                                  # [B, S]
    mix = energy.mix.sum(dim=(1, 2))[:, None]
    floor = 1e-9 * mix + 1e-12
    ratio = 10 * torch.log10((error.clamp_min(0) + floor) / (target + floor))
    present = (target > SILENT_STEM * mix).to(ratio.dtype)
    return (ratio * present).sum() / present.sum().clamp_min(1)


def stft_sdr(masks: np.ndarray, spec: np.ndarray) -> np.ndarray:
    """Per-stem SDR (dB) `[S]` of complex masking (bin masks `[B, S, F, T]`, stem spectra alike).

    Averaged over examples whose target stem is not silent.
    """
    mix = spec.sum(axis=1, keepdims=True)
    target = (np.abs(spec) ** 2).sum(axis=(2, 3))
    error = (np.abs(masks * mix - spec) ** 2).sum(axis=(2, 3))
    sdr = 10 * np.log10((target + 1e-9) / (error + 1e-9))
    valid = target > 1e-6 * target.max()
    return np.array([sdr[:, s][valid[:, s]].mean() for s in range(sdr.shape[1])])
