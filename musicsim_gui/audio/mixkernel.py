"""The one mixing kernel: playback and offline export both call `mix_block`, so an export equals what you heard.

Architecture:
1. Per-track gains are resolved once per change (not per block) by `resolve_gains`: gain in dB, a
   constant-power pan law normalised to unity at centre, DAW mute/solo semantics and the master gain
   become one left/right factor pair per track.
2. `mix_block` adds every track's slice into a caller-owned `[frames, 2]` float32 block using `out=`
   NumPy operations on preallocated scratch memory. It allocates no sample buffers, takes no locks and
   does no I/O, so the real-time callback can call it directly.
3. Looping is handled inside the kernel: a block that crosses the loop end is split and continues at the
   loop start, so loop wraps are sample-accurate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

OUTPUT_CHANNELS = 2


@dataclass(frozen=True)
class ChannelStrip:
    """The mix settings of one track: gain in dB, pan in [-1 (left), 1 (right)], mute and solo."""

    gain_db: float = 0.0
    pan: float = 0.0
    mute: bool = False
    solo: bool = False


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan law, normalised so the centre is unity on both sides.

    Returns (left, right) linear factors. At the centre both are 1.0; hard left gives (sqrt(2), 0).
    Unity at the centre keeps separated stems summing to the reference mix when nothing is panned.
    """
    pan = min(1.0, max(-1.0, float(pan)))
    angle = (pan + 1.0) * math.pi / 4.0
    return math.sqrt(2.0) * math.cos(angle), math.sqrt(2.0) * math.sin(angle)


def db_to_gain(db: float) -> float:
    """Convert decibels to a linear amplitude factor (-inf dB gives 0)."""
    return 0.0 if db == -math.inf else 10.0 ** (db / 20.0)


def resolve_gains(strips: Sequence[ChannelStrip], master_gain_db: float = 0.0) -> np.ndarray:
    """Resolve mix settings into per-track (left, right) linear gains.

    A track is audible when it is not muted and, if any track is soloed, it is soloed too (a muted
    track stays silent even when soloed, as in REAPER and Ableton).

    Returns:
        float32 array `[tracks, 2]`.
    """
    any_solo = any(s.solo for s in strips)
    master = db_to_gain(master_gain_db)
    gains = np.zeros((len(strips), OUTPUT_CHANNELS), dtype=np.float32)
    for index, strip in enumerate(strips):
        if strip.mute or (any_solo and not strip.solo):
            continue
        left, right = pan_gains(strip.pan)
        level = db_to_gain(strip.gain_db) * master
        gains[index] = (left * level, right * level)
    return gains


class MixScratch:
    """Preallocated working memory for `mix_block`, sized for the largest block it will be asked to mix."""

    def __init__(self, max_frames: int) -> None:
        self.max_frames = int(max_frames)
        self.buffer = np.zeros(self.max_frames, dtype=np.float32)


def _mix_segment(out: np.ndarray, offset: int, count: int, sources: Sequence[np.ndarray],
                 gains: np.ndarray, position: int, scratch: np.ndarray) -> None:
    """Add `count` frames of every source starting at `position` into `out[offset:offset+count]`."""
    for index, source in enumerate(sources):
        available = source.shape[1] - position
        if available <= 0:
            continue
        n = count if available >= count else available
        for channel in range(OUTPUT_CHANNELS):
            gain = gains[index, channel]
            if gain == 0.0:
                continue
            src = source[channel if source.shape[0] > 1 else 0, position:position + n]
            work = scratch[:n]
            np.multiply(src, gain, out=work)
            target = out[offset:offset + n, channel]
            np.add(target, work, out=target)


def mix_block(out: np.ndarray, sources: Sequence[np.ndarray], gains: np.ndarray, position: int,
              scratch: MixScratch, loop: tuple[int, int] | None = None) -> int:
    """Mix one block of every source into `out` and return the next play position.

    Args:
        out: float32 `[frames, 2]`, overwritten (zeroed, then summed into).
        sources: one float32 array `[channels, samples]` per track (mono sources feed both sides),
            all at the output sample rate.
        gains: float32 `[tracks, 2]` from `resolve_gains`.
        position: the frame index of the first output frame, in samples.
        scratch: working memory with `max_frames >= frames`.
        loop: optional `(start, end)` in samples; playback that reaches `end` jumps to `start`.

    Returns:
        The position after this block, in samples (wrapped when looping).
    """
    frames = out.shape[0]
    out.fill(0.0)
    offset = 0
    while offset < frames:
        count = frames - offset
        if loop is not None and loop[1] > loop[0]:
            if position >= loop[1] or position < loop[0]:
                position = loop[0] if position >= loop[1] else position
            if position < loop[1]:
                count = min(count, loop[1] - position)
        _mix_segment(out, offset, count, sources, gains, position, scratch.buffer)
        offset += count
        position += count
        if loop is not None and loop[1] > loop[0] and position >= loop[1]:
            position = loop[0]
    return position
