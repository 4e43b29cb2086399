"""Min/max peak pyramids: draw a waveform of any length at any zoom by touching only a screen's worth of values.

Architecture:
1. Level 0 is the samples themselves; level k holds the minimum and maximum of each block of
   `factor ** k` samples, built from level k - 1 (so building costs about one pass over the audio).
2. `envelope(start, stop, columns)` picks the coarsest level whose block is no wider than one screen
   column, then reduces that level over each column's range with `np.minimum/maximum.reduceat`.
   The work per call is proportional to the columns drawn, not to the samples in view.
"""

from __future__ import annotations

import numpy as np

DEFAULT_FACTOR = 16


def _reduce(values: np.ndarray, ufunc: np.ufunc, factor: int) -> np.ndarray:
    """Reduce `[C, n]` with `ufunc` over consecutive blocks of `factor` along the last axis (a short last block)."""
    channels, length = values.shape
    whole = length // factor
    blocks = values[:, :whole * factor].reshape(channels, whole, factor)
    while blocks.shape[2] % 2 == 0:  # halving element-wise is twice as fast as reducing short rows
        blocks = ufunc(blocks[..., 0::2], blocks[..., 1::2])
    reduced = np.ascontiguousarray(blocks[..., 0]) if blocks.shape[2] == 1 else ufunc.reduce(blocks, axis=2)
    if length % factor:
        tail = ufunc.reduce(values[:, whole * factor:], axis=1, keepdims=True)
        reduced = np.concatenate([reduced, tail], axis=1)
    return reduced


class PeakPyramid:
    """Min/max summaries of audio `[C, T]` (or `[T]`) at block sizes 1, factor, factor**2, ...

    Attributes:
        frames: T, the number of samples per channel.
        factor: the block-size ratio between consecutive levels.
        levels: `(block_size, mins [C, n], maxs [C, n])` per level, finest first.
    """

    def __init__(self, samples: np.ndarray, factor: int = DEFAULT_FACTOR) -> None:
        data = np.asarray(samples, dtype=np.float32)
        self._mono = data.ndim == 1
        data = data[np.newaxis, :] if self._mono else data
        if data.ndim != 2:
            raise ValueError(f"samples must be [T] or [C, T], got shape {np.shape(samples)}")
        if factor < 2:
            raise ValueError(f"factor must be at least 2, got {factor}")
        self.factor = int(factor)
        self.frames = int(data.shape[1])
        self.levels: list[tuple[int, np.ndarray, np.ndarray]] = [(1, data, data)]
        block, mins, maxs = 1, data, data
        while mins.shape[1] > self.factor:
            mins = _reduce(mins, np.minimum, self.factor)
            maxs = _reduce(maxs, np.maximum, self.factor)
            block *= self.factor
            self.levels.append((block, mins, maxs))

    @property
    def channels(self) -> int:
        return int(self.levels[0][1].shape[0])

    def _level_for(self, samples_per_column: float) -> tuple[int, np.ndarray, np.ndarray]:
        chosen = self.levels[0]
        for level in self.levels:
            if level[0] <= samples_per_column:
                chosen = level
        return chosen

    def envelope(self, start: float, stop: float, columns: int) -> tuple[np.ndarray, np.ndarray]:
        """Per-column minimum and maximum of samples `[start, stop)` split into `columns` equal columns.

        Args:
            start, stop: the visible range in samples (may extend beyond the audio).
            columns: the number of screen columns (pixels).
        Returns:
            (mins, maxs), float32 `[C, columns]` (`[columns]` for 1-D input); columns outside the audio are 0.
        """
        columns = int(columns)
        mins = np.zeros((self.channels, max(columns, 0)), dtype=np.float32)
        maxs = np.zeros_like(mins)
        if columns > 0 and stop > start and self.frames > 0:
            self._fill(float(start), float(stop), mins, maxs)
        return (mins[0], maxs[0]) if self._mono else (mins, maxs)

    def _fill(self, start: float, stop: float, mins: np.ndarray, maxs: np.ndarray) -> None:
        columns = mins.shape[1]
        edges = start + (stop - start) * np.arange(columns + 1) / columns
        inside = np.flatnonzero((edges[:-1] < self.frames) & (edges[1:] > 0))
        if inside.size == 0:
            return
        block, level_mins, level_maxs = self._level_for((stop - start) / columns)
        bounds = np.clip(edges[np.append(inside, inside[-1] + 1)], 0, self.frames) / block
        last = int(np.ceil(bounds[-1]))
        first = np.minimum(np.floor(bounds).astype(np.int64), last - 1)
        # the block straddling a column's right edge belongs partly to it: fold it in too
        straddle = np.minimum(first[1:], last - 1)
        partial = (bounds[1:] > first[1:])[np.newaxis, :]
        for ufunc, level, out in ((np.minimum, level_mins, mins), (np.maximum, level_maxs, maxs)):
            reduced = ufunc.reduceat(level[:, :last], first[:-1], axis=1)
            out[:, inside] = np.where(partial, ufunc(reduced, level[:, straddle]), reduced)
