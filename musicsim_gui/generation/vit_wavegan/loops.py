"""Turning one generated window into a stem: beat-aligned loop, crossfaded tiling, output rate, level.

Architecture:
1. The heads write a fixed window (e.g. 16,384 samples ≈ 1.02 s at 16 kHz) that starts on a beat (training
   windows start on beats). The loop keeps the largest power-of-two number of beats at the reference tempo
   that fits the window (1, 2, 4, … beats); a window shorter than one beat is used whole.
2. DC is removed and the loop alone is brought to the output rate and, when the model has a fitted
   `BandwidthExtension`, given its band above the model's Nyquist frequency. Both see the loop circularly
   padded with its own end and start, as it is heard when tiled, so neither adds an edge transient; working
   on one loop instead of the whole stem makes a 30 s take about ten times cheaper to finish.
3. The loop is tiled to the requested length; consecutive copies overlap by `fade` seconds with an
   equal-power crossfade (20 ms), so seams neither click nor dip. Copy k starts at k × the loop's period at
   the model rate, converted to the output rate and rounded per copy, so the beat does not drift however
   long the stem is. The stem is duplicated to stereo and peak-normalised.
"""

from __future__ import annotations

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.generation.vit_wavegan.bandwidth import BandwidthExtension, stft_sizes

RESAMPLE_PAD_SECONDS = 0.05
"""Circular padding of a loop before resampling: longer than the resampler's filter, so its edges are clean."""


def loop_frames(window: int, sample_rate: int, tempo_bpm: float) -> int:
    """Samples in the loop cut from a `window`-sample output: 2**k beats at `tempo_bpm`, ≤ window."""
    beat = sample_rate * 60.0 / tempo_bpm
    if beat > window:
        return window
    beats = 2 ** int(np.floor(np.log2(window / beat)))
    return int(round(beats * beat))


def tile(loop: np.ndarray, frames: int, fade: int, period: float | None = None) -> np.ndarray:
    """Repeat `[L]` to `[frames]` with `fade`-sample equal-power crossfades at the seams.

    Copy k starts at round(k × `period`) (default L - fade, an integer): a fractional period keeps a loop made
    at another rate on its beat, each seam then overlapping by `fade` ± 1 samples."""
    length = loop.shape[0]
    fade = int(min(fade, length // 4))
    if fade == 0 and period is None:
        return np.resize(loop, frames).astype(np.float32)
    step = float(length - fade) if period is None else float(period)
    copies = max(1, int(np.ceil((frames - fade) / step)))
    starts = np.round(np.arange(copies) * step).astype(np.int64)
    out = np.zeros(int(starts[-1]) + length, dtype=np.float32)
    ramp = np.linspace(0.0, np.pi / 2, fade, dtype=np.float32)
    fade_in, fade_out = np.sin(ramp), np.cos(ramp)
    shaped = loop.astype(np.float32).copy()
    for index, start in enumerate(starts):
        piece = shaped.copy()
        if index > 0 and fade:
            piece[:fade] *= fade_in
        if index < copies - 1 and fade:
            piece[-fade:] *= fade_out
        out[start: start + length] += piece
    return out[:frames]


def circular(loop: np.ndarray, pad: int) -> np.ndarray:
    """`[L]` with `pad` samples of its own end before it and of its start after it (pad ≤ L)."""
    pad = int(min(pad, loop.shape[0]))
    return np.concatenate([loop[loop.shape[0] - pad:], loop, loop[:pad]]) if pad else loop


def render_stem(window: np.ndarray, sample_rate: int, tempo_bpm: float, seconds: float, output_rate: int,
                channels: int = 2, peak_dbfs: float = -3.0, fade_seconds: float = 0.02,
                bandwidth: BandwidthExtension | None = None, instrument: str = "") -> np.ndarray:
    """One head output `[W]` at `sample_rate` → a stem `[channels, round(seconds * output_rate)]` float32
    (`bandwidth`: the model's fitted extension, applied for `instrument`)."""
    import soxr

    loop = window[: loop_frames(window.shape[0], sample_rate, tempo_bpm)].astype(np.float32)
    loop = loop - loop.mean()
    fade = int(min(fade_seconds * sample_rate, loop.shape[0] // 4))
    period = float(loop.shape[0] - fade)
    ratio = output_rate / sample_rate
    if output_rate != sample_rate:
        pad = min(loop.shape[0], max(64, int(RESAMPLE_PAD_SECONDS * sample_rate)))
        resampled = soxr.resample(circular(loop, pad), sample_rate, output_rate, quality="HQ").astype(np.float32)
        start, length = int(round(pad * ratio)), int(round(loop.shape[0] * ratio))
        loop = resampled[start: start + length]
    if bandwidth is not None:
        pad = min(loop.shape[0], 4 * stft_sizes(output_rate)[0])
        loop = bandwidth.extend(circular(loop, pad), output_rate, instrument)[pad: pad + loop.shape[0]]
    tiled = tile(loop, int(round(seconds * output_rate)), int(round(fade * ratio)), period * ratio)
    peak = float(np.max(np.abs(tiled))) if tiled.size else 0.0
    if peak > 1e-6:
        tiled = tiled * (10.0 ** (peak_dbfs / 20.0) / peak)
    return np.repeat(tiled[np.newaxis], channels, axis=0)


def stem_clip(window: np.ndarray, sample_rate: int, tempo_bpm: float, seconds: float, output_rate: int,
              source: str, bandwidth: BandwidthExtension | None = None, instrument: str = "") -> AudioClip:
    """`render_stem` wrapped as a stereo `AudioClip`."""
    stem = render_stem(window, sample_rate, tempo_bpm, seconds, output_rate, bandwidth=bandwidth, instrument=instrument)
    return AudioClip(stem, output_rate, source)
