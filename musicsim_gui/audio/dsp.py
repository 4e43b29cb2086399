"""Sample-rate conversion, channel layout changes and fixed-length chunking of AudioClips.

Resampling uses soxr at 'HQ' quality (the same converter and setting as `librosa.load`'s default
`soxr_hq`). Every function returns a new clip and keeps the source label.
"""

from __future__ import annotations

import math

import numpy as np
import soxr

from musicsim_gui.audio.clip import AudioClip


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
    rows = [soxr.resample(channel, clip.sample_rate, rate, quality="HQ") for channel in clip.samples]
    return AudioClip(np.stack(rows), rate, clip.source)


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
        mixed = source.mean(axis=0, keepdims=True, dtype=np.float32)
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
