"""Chunked processing with cross-faded overlap-add, so a 10-minute song needs the memory of one chunk.

Architecture:
1. `chunk_spans(total, chunk, overlap)` cuts `[0, total)` into spans of `chunk` samples that overlap by
   `overlap`; the last span ends exactly at `total` (it may be shorter, never shorter than the overlap).
2. `crossfade_weights` gives each span a raised-cosine fade-in/out over the overlaps; the weights of two
   neighbouring spans sum to exactly 1, so an identity process reconstructs the input and there is no
   step (click) at a boundary.
3. `overlap_add` runs a function on each span (checking `cancel` and reporting `progress` between spans)
   and accumulates its weighted outputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from musicsim_gui.core.errors import CancelledError

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


def chunk_spans(total: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    """`(start, stop)` sample spans covering `[0, total)`; consecutive spans overlap by `overlap` samples."""
    if not 0 <= overlap < chunk:
        raise ValueError(f"overlap ({overlap}) must be in [0, chunk={chunk})")
    spans, start = [], 0
    while True:
        stop = min(start + chunk, total)
        spans.append((start, stop))
        if stop >= total:
            return spans
        start = stop - overlap


def crossfade_weights(length: int, overlap: int, fade_in: bool, fade_out: bool) -> np.ndarray:
    """float32 `[length]` weights: ones, with sin² fade-in / cos² fade-out ramps of `overlap` samples."""
    weights = np.ones(length, dtype=np.float32)
    if overlap:
        ramp = np.sin(0.5 * np.pi * (np.arange(overlap) + 0.5) / overlap) ** 2
        if fade_in:
            weights[:overlap] = ramp
        if fade_out:
            weights[-overlap:] *= ramp[::-1]
    return weights


def overlap_add(samples: np.ndarray, process: Callable[[np.ndarray], dict[str, np.ndarray]],
                chunk: int, overlap: int, progress: ProgressFn | None = None,
                cancel: CancelFn | None = None) -> dict[str, np.ndarray]:
    """Run `process([C, n]) -> {name: [C, n]}` on overlapping chunks of `samples [C, T]` and cross-fade them.

    Returns `{name: float32 [C, T]}`. Raises CancelledError if `cancel()` turns true between chunks.
    """
    total = samples.shape[-1]
    spans = chunk_spans(total, chunk, overlap)
    outputs: dict[str, np.ndarray] = {}
    for index, (start, stop) in enumerate(spans):
        if cancel is not None and cancel():
            raise CancelledError("the separation")
        parts = process(samples[:, start:stop])
        weights = crossfade_weights(stop - start, overlap, index > 0, index < len(spans) - 1)
        for name, part in parts.items():
            if name not in outputs:
                outputs[name] = np.zeros((samples.shape[0], total), dtype=np.float32)
            outputs[name][:, start:stop] += part * weights
        if progress is not None:
            progress((index + 1) / len(spans), f"chunk {index + 1} of {len(spans)}")
    return outputs
