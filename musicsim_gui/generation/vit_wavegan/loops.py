"""Turning one generated window into a stem: beat-aligned loop, crossfaded tiling, output rate, level.

Architecture:
1. The heads write a fixed window (e.g. 16,384 samples ≈ 1.02 s at 16 kHz) that starts on a beat (training
   windows start on beats). The loop is the largest power-of-two number of beats at the reference tempo (1, 2,
   4, … beats) that leaves room for the crossfade after it in the window; it is cut with `fade` samples more,
   the window's own continuation, which the next copy's start fades in over. A window shorter than one beat
   is used whole.
2. DC is removed, the loop's magnitude is averaged over a short window for instruments the model's
   `smoothing.TemporalSmoothing` names (at the model rate, circularly), and the loop alone is brought to the
   output rate and, when the model has a fitted `BandwidthExtension`, given its band above the model's Nyquist
   frequency. Both see the loop circularly padded with its own end and start, as it is heard when tiled, so
   neither adds an edge transient; working on one loop instead of the whole stem makes a 30 s take about ten
   times cheaper to finish. A model with a fitted `tone.ToneMatch` then equalises the loop (circularly) to its
   instrument's typical spectral shape; with the reference's own part known, the loop variations are then
   moved towards its tone and band dynamics (`reference_match.py`, circularly too), and last finished (the
   model's spectral floor subtraction and low cut, circularly as well). Where the take follows the part's
   chords (`harmony.py`), each copy of the layout (`copy_layout`) is given the variation transposed to the
   harmony under it, and the tiling plays those rows in that order.
3. The loop is tiled to the requested length; consecutive copies overlap by `fade` seconds with an
   equal-power crossfade (20 ms), so seams neither click nor dip. Copy k starts at k × the loop's period,
   exactly its 2**k beats at the model rate, converted to the output rate and rounded per copy, so the take
   keeps the reference tempo however long it is. With a phrase start (the reference's first downbeat) the
   copy that starts the phrase starts there and the one before it fills the time before, so the take's beats
   and bars fall on the reference's. The stem is duplicated to stereo and peak-normalised.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.generation.vit_wavegan.bandwidth import BandwidthExtension, stft_sizes
from musicsim_gui.generation.vit_wavegan.features import BEATS_PER_BAR
from musicsim_gui.generation.vit_wavegan.smoothing import TemporalSmoothing
from musicsim_gui.generation.vit_wavegan.tone import ToneMatch

PHRASE_BARS = 4
"""Phrases of 4 bars of 4/4: the unit over which a stem's loop variations repeat (`phrase_pattern`)."""

RESAMPLE_PAD_SECONDS = 0.05
"""Circular padding of a loop before resampling: longer than the resampler's filter, so its edges are clean."""


FADE_SECONDS = 0.02
"""Crossfade between consecutive loop copies."""

HarmonyStep = Callable[[np.ndarray, np.ndarray, tuple[int, ...], float], tuple[np.ndarray, tuple[int, ...]]]
"""(finished variations `[V, L]`, copy starts, variation per copy, period) → (rows `[R, L]`, row per copy)."""


def copy_layout(length: int, frames: int, fade: int, period: float | None = None,
                pattern: tuple[int, ...] | None = None, offset: float = 0.0) -> tuple[np.ndarray, tuple[int, ...], int]:
    """Where `tile` puts the copies of `length`-sample loops in a `frames`-sample stem: (each copy's first sample
    in the stem `[copies]` int64, the first negative when the copy before the pattern's first is cut; the
    variation each copy plays; the crossfade used, `fade` capped at a quarter of a loop)."""
    pattern = pattern or (0,)
    fade = int(min(fade, length // 4))
    step = float(length - fade) if period is None else float(period)
    lead = (step - float(offset) % step) % step  # samples of the copy before the pattern's first
    if lead:
        pattern = (pattern[-1], *pattern[:-1])
    skip = int(round(lead))
    copies = max(1, int(np.ceil((frames + skip - fade) / step)))
    starts = np.round(np.arange(copies) * step).astype(np.int64) - skip
    return starts, tuple(pattern[index % len(pattern)] for index in range(copies)), fade


def tile(loop: np.ndarray, frames: int, fade: int, period: float | None = None,
         pattern: tuple[int, ...] | None = None, offset: float = 0.0,
         sequence: tuple[int, ...] | None = None) -> np.ndarray:
    """Repeat `[L]` (or the variations `[V, L]` in the order `pattern` gives, cyclically) to `[frames]` with
    `fade`-sample equal-power crossfades at the seams.

    Copy k starts at round(k × `period`) (default L - fade, an integer): a fractional period keeps a loop made
    at another rate on its beat, each seam then overlapping by `fade` ± 1 samples. With `offset` (samples,
    taken modulo the period) the pattern's first copy starts there, and the copy before it (the pattern's
    last) fills the samples before. `sequence`, when given, names the row of `loop` each copy of
    `copy_layout` plays instead of the pattern (one per copy)."""
    variations = loop[np.newaxis] if loop.ndim == 1 else loop
    length = variations.shape[-1]
    if (int(min(fade, length // 4)) == 0 and period is None and variations.shape[0] == 1 and offset == 0.0
            and sequence is None):
        return np.resize(variations[0], frames).astype(np.float32)
    starts, played, fade = copy_layout(length, frames, fade, period, pattern, offset)
    if sequence is not None:
        if len(sequence) != len(starts):
            raise ValueError(f"tile: {len(sequence)} copies named for a layout of {len(starts)}")
        played = tuple(sequence)
    skip = int(-starts[0])
    out = np.zeros(int(starts[-1]) + skip + length, dtype=np.float32)
    ramp = np.linspace(0.0, np.pi / 2, fade, dtype=np.float32)
    fade_in, fade_out = np.sin(ramp), np.cos(ramp)
    copies = len(starts)
    for index, start in enumerate(starts):
        piece = variations[played[index]].astype(np.float32)
        if index > 0 and fade:
            piece[:fade] *= fade_in
        if index < copies - 1 and fade:
            piece[-fade:] *= fade_out
        out[start + skip: start + skip + length] += piece
    return out[skip:skip + frames]


def phrase_pattern(loop_beats: int, beats_per_bar: int = BEATS_PER_BAR, bars: int = PHRASE_BARS) -> tuple[int, ...]:
    """Which variation each loop copy of a phrase plays (cyclic over the stem); `max + 1` variations in all.

    A bar is a cell of `beats_per_bar / loop_beats` different loops (one when a loop fills a bar or more), the
    cell repeats, and the last quarter of the phrase plays a second cell, the way a part varies its fourth
    bar: 2-beat loops give AB AB AB CD, bar-long ones A A A B. A loop of a whole phrase (or one shorter than
    a beat, `loop_beats` 0) is repeated as it is."""
    units = max(1, (beats_per_bar * bars) // max(1, loop_beats)) if loop_beats else 1
    if units == 1:
        return (0,)
    cell = max(1, beats_per_bar // loop_beats)
    varied = max(1, units // 4)
    return tuple((cell if index >= units - varied else 0) + index % cell for index in range(units))


def loop_beats(window: int, sample_rate: int, tempo_bpm: float, fade_seconds: float = FADE_SECONDS) -> int:
    """Beats in the loop: the most, a power of two, that fit the window with the crossfade after them (0 when
    not even one beat does)."""
    beat = sample_rate * 60.0 / tempo_bpm
    room = window - int(fade_seconds * sample_rate) - 2
    return 0 if beat > room else 2 ** int(np.floor(np.log2(room / beat)))


def circular(loop: np.ndarray, pad: int) -> np.ndarray:
    """`[L]` with `pad` samples of its own end before it and of its start after it (pad ≤ L)."""
    pad = int(min(pad, loop.shape[0]))
    return np.concatenate([loop[loop.shape[0] - pad:], loop, loop[:pad]]) if pad else loop


def finish_loop(window: np.ndarray, sample_rate: int, tempo_bpm: float, output_rate: int,
                bandwidth: BandwidthExtension | None = None, instrument: str = "",
                fade_seconds: float = FADE_SECONDS, tone: ToneMatch | None = None,
                smoothing: TemporalSmoothing | None = None) -> tuple[np.ndarray, float, int]:
    """One head output `[W]` at `sample_rate` → (its loop at `output_rate`, the tiling period and crossfade
    there): DC removed, its magnitude smoothed over time (`smoothing`, at the model rate), resampled and
    band-extended with circular padding, then tone-matched (circularly; see module docstring)."""
    import soxr

    beats = loop_beats(window.shape[0], sample_rate, tempo_bpm, fade_seconds)
    if beats:  # 2**k beats and the crossfade's continuation after them; the period is exact, not whole samples
        period = beats * sample_rate * 60.0 / tempo_bpm
        fade = int(min(fade_seconds * sample_rate, period // 4))
        loop = window[: int(np.ceil(period)) + fade].astype(np.float32)
    else:  # shorter than a beat: the whole window, its copies overlapping by the crossfade
        fade = int(min(fade_seconds * sample_rate, window.shape[0] // 4))
        period = float(window.shape[0] - fade)
        loop = window.astype(np.float32)
    loop = loop - loop.mean()
    if smoothing is not None:
        loop = smoothing.apply(loop, sample_rate, instrument)
    ratio = output_rate / sample_rate
    if output_rate != sample_rate:
        pad = min(loop.shape[0], max(64, int(RESAMPLE_PAD_SECONDS * sample_rate)))
        resampled = soxr.resample(circular(loop, pad), sample_rate, output_rate, quality="HQ").astype(np.float32)
        start, length = int(round(pad * ratio)), int(round(loop.shape[0] * ratio))
        loop = resampled[start: start + length]
    if bandwidth is not None:
        pad = min(loop.shape[0], 4 * stft_sizes(output_rate)[0])
        loop = bandwidth.extend(circular(loop, pad), output_rate, instrument)[pad: pad + loop.shape[0]]
    if tone is not None:
        loop = tone.apply(loop, output_rate, instrument)
    return loop, period * ratio, int(round(fade * ratio))


def render_stem(window: np.ndarray, sample_rate: int, tempo_bpm: float, seconds: float, output_rate: int,
                channels: int = 2, peak_dbfs: float = -3.0, fade_seconds: float = FADE_SECONDS,
                bandwidth: BandwidthExtension | None = None, instrument: str = "",
                pattern: tuple[int, ...] | None = None, tone: ToneMatch | None = None,
                smoothing: TemporalSmoothing | None = None, phrase_start_seconds: float = 0.0,
                match: Callable[[np.ndarray], np.ndarray] | None = None,
                follow: Callable[[np.ndarray], np.ndarray] | None = None,
                finish: Callable[[np.ndarray], np.ndarray] | None = None,
                harmony: HarmonyStep | None = None) -> np.ndarray:
    """Head output `[W]` (or its variations `[V, W]`, played in the order `pattern` gives) at `sample_rate`
    → a stem `[channels, round(seconds * output_rate)]` float32 (`bandwidth` and `tone`: the model's fitted
    extension, tone match and temporal smoothing, applied for `instrument`) whose pattern starts at
    `phrase_start_seconds`. `match` maps the finished loop variations `[V, L]` (at the output rate, before
    tiling) to new ones of the same shape: the reference match of `reference_match.py`; `finish` then does the
    same for the last steps on the loops (the spectral floor subtraction, the low cut); `follow` maps the tiled
    mono stem to a new one before its peak is normalised (the reference match's contour). `harmony` gets the
    finished variations, each copy's start in the stem, the variation each plays and the period, and returns the
    rows the copies play and which row each plays (`harmony.follow_harmony`: every copy transposed to the
    reference part's chords)."""
    windows = window[np.newaxis] if window.ndim == 1 else window
    finished = [finish_loop(w, sample_rate, tempo_bpm, output_rate, bandwidth, instrument, fade_seconds, tone,
                            smoothing) for w in windows]
    period, fade = finished[0][1], finished[0][2]
    variations = np.stack([loop for loop, _, _ in finished])
    if match is not None:
        variations = match(variations)
    if finish is not None:
        variations = finish(variations)
    frames, offset = int(round(seconds * output_rate)), phrase_start_seconds * output_rate
    sequence = None
    if harmony is not None:
        starts, played, _ = copy_layout(variations.shape[-1], frames, fade, period, pattern, offset)
        variations, sequence = harmony(variations, starts, played, period)
    tiled = tile(variations, frames, fade, period, pattern, offset=offset, sequence=sequence)
    if follow is not None:
        tiled = follow(tiled)
    peak = float(np.max(np.abs(tiled))) if tiled.size else 0.0
    if peak > 1e-6:
        tiled = tiled * (10.0 ** (peak_dbfs / 20.0) / peak)
    return np.repeat(tiled[np.newaxis], channels, axis=0)


def stem_clip(window: np.ndarray, sample_rate: int, tempo_bpm: float, seconds: float, output_rate: int,
              source: str, bandwidth: BandwidthExtension | None = None, instrument: str = "",
              pattern: tuple[int, ...] | None = None, tone: ToneMatch | None = None,
              smoothing: TemporalSmoothing | None = None, phrase_start_seconds: float = 0.0,
              match: Callable[[np.ndarray], np.ndarray] | None = None,
              follow: Callable[[np.ndarray], np.ndarray] | None = None,
              finish: Callable[[np.ndarray], np.ndarray] | None = None,
              harmony: HarmonyStep | None = None) -> AudioClip:
    """`render_stem` wrapped as a stereo `AudioClip`."""
    stem = render_stem(window, sample_rate, tempo_bpm, seconds, output_rate, bandwidth=bandwidth,
                       instrument=instrument, pattern=pattern, tone=tone, smoothing=smoothing,
                       phrase_start_seconds=phrase_start_seconds, match=match, follow=follow, finish=finish,
                       harmony=harmony)
    return AudioClip(stem, output_rate, source)
