"""`PeakWaveform`: a waveform drawn from a min/max peak pyramid, re-sampled to the visible time range.

Architecture:
1. The pyramid (`audio.peaks.PeakPyramid`) answers `envelope(start, stop, columns)` in samples, so drawing
   costs O(pixels), not O(samples), at any zoom.
2. On every x-range change of its ViewBox the item asks for one (min, max) pair per pixel column of the
   visible part and draws them as a vertical zig-zag, which reads as a filled waveform.
3. A lane places the waveform in a band of its own y units: `y = offset + 0.5 + value * scale / 2`.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

CLIP_Y = 1.0


class PeakWaveform:
    """Draw `pyramid` (audio at `sample_rate` Hz) into `viewbox` within the band [offset, offset + 1]."""

    def __init__(self, viewbox: pg.ViewBox, pyramid, frames: int, sample_rate: int, colour: str,
                 offset: float = 0.0, scale: float = 0.9) -> None:
        self.viewbox = viewbox
        self.pyramid = pyramid
        self.frames = int(frames)
        self.sample_rate = int(sample_rate)
        self.offset = offset
        self.scale = scale
        self.curve = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1), antialias=False, skipFiniteCheck=True)
        viewbox.addItem(self.curve)
        viewbox.sigXRangeChanged.connect(self.refresh)
        viewbox.sigResized.connect(self.refresh)
        self.refresh()

    def detach(self) -> None:
        """Remove the curve from its ViewBox and stop following the view."""
        self.viewbox.sigXRangeChanged.disconnect(self.refresh)
        self.viewbox.sigResized.disconnect(self.refresh)
        self.viewbox.removeItem(self.curve)

    def refresh(self, *_args) -> None:
        """Re-sample the envelope for the visible seconds at one column per screen pixel."""
        (x0, x1), _ = self.viewbox.viewRange()
        start = max(0, int(x0 * self.sample_rate))
        stop = min(self.frames, int(np.ceil(x1 * self.sample_rate)))
        columns = int(min(max(self.viewbox.width(), 1), 4096))
        if stop - start < 2:
            self.curve.setData([], [])
            return
        columns = min(columns, stop - start)
        mins, maxs = self.pyramid.envelope(start, stop, columns)
        if mins.ndim == 2:  # [C, columns]: draw the envelope of all channels together
            mins, maxs = mins.min(axis=0), maxs.max(axis=0)
        times = start / self.sample_rate + (np.arange(columns) + 0.5) * ((stop - start) / columns / self.sample_rate)
        x = np.repeat(times.astype(np.float64), 2)
        y = np.empty(2 * columns, dtype=np.float64)
        y[0::2] = np.clip(mins, -CLIP_Y, CLIP_Y)
        y[1::2] = np.clip(maxs, -CLIP_Y, CLIP_Y)
        y = self.offset + 0.5 - y * (self.scale / 2)
        self.curve.setData(x, y)
