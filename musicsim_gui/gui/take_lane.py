"""`TakeLane`: one track's comping lanes: the reference stem on top, then one row per take, on the shared time axis.

Architecture:
1. One pyqtgraph plot with y in row units (row 0 at the top); each row draws its waveform from a peak
   pyramid once the audio is loaded, and the left axis carries the row labels, so labels stay put while
   the time axis scrolls.
2. The row that is heard (the chosen take, or the stem when the track listens to the reference) is shaded.
3. A click on a row emits `row_clicked(row)`; the track view turns it into an undoable choice. A right
   click emits `row_menu_requested(row, screen position)` for the take's menu.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal
from PySide6.QtWidgets import QGraphicsRectItem

from musicsim_gui.gui import theme
from musicsim_gui.gui.reference_lane import RIGHT_GUTTER, make_lane_plot
from musicsim_gui.gui.timeline_viewbox import TimelineViewBox
from musicsim_gui.gui.waveform_item import PeakWaveform

ROW_PIXELS = 34
MIN_HEIGHT = 110


@dataclass(frozen=True)
class LaneRow:
    """What one row shows: a short label for the axis and a longer tooltip."""

    label: str
    tooltip: str = ""


class TakeLane(pg.GraphicsLayoutWidget):
    """The rows of one track; see the module docstring."""

    row_clicked = Signal(int)
    row_menu_requested = Signal(int, object)

    def __init__(self, colour: str, gutter: int = RIGHT_GUTTER, parent=None) -> None:
        super().__init__(parent)
        self.colour = colour
        self.rows: list[LaneRow] = []
        self.waveforms: dict[int, PeakWaveform] = {}
        self.viewbox = TimelineViewBox()
        self.viewbox.invertY(True)
        self.plot = make_lane_plot(self.viewbox)
        self.ci.setContentsMargins(0, 2, 0, 2)
        self.ci.setSpacing(0)
        self.ci.addItem(self.plot, row=0, col=0)
        self.ci.addItem(pg.GraphicsWidget(), row=0, col=1)
        self.ci.layout.setColumnFixedWidth(1, gutter)
        self.highlight = QGraphicsRectItem()
        self.highlight.setBrush(pg.mkBrush(theme.SELECTED_TAKE))
        self.highlight.setPen(pg.mkPen(None))
        self.highlight.setZValue(-10)
        self.highlight.hide()
        self.viewbox.addItem(self.highlight, ignoreBounds=True)
        self.playhead = pg.InfiniteLine(pos=0.0, angle=90, pen=pg.mkPen(theme.PLAYHEAD, width=1.5))
        self.viewbox.addItem(self.playhead, ignoreBounds=True)
        self.viewbox.sigClicked.connect(self._on_click)
        self.viewbox.sigContextMenu.connect(self._on_menu)
        self.active_row: int | None = None
        self.set_rows([LaneRow("stem")])

    def link_to(self, timeline: pg.ViewBox) -> None:
        """Follow `timeline`'s x range (seconds)."""
        self.viewbox.setXLink(timeline)

    def set_rows(self, rows: list[LaneRow]) -> None:
        """Replace the rows (labels only; waveforms arrive through `set_row_waveform`)."""
        for waveform in self.waveforms.values():
            waveform.detach()
        self.waveforms.clear()
        self.rows = list(rows)
        count = max(1, len(self.rows))
        self.viewbox.setLimits(yMin=0, yMax=count)
        self.viewbox.setYRange(0, count, padding=0)
        ticks = [(index + 0.5, row.label) for index, row in enumerate(self.rows)]
        self.plot.getAxis("left").setTicks([ticks])
        self.setFixedHeight(max(MIN_HEIGHT, count * ROW_PIXELS + 8))
        self.set_active_row(self.active_row)

    def set_row_waveform(self, row: int, pyramid, frames: int, sample_rate: int) -> None:
        """Draw row `row`'s audio from its peak pyramid."""
        if row in self.waveforms:
            self.waveforms[row].detach()
        self.waveforms[row] = PeakWaveform(self.viewbox, pyramid, frames, sample_rate, self.colour, offset=row)

    def set_active_row(self, row: int | None) -> None:
        """Shade the row that is heard (None: none is)."""
        self.active_row = row
        if row is None or row >= len(self.rows):
            self.highlight.hide()
            return
        self.highlight.setRect(QRectF(-1e6, row, 2e6, 1.0))
        self.highlight.show()

    def set_playhead(self, seconds: float) -> None:
        self.playhead.setPos(seconds)

    def _on_click(self, _x: float, y: float) -> None:
        row = int(y)
        if 0 <= row < len(self.rows):
            self.row_clicked.emit(row)

    def _on_menu(self, _x: float, y: float, screen_pos) -> None:
        row = int(y)
        if 0 <= row < len(self.rows):
            self.row_menu_requested.emit(row, screen_pos)
