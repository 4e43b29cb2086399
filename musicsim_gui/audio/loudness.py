"""Loudness and level: integrated loudness (ITU-R BS.1770 via pyloudnorm), sample peak, and normalisation.

pyloudnorm is imported on first use. Levels of silent (or, for loudness, shorter than one 400 ms gating
block) audio are `-inf`; normalising such audio returns it unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.dsp import to_channels

_GATE_SECONDS = 0.4
_MAX_WEIGHTED_CHANNELS = 5  # BS.1770 weights exist for L, R, C, Ls, Rs


def integrated_loudness(clip: AudioClip) -> float:
    """Integrated loudness in LUFS (BS.1770-4, K-weighted, gated); `-inf` for silence or clips under 0.4 s.

    Clips with more than five channels are measured on their stereo down-mix.
    """
    import pyloudnorm

    if clip.frames < int(math.ceil(_GATE_SECONDS * clip.sample_rate)) or not clip.samples.any():
        return -math.inf
    if clip.channels > _MAX_WEIGHTED_CHANNELS:
        clip = to_channels(clip, 2)
    meter = pyloudnorm.Meter(clip.sample_rate)
    with np.errstate(divide="ignore"):
        value = float(meter.integrated_loudness(clip.samples.T.astype(np.float64)))
    return value if math.isfinite(value) else -math.inf


def peak_dbfs(clip: AudioClip) -> float:
    """The highest absolute sample in dB relative to full scale (1.0); `-inf` for silence or an empty clip."""
    peak = float(np.abs(clip.samples).max()) if clip.frames else 0.0
    return 20.0 * math.log10(peak) if peak > 0.0 else -math.inf


def apply_gain(clip: AudioClip, gain_db: float) -> AudioClip:
    """`clip` scaled by `gain_db` decibels."""
    factor = np.float32(10.0 ** (gain_db / 20.0))
    return AudioClip(clip.samples * factor, clip.sample_rate, clip.source)


def normalize_peak(clip: AudioClip, dbfs: float = -1.0) -> AudioClip:
    """Scale `clip` so its sample peak is `dbfs` dBFS; silence is returned unchanged."""
    peak = peak_dbfs(clip)
    return clip if peak == -math.inf else apply_gain(clip, dbfs - peak)


def normalize_loudness(clip: AudioClip, lufs: float = -14.0) -> AudioClip:
    """Scale `clip` so its integrated loudness is `lufs`; silent or too-short audio is returned unchanged.

    The peak is not limited: loud targets can push samples beyond full scale (see `normalize_peak`).
    """
    loudness = integrated_loudness(clip)
    return clip if loudness == -math.inf else apply_gain(clip, lufs - loudness)
