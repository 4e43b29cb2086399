"""The weight-free fallback separator: harmonic/percussive split plus frequency bands. Rough by design.

Architecture (soft masks on the magnitude STFT at 44.1 kHz, per channel):
1. Median filtering along time (harmonic) and along frequency (percussive) gives two Wiener-style soft
   masks (HPSS, Fitzgerald 2010).
2. drums = percussive part; the harmonic part is split by smooth frequency crossovers:
   bass < ~180 Hz, piano ~180 Hz – 2 kHz, other above.
Masks sum to 1, so the four stems add up to the mix. It needs no model and always works, but a piano
and a guitar in the same register land in the same stem: the built-in network is the real separator.
"""

from __future__ import annotations

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.separation.base import STEMS, CancelFn, ProgressFn
from musicsim_gui.separation.masking import MaskSettings, separate_with_masks

VERSION = "1"
SETTINGS = MaskSettings(sample_rate=44100, n_fft=2048, hop=512, stems=STEMS)


def _crossover(freqs: np.ndarray, corner_hz: float, width_octaves: float = 0.5) -> np.ndarray:
    """A smooth 0 → 1 step in log frequency around `corner_hz` (float32 `[F]`)."""
    octaves = np.log2(np.maximum(freqs, 1.0) / corner_hz) / width_octaves
    return (0.5 + 0.5 * np.tanh(2.0 * octaves)).astype(np.float32)


def hpss_masks(mag: np.ndarray, kernel: int = 17) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic and percussive soft masks of `mag [C, F, T]` (each `[C, F, T]`, summing to 1)."""
    from scipy.ndimage import median_filter

    harmonic = median_filter(mag, size=(1, 1, kernel), mode="nearest")
    percussive = median_filter(mag, size=(1, kernel, 1), mode="nearest")
    h2, p2 = harmonic**2, percussive**2
    total = h2 + p2 + 1e-10
    return h2 / total, p2 / total


def dsp_masks(mag: np.ndarray, sample_rate: int = SETTINGS.sample_rate) -> np.ndarray:
    """Masks `[C, 4, F, T]` (bass, drums, piano, other) for magnitude `[C, F, T]`."""
    freqs = np.linspace(0.0, sample_rate / 2, mag.shape[1], dtype=np.float32)
    harmonic, percussive = hpss_masks(mag)
    above_bass = _crossover(freqs, 180.0)[:, None]
    above_piano = _crossover(freqs, 2000.0)[:, None]
    bass = harmonic * (1.0 - above_bass)
    piano = harmonic * above_bass * (1.0 - above_piano)
    other = harmonic * above_bass * above_piano
    return np.stack([bass, percussive, piano, other], axis=1).astype(np.float32)


class DspSeparator:
    """HPSS + band-split separator (see the module docstring). `fallback_reason` is set when it stands in."""

    id = "dsp"
    version = VERSION

    def __init__(self, fallback_reason: str | None = None) -> None:
        self.fallback_reason = fallback_reason
        self.backend_name = "numpy"

    def separate(self, clip: AudioClip, progress: ProgressFn | None = None,
                 cancel: CancelFn | None = None) -> dict[str, AudioClip]:
        return separate_with_masks(clip, dsp_masks, SETTINGS, progress, cancel)
