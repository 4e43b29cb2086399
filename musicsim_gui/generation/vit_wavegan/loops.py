"""Turning one generated window into a stem: beat-aligned loop, crossfaded tiling, output rate, level.

Architecture:
1. The heads write a fixed window (e.g. 16,384 samples ≈ 1.02 s at 16 kHz) that starts on a beat (training
   windows start on beats). The loop keeps the largest power-of-two number of beats at the reference tempo
   that fits the window (1, 2, 4, … beats); a window shorter than one beat is used whole.
2. The loop is tiled to the requested length; consecutive copies overlap by `fade` seconds with an
   equal-power crossfade (20 ms), so seams neither click nor dip.
3. DC is removed, the stem is resampled to the output rate, the band above the model's Nyquist frequency is
   rebuilt when the model has a fitted `BandwidthExtension`, and the stem is duplicated to stereo and
   peak-normalised.
"""

from __future__ import annotations

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.generation.vit_wavegan.bandwidth import BandwidthExtension


def loop_frames(window: int, sample_rate: int, tempo_bpm: float) -> int:
    """Samples in the loop cut from a `window`-sample output: 2**k beats at `tempo_bpm`, ≤ window."""
    beat = sample_rate * 60.0 / tempo_bpm
    if beat > window:
        return window
    beats = 2 ** int(np.floor(np.log2(window / beat)))
    return int(round(beats * beat))


def tile(loop: np.ndarray, frames: int, fade: int) -> np.ndarray:
    """Repeat `[L]` to `[frames]` with `fade`-sample equal-power crossfades at the seams."""
    length = loop.shape[0]
    fade = int(min(fade, length // 4))
    if fade == 0:
        return np.resize(loop, frames).astype(np.float32)
    step = length - fade
    copies = max(1, int(np.ceil((frames - fade) / step)))
    out = np.zeros(copies * step + fade, dtype=np.float32)
    ramp = np.linspace(0.0, np.pi / 2, fade, dtype=np.float32)
    fade_in, fade_out = np.sin(ramp), np.cos(ramp)
    shaped = loop.astype(np.float32).copy()
    for index in range(copies):
        piece = shaped.copy()
        if index > 0:
            piece[:fade] *= fade_in
        if index < copies - 1:
            piece[-fade:] *= fade_out
        out[index * step: index * step + length] += piece
    return out[:frames]


def render_stem(window: np.ndarray, sample_rate: int, tempo_bpm: float, seconds: float, output_rate: int,
                channels: int = 2, peak_dbfs: float = -3.0, fade_seconds: float = 0.02,
                bandwidth: BandwidthExtension | None = None, instrument: str = "") -> np.ndarray:
    """One head output `[W]` at `sample_rate` → a stem `[channels, round(seconds * output_rate)]` float32
    (`bandwidth`: the model's fitted extension, applied for `instrument`)."""
    import soxr

    loop = window[: loop_frames(window.shape[0], sample_rate, tempo_bpm)]
    loop = loop - loop.mean()
    tiled = tile(loop, int(round(seconds * sample_rate)), int(fade_seconds * sample_rate))
    if output_rate != sample_rate:
        tiled = soxr.resample(tiled, sample_rate, output_rate, quality="HQ").astype(np.float32)
    tiled = tiled[: int(round(seconds * output_rate))]
    if bandwidth is not None:
        tiled = bandwidth.extend(tiled, output_rate, instrument)
    peak = float(np.max(np.abs(tiled))) if tiled.size else 0.0
    if peak > 1e-6:
        tiled = tiled * (10.0 ** (peak_dbfs / 20.0) / peak)
    return np.repeat(tiled[np.newaxis], channels, axis=0)


def stem_clip(window: np.ndarray, sample_rate: int, tempo_bpm: float, seconds: float, output_rate: int,
              source: str, bandwidth: BandwidthExtension | None = None, instrument: str = "") -> AudioClip:
    """`render_stem` wrapped as a stereo `AudioClip`."""
    stem = render_stem(window, sample_rate, tempo_bpm, seconds, output_rate, bandwidth=bandwidth, instrument=instrument)
    return AudioClip(stem, output_rate, source)
