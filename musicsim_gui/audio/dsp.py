"""Sample-rate conversion, channel layout changes and fixed-length chunking of AudioClips.

Resampling uses soxr at 'HQ' quality (the same converter and setting as `librosa.load`'s default
`soxr_hq`); long channels are cut into overlapping pieces at whole periods of the rate ratio and converted
in parallel on a shared thread pool (soxr releases the GIL). Every function returns a new clip and keeps the
source label.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import soxr

from musicsim_gui.audio.clip import AudioClip

_RESAMPLE_MIN_PIECE = 1 << 20  # samples per channel below which a channel is converted in one piece
_RESAMPLE_OVERLAP = 8192  # input samples of context on each side of a cut (the HQ filter needs far fewer)
_RESAMPLE_MAX_PERIOD = 1024  # ratios with longer periods (e.g. 44100 -> 44101) are not phase-exact: one pass


def resample(clip: AudioClip, rate: int) -> AudioClip:
    """Convert `clip` to `rate` Hz with soxr HQ; returns the clip itself when the rate already matches.

    The result has `round(frames * rate / clip.sample_rate)` frames per channel.
    """
    rate = int(rate)
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, got {rate}")
    if rate == clip.sample_rate:
        return clip
    if clip.frames == 0:
        return AudioClip(np.zeros((clip.channels, 0), np.float32), rate, clip.source)
    pieces = _pieces(clip.frames, clip.sample_rate, rate)
    if len(pieces) == 1:
        rows = [soxr.resample(channel, clip.sample_rate, rate, quality="HQ") for channel in clip.samples]
        return AudioClip(np.stack(rows), rate, clip.source)
    jobs = [[thread_pool().submit(_resample_piece, channel, clip.sample_rate, rate, piece) for piece in pieces]
            for channel in clip.samples]
    rows = [np.concatenate([job.result() for job in channel_jobs]) for channel_jobs in jobs]
    return AudioClip(np.stack(rows), rate, clip.source)


def _pieces(frames: int, source_rate: int, rate: int) -> list[tuple[int, int, int, int]]:
    """Cut `[0, frames)` into one piece per core at multiples of the rate ratio's period.

    Returns `(read_start, read_stop, skip, keep)` per piece: resample input `[read_start, read_stop)` (the piece
    with `_RESAMPLE_OVERLAP` margins), drop the first `skip` output samples, keep `keep` (-1: to the end).
    Because the converter is linear and time-invariant and every cut falls on a whole period, the stitched
    output equals a single pass to float rounding.
    """
    divisor = math.gcd(source_rate, rate)
    period_in, period_out = source_rate // divisor, rate // divisor
    count = min(cores(), frames // _RESAMPLE_MIN_PIECE)
    margin = -(-_RESAMPLE_OVERLAP // period_in) * period_in
    if count < 2 or period_in > _RESAMPLE_MAX_PERIOD:
        return [(0, frames, 0, -1)]
    cuts = [0] + [(frames * part // count) // period_in * period_in for part in range(1, count)] + [frames]
    pieces = []
    for index in range(count):
        read_start = max(cuts[index] - margin, 0)
        keep = (cuts[index + 1] - cuts[index]) // period_in * period_out if index < count - 1 else -1
        pieces.append((read_start, min(cuts[index + 1] + margin, frames),
                       (cuts[index] - read_start) // period_in * period_out, keep))
    return pieces


def _resample_piece(channel: np.ndarray, source_rate: int, rate: int, piece: tuple[int, int, int, int]) -> np.ndarray:
    read_start, read_stop, skip, keep = piece
    out = soxr.resample(channel[read_start:read_stop], source_rate, rate, quality="HQ")
    return out[skip:] if keep < 0 else out[skip:skip + keep]


_POOL_PREFIX = "audio-dsp"


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@functools.lru_cache(maxsize=1)
def thread_pool() -> ThreadPoolExecutor:
    """A process-wide pool with one thread per core for GIL-releasing array work (soxr, NumPy, pocketfft)."""
    return ThreadPoolExecutor(max_workers=_cores(), thread_name_prefix=_POOL_PREFIX)


if hasattr(os, "register_at_fork"):  # a forked child has none of the parent's threads: build a new pool there
    os.register_at_fork(after_in_child=thread_pool.cache_clear)


def cores() -> int:
    """How many pieces to split parallel work into: the cores this process may use, or 1 on a pool thread.

    Work already running on the pool stays on its thread, so pool tasks never wait on each other.
    """
    return 1 if threading.current_thread().name.startswith(_POOL_PREFIX) else _cores()


def to_channels(clip: AudioClip, channels: int) -> AudioClip:
    """Up- or down-mix `clip` to `channels` channels.

    Rules: to mono, the mean of all channels; from mono, the channel is copied to every output; from more
    channels to fewer, input channel i is averaged into output i % channels; from fewer (but > 1) to more,
    output j copies input j % C.
    """
    if channels < 1:
        raise ValueError(f"channel count must be at least 1, got {channels}")
    source = clip.samples
    count = clip.channels
    if channels == count:
        return clip
    if channels == 1:
        mixed = _channel_mean(source)
    elif count == 1:
        mixed = np.repeat(source, channels, axis=0)
    elif count > channels:
        mixed = np.zeros((channels, clip.frames), dtype=np.float32)
        for index in range(count):
            mixed[index % channels] += source[index]
        mixed /= np.bincount(np.arange(count) % channels, minlength=channels).astype(np.float32)[:, None]
    else:
        mixed = source[np.arange(channels) % count]
    return AudioClip(mixed, clip.sample_rate, clip.source)


def _channel_mean(source: np.ndarray) -> np.ndarray:
    """The mean of the rows of `[C, T]` as `[1, T]`: rows summed in order, then divided by C.

    The same arithmetic as `np.mean(axis=0)` (so values equal librosa's mono down-mix), in two passes.
    """
    mixed = source[0:1].copy()
    for row in source[1:]:
        mixed[0] += row
    if source.shape[0] > 1:
        mixed /= np.float32(source.shape[0])
    return mixed


def to_mono(clip: AudioClip) -> AudioClip:
    """The mean of all channels, as a one-channel clip `[1, T]`."""
    return to_channels(clip, 1)


def fit_length(clip: AudioClip, frames: int) -> AudioClip:
    """Cut `clip` to `frames` frames, or pad it with trailing zeros up to that length."""
    frames = int(frames)
    if frames < 0:
        raise ValueError(f"frame count must be non-negative, got {frames}")
    if frames == clip.frames:
        return clip
    if frames < clip.frames:
        return AudioClip(clip.samples[:, :frames], clip.sample_rate, clip.source)
    padded = np.zeros((clip.channels, frames), dtype=np.float32)
    padded[:, :clip.frames] = clip.samples
    return AudioClip(padded, clip.sample_rate, clip.source)


def chunk(clip: AudioClip, seconds: float = 30.0) -> list[AudioClip]:
    """Split `clip` into consecutive chunks of `seconds` each; the last one is zero-padded to full length.

    Returns:
        `ceil(frames / chunk_frames)` clips of `round(seconds * sample_rate)` frames (none for an empty clip).
    """
    size = int(round(seconds * clip.sample_rate))
    if size <= 0:
        raise ValueError(f"chunk length must be at least one frame, got {seconds} s")
    count = math.ceil(clip.frames / size)
    chunks = []
    for index in range(count):
        piece = AudioClip(clip.samples[:, index * size:(index + 1) * size], clip.sample_rate, clip.source)
        chunks.append(fit_length(piece, size))
    return chunks
