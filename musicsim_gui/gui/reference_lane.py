"""`ReferenceLane`: the reference song as a ruler, a waveform overview and a mel spectrogram on one time axis.

Architecture:
1. A `ReferenceHeader` on the left; on the right one pyqtgraph layout with three rows sharing x (seconds):
   the ruler (drag = loop region), the waveform (min/max peaks) and the mel spectrogram with a colour bar.
2. The spectrogram is an `ImageItem(axisOrder="row-major")` over float32 dB `[n_mels, frames]`, fixed levels
   and a 256-entry LUT; its y axis is mel-bin index, labelled in Hz.
3. The playhead is one `InfiniteLine` per row, moved with `setPos` by the display timer.
4. The lane's main ViewBox (`timeline`) is what the take lanes link their x axis to.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QHBoxLayout, QWidget

from musicsim_gui.gui import theme
from musicsim_gui.gui.reference_header import ReferenceHeader
from musicsim_gui.gui.time_axis import TimeAxis
from musicsim_gui.gui.timeline_viewbox import TimelineViewBox
from musicsim_gui.gui.waveform_item import PeakWaveform

LEFT_AXIS_WIDTH = 56
RIGHT_GUTTER = 80
DB_RANGE = (-80.0, 0.0)
COLOUR_MAP = "inferno"


def make_lane_plot(viewbox: TimelineViewBox, bottom_axis: bool = False) -> pg.PlotItem:
    """A PlotItem on `viewbox` with a fixed-width left axis, so every lane's x pixels line up."""
    axes = {"bottom": TimeAxis("bottom")} if bottom_axis else {}
    plot = pg.PlotItem(viewBox=viewbox, axisItems=axes)
    plot.hideButtons()
    plot.setMenuEnabled(False)
    plot.getAxis("left").setWidth(LEFT_AXIS_WIDTH)
    if not bottom_axis:
        plot.hideAxis("bottom")
    return plot


class ReferenceLane(QWidget):
    """The reference row; see the module docstring. Emits seeks and loop edits; draws what it is given."""

    seek_requested = Signal(float)
    loop_edited = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.header = ReferenceHeader()
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumHeight(260)
        layout.addWidget(self.header)
        layout.addWidget(self.graphics, 1)
        self.duration = 0.0
        self.waveform: PeakWaveform | None = None
        self._build_plots()

    def _build_plots(self) -> None:
        grid = self.graphics.ci
        grid.setSpacing(0)
        grid.setContentsMargins(0, 4, 0, 8)
        self.ruler_box = TimelineViewBox(ruler=True)
        self.ruler = make_lane_plot(self.ruler_box)
        self.ruler.setAxisItems({"top": TimeAxis("top")})
        self.ruler.showAxis("top")
        self.ruler.getAxis("left").setTicks([[(0.5, "loop")]])
        self.ruler.getAxis("left").setStyle(tickLength=0)
        self.ruler.getAxis("left").setToolTip("Drag along the ruler to set the loop region")
        self.ruler.setFixedHeight(34)
        self.wave_box = TimelineViewBox()
        self.wave_box.invertY(True)
        self.wave = make_lane_plot(self.wave_box)
        self.wave.getAxis("left").setTicks([[(0.5, "wave")]])
        self.wave.setFixedHeight(64)
        self.timeline = TimelineViewBox()
        self.spectrum = make_lane_plot(self.timeline, bottom_axis=True)
        self.spectrum.setLabel("left", "Hz")
        grid.addItem(self.ruler, row=0, col=0)
        grid.addItem(self.wave, row=1, col=0)
        grid.addItem(self.spectrum, row=2, col=0)
        for box in (self.ruler_box, self.wave_box):
            box.setXLink(self.timeline)
            box.setYRange(0, 1, padding=0)
        self._build_image(grid)
        self._build_markers()
        for box in (self.ruler_box, self.wave_box, self.timeline):
            box.sigClicked.connect(lambda x, _y: self.seek_requested.emit(max(0.0, x)))
        self.ruler_box.sigRangeDragged.connect(self._on_ruler_drag)

    def _build_image(self, grid) -> None:
        self.image = pg.ImageItem(axisOrder="row-major")
        colour_map = pg.colormap.get(COLOUR_MAP)
        self.image.setLookupTable(colour_map.getLookupTable(nPts=256))
        self.image.setLevels(DB_RANGE)
        self.timeline.addItem(self.image)
        self.colour_bar = pg.ColorBarItem(values=DB_RANGE, colorMap=colour_map, interactive=False, width=14,
                                          label="dB")
        self.colour_bar.setImageItem(self.image)
        grid.addItem(self.colour_bar, row=2, col=1)
        grid.layout.setColumnFixedWidth(1, RIGHT_GUTTER)

    def _build_markers(self) -> None:
        pen = pg.mkPen(theme.PLAYHEAD, width=1.5)
        self.playheads = [pg.InfiniteLine(pos=0.0, angle=90, pen=pen, movable=False)
                          for _ in range(3)]
        for box, line in zip((self.ruler_box, self.wave_box, self.timeline), self.playheads, strict=True):
            box.addItem(line, ignoreBounds=True)
        brush = pg.mkBrush(*theme.LOOP_FILL)
        self.loop_region = pg.LinearRegionItem(values=(0, 0), brush=brush, movable=True)
        self.loop_region.setZValue(-5)
        self.loop_region.hide()
        self.loop_region.sigRegionChangeFinished.connect(self._on_region_moved)
        self.ruler_box.addItem(self.loop_region, ignoreBounds=True)
        shade = pg.mkBrush(*theme.LOOP_SHADE)
        self.loop_shades = [pg.LinearRegionItem(values=(0, 0), brush=shade, movable=False) for _ in range(2)]
        for box, region in zip((self.wave_box, self.timeline), self.loop_shades, strict=True):
            region.setZValue(5)  # over the spectrogram image, which is opaque
            region.hide()
            box.addItem(region, ignoreBounds=True)

    def set_duration(self, seconds: float) -> None:
        """Fit the time axis to a song `seconds` long and bound scrolling to it."""
        self.duration = max(float(seconds), 0.1)
        for box in (self.ruler_box, self.wave_box, self.timeline):
            box.setLimits(xMin=0.0, xMax=self.duration, minXRange=0.05)
        self.timeline.setXRange(0.0, self.duration, padding=0)

    def set_waveform(self, pyramid, frames: int, sample_rate: int) -> None:
        """Draw the reference waveform from its peak pyramid (audio `frames` long at `sample_rate` Hz)."""
        if self.waveform is not None:
            self.waveform.detach()
        self.waveform = PeakWaveform(self.wave_box, pyramid, frames, sample_rate, theme.WAVEFORM)

    def set_spectrogram(self, decibels, duration: float, hz_ticks: list[tuple[float, str]]) -> None:
        """Show a mel spectrogram: float32 dB `[n_mels, frames]` spanning `duration` seconds.

        `hz_ticks` are (mel-bin position, label) pairs for the frequency axis.
        """
        n_mels = decibels.shape[0]
        self.image.setImage(decibels, autoLevels=False, levels=DB_RANGE)
        self.image.setRect(QRectF(0.0, 0.0, duration, float(n_mels)))
        self.timeline.setYRange(0, n_mels, padding=0)
        self.timeline.setLimits(yMin=0, yMax=n_mels)
        self.spectrum.getAxis("left").setTicks([hz_ticks])

    def set_playhead(self, seconds: float) -> None:
        for line in self.playheads:
            line.setPos(seconds)

    def set_loop(self, start: float, end: float, enabled: bool) -> None:
        """Show the loop region [start, end] seconds (hidden when empty)."""
        visible = end > start
        for region in (self.loop_region, *self.loop_shades):
            region.blockSignals(True)
            region.setRegion((start, end))
            region.blockSignals(False)
            region.setVisible(visible)
        for region in self.loop_shades:
            region.setOpacity(1.0 if enabled else 0.35)

    def _on_ruler_drag(self, start: float, end: float, finished: bool) -> None:
        start, end = max(0.0, start), min(self.duration, end)
        self.set_loop(start, end, True)
        if finished:
            self.loop_edited.emit(start, end)

    def _on_region_moved(self) -> None:
        start, end = self.loop_region.getRegion()
        self.loop_edited.emit(max(0.0, float(start)), min(self.duration, float(end)))
