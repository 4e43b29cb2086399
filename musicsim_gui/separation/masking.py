"""Mask-based separation shared by every spectrogram-mask separator (the built-in network and DSP).

Architecture (per clip):
1. Resample to the separator's rate, keeping all channels (masks are estimated per channel).
2. Cut into overlapping chunks (`chunking.overlap_add`); per chunk: STFT → magnitude → `mask_fn` →
   masked complex spectra (with `wiener`, refined by the multichannel Wiener filter, `wiener.py`) →
   iSTFT. Masks that sum to 1 over stems give stems that sum to the mix.
3. Resample each stem back to the clip's rate and exact length; the resampling residual goes to the
   last stem, so the stems always sum to the input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.separation.chunking import CancelFn, ProgressFn, overlap_add
from musicsim_gui.separation.resample import resample_samples
from musicsim_gui.separation.stft import istft, stft
from musicsim_gui.separation.wiener import wiener_refine

MaskFn = Callable[[np.ndarray], np.ndarray]
"""magnitude float32 `[C, F, T]` → masks float32 `[C, S, F, T]`."""


@dataclass(frozen=True)
class MaskSettings:
    """STFT and chunking of a mask separator: rate in Hz, STFT sizes in samples, chunks in seconds."""

    sample_rate: int
    n_fft: int
    hop: int
    stems: tuple[str, ...]
    chunk_seconds: float = 20.0
    overlap_seconds: float = 1.0
    wiener: bool = False


def apply_masks(samples: np.ndarray, mask_fn: MaskFn, settings: MaskSettings) -> dict[str, np.ndarray]:
    """One chunk: `[C, n]` at the model rate → `{stem: [C, n]}`."""
    spec = stft(samples, settings.n_fft, settings.hop)                    # [C, F, T]
    masks = mask_fn(np.abs(spec))                                          # [C, S, F, T]
    if settings.wiener:
        estimates = wiener_refine(spec, masks.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    else:
        estimates = masks * spec[:, None]                                  # [C, S, F, T]
    stems = istft(estimates, samples.shape[-1], settings.n_fft, settings.hop)  # [C, S, n]
    return {name: stems[:, index] for index, name in enumerate(settings.stems)}


def separate_with_masks(clip: AudioClip, mask_fn: MaskFn, settings: MaskSettings,
                        progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> dict[str, AudioClip]:
    """Separate `clip` with `mask_fn` chunk by chunk; stems at the clip's rate, channels and length."""
    samples = resample_samples(clip.samples, clip.sample_rate, settings.sample_rate)
    chunk = int(settings.chunk_seconds * settings.sample_rate)
    overlap = int(settings.overlap_seconds * settings.sample_rate)
    outputs = overlap_add(samples, lambda part: apply_masks(part, mask_fn, settings), chunk, overlap,
                          progress, cancel)
    back = {name: resample_samples(outputs[name], settings.sample_rate, clip.sample_rate, clip.frames)
            for name in settings.stems}
    if clip.sample_rate != settings.sample_rate:
        # What resampling could not carry (e.g. above the model's Nyquist) goes to the last stem ("other"),
        # so the stems still add up to the input.
        back[settings.stems[-1]] += clip.samples - sum(back.values())
    source = f"{clip.source} ({{}})" if clip.source else "{}"
    return {name: AudioClip(back[name], clip.sample_rate, source.format(name)) for name in settings.stems}
