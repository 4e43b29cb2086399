"""Spleeter's signal path around the network, in NumPy: framing, STFT, masks, inverse STFT.

Architecture (matches the original TensorFlow graph for a waveform `[2, N]` at 44.1 kHz):
1. One frame of zeros (`frame_length` samples) is prepended; frames of `frame_length` samples every
   `frame_step` are taken with the end zero-padded (`ceil((N + L) / H)` frames), windowed by a periodic
   Hann window and transformed with a real FFT of `frame_length` points.
2. Frames are grouped in segments of `T` (the last one padded with zero frames); the network sees the
   magnitude of the first `F` bins of each segment and returns ratio masks for them. Segments are
   independent, so they are processed one at a time: memory stays at one segment plus the outputs.
3. Bins above `F` get the extension mask (zeros, or the mean mask over bins); mask × complex spectrum is
   inverted by windowed overlap-add scaled by 2/3 (the Hann² overlap at 75 %), and the prepended frame
   is cropped away.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.fft

from musicsim_gui.core.errors import CancelledError
from musicsim_gui.separation.spleeter.config import SpleeterConfig

WINDOW_COMPENSATION = 2.0 / 3.0
MaskFn = Callable[[np.ndarray], np.ndarray]
"""magnitude float32 `[1, 2, T, F]` → ratio masks float32 `[1, S, 2, T, F]`."""


def hann(length: int) -> np.ndarray:
    """Periodic Hann window `[length]`, float32."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)).astype(np.float32)


def frame_count(samples: int, config: SpleeterConfig) -> int:
    """STFT frames Spleeter computes for `samples` input samples (one zero frame prepended, end padded)."""
    return -(-(samples + config.frame_length) // config.frame_step)


def padded_signal(x: np.ndarray, config: SpleeterConfig) -> np.ndarray:
    """`[C, N]` → `[C, (frames - 1) * H + L]`: a zero frame in front, zeros at the end for the last frame."""
    frames = frame_count(x.shape[-1], config)
    total = (frames - 1) * config.frame_step + config.frame_length
    out = np.zeros((x.shape[0], total), dtype=np.float32)
    out[:, config.frame_length:config.frame_length + x.shape[-1]] = x
    return out


def spectrum(padded: np.ndarray, first: int, count: int, config: SpleeterConfig) -> np.ndarray:
    """Complex64 `[C, count, bins]` of frames `first … first + count - 1` of a `padded_signal`."""
    length, step = config.frame_length, config.frame_step
    span = padded[:, first * step:(first + count - 1) * step + length]
    frames = np.lib.stride_tricks.sliding_window_view(span, length, axis=-1)[:, ::step]
    return scipy.fft.rfft(frames * hann(length), axis=-1).astype(np.complex64, copy=False)


def extend_masks(masks: np.ndarray, config: SpleeterConfig) -> np.ndarray:
    """Masks `[..., F]` → `[..., bins]` with Spleeter's extension above bin F."""
    extra = config.bins - masks.shape[-1]
    if config.mask_extension == "average":
        row = masks.mean(axis=-1, keepdims=True)
    elif config.mask_extension == "zeros":
        row = np.zeros_like(masks[..., :1])
    else:
        raise ValueError(f"unknown mask extension {config.mask_extension!r}")
    return np.concatenate([masks, np.repeat(row, extra, axis=-1)], axis=-1)


def overlap_add(out: np.ndarray, spec: np.ndarray, first: int, config: SpleeterConfig) -> None:
    """Add the windowed inverse FFT of frames `spec [C, count, bins]` starting at frame `first` into `out`."""
    length, step = config.frame_length, config.frame_step
    frames = scipy.fft.irfft(spec, n=length, axis=-1).astype(np.float32, copy=False) * hann(length)
    for index in range(frames.shape[1]):
        start = (first + index) * step
        out[:, start:start + length] += frames[:, index]


def separate_waveform(x: np.ndarray, mask_fn: MaskFn, config: SpleeterConfig,
                      progress: Callable[[float, str], None] | None = None,
                      cancel: Callable[[], bool] | None = None) -> dict[str, np.ndarray]:
    """Separate stereo `x [2, N]` (float32, `config.sample_rate`) into `{instrument: [2, N]}`."""
    padded = padded_signal(np.asarray(x, dtype=np.float32), config)
    frames = frame_count(x.shape[-1], config)
    segments = -(-frames // config.T)
    outputs = {name: np.zeros_like(padded) for name in config.instruments}
    for segment in range(segments):
        if cancel is not None and cancel():
            raise CancelledError("the separation")
        first = segment * config.T
        count = min(config.T, frames - first)
        spec = spectrum(padded, first, count, config)                          # [C, count, bins]
        magnitude = np.zeros((1, x.shape[0], config.T, config.F), dtype=np.float32)
        magnitude[0, :, :count] = np.abs(spec[:, :, :config.F])
        masks = extend_masks(mask_fn(magnitude)[0, :, :, :count], config)     # [S, C, count, bins]
        for index, name in enumerate(config.instruments):
            overlap_add(outputs[name], masks[index].astype(np.complex64) * spec, first, config)
        if progress is not None:
            progress((segment + 1) / segments, f"segment {segment + 1} of {segments}")
    start, stop = config.frame_length, config.frame_length + x.shape[-1]
    for out in outputs.values():
        out *= np.float32(WINDOW_COMPENSATION)              # in place: one buffer per stem at peak
    return {name: out[:, start:stop] for name, out in outputs.items()}
