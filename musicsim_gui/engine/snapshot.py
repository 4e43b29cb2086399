"""Immutable mix snapshots: everything the audio callback needs to mix one block, built off the audio thread.

Architecture:
1. `build_snapshot` converts each clip to the stream's sample rate (soxr HQ) and to one or two channels,
   then freezes the arrays (read-only) and resolves the channel strips into per-track gains.
2. `with_gains` reuses the converted sources and only re-resolves the gains, so a fader move costs
   microseconds, not a resample.
3. The engine publishes a snapshot by a single attribute assignment; the callback reads that attribute once
   per block, so a block is always mixed from one consistent snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import soxr

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.mixkernel import ChannelStrip, resolve_gains


@dataclass(frozen=True, eq=False)
class MixSnapshot:
    """What the callback mixes: sources at the stream rate, their gains and the length of the longest.

    Attributes:
        sources: one read-only float32 array `[channels (1 or 2), frames]` per track.
        gains: read-only float32 `[tracks, 2]` linear (left, right) gains from `resolve_gains`.
        frames: the length of the longest source, in samples at `sample_rate`.
        sample_rate: the stream rate the sources were converted to, in Hz.
    """

    sources: tuple[np.ndarray, ...]
    gains: np.ndarray
    frames: int
    sample_rate: int

    @property
    def duration(self) -> float:
        """Length of the longest source, in seconds."""
        return self.frames / self.sample_rate


def stream_samples(clip: AudioClip, sample_rate: int) -> np.ndarray:
    """Return `clip` as a read-only float32 `[1 or 2, frames]` array at `sample_rate` Hz.

    Clips with more than two channels keep their first two. The clip's own array is reused (never
    modified) when no conversion is needed.
    """
    samples = clip.samples[:2]
    if clip.sample_rate != sample_rate and clip.frames > 0:
        converted = soxr.resample(samples.T, clip.sample_rate, sample_rate, quality="HQ")
        samples = np.ascontiguousarray(converted.T, dtype=np.float32)
    elif clip.sample_rate != sample_rate:
        samples = np.zeros((samples.shape[0], 0), dtype=np.float32)
    if samples.flags.writeable:
        samples = samples.view()
        samples.flags.writeable = False
    return samples


def _frozen_gains(strips: Sequence[ChannelStrip], master_gain_db: float) -> np.ndarray:
    gains = resolve_gains(strips, master_gain_db)
    gains.flags.writeable = False
    return gains


def build_snapshot(clips: Sequence[AudioClip], strips: Sequence[ChannelStrip], master_gain_db: float,
                   sample_rate: int) -> MixSnapshot:
    """Convert `clips` to the stream rate and resolve `strips` into a snapshot (call off the audio thread)."""
    if len(clips) != len(strips):
        raise ValueError(f"{len(clips)} clips but {len(strips)} channel strips")
    sources = tuple(stream_samples(clip, sample_rate) for clip in clips)
    frames = max((source.shape[1] for source in sources), default=0)
    return MixSnapshot(sources, _frozen_gains(strips, master_gain_db), frames, int(sample_rate))


def with_gains(snapshot: MixSnapshot, strips: Sequence[ChannelStrip], master_gain_db: float) -> MixSnapshot:
    """A copy of `snapshot` with new gains (same sources): a fader, pan, mute or solo change."""
    if len(strips) != len(snapshot.sources):
        raise ValueError(f"{len(snapshot.sources)} tracks but {len(strips)} channel strips")
    return MixSnapshot(snapshot.sources, _frozen_gains(strips, master_gain_db), snapshot.frames,
                       snapshot.sample_rate)


def with_source(snapshot: MixSnapshot, index: int, clip: AudioClip) -> MixSnapshot:
    """A copy of `snapshot` where track `index` plays `clip` instead: choosing another take while playing."""
    sources = list(snapshot.sources)
    sources[index] = stream_samples(clip, snapshot.sample_rate)
    frames = max(source.shape[1] for source in sources)
    return MixSnapshot(tuple(sources), snapshot.gains, frames, snapshot.sample_rate)


def empty_snapshot(sample_rate: int) -> MixSnapshot:
    """A snapshot with no tracks: the callback outputs silence."""
    return MixSnapshot((), _frozen_gains((), 0.0), 0, int(sample_rate))
