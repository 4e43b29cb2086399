"""`TrackList`: the four `TrackRow`s stacked in a scroll area, with their lanes linked to the reference time axis."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea, QStyle, QVBoxLayout, QWidget

from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.gui.reference_lane import RIGHT_GUTTER
from musicsim_gui.gui.track_row import TrackRow


class TrackList(QScrollArea):
    """Scrollable column of one `TrackRow` per instrument (`rows[name]`)."""

    def __init__(self, timeline, parent=None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        # The scroll bar takes room the reference lane does not have: lanes shrink their gutter to match.
        gutter = RIGHT_GUTTER - self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.rows: dict[str, TrackRow] = {}
        for instrument in INSTRUMENTS:
            row = TrackRow(instrument, gutter)
            row.lane.link_to(timeline)
            self.rows[instrument] = row
            layout.addWidget(row)
        layout.addStretch(1)
        self.setWidget(body)

    def set_playhead(self, seconds: float) -> None:
        for row in self.rows.values():
            row.lane.set_playhead(seconds)

    def set_focus_row(self, instrument: str) -> None:
        for name, row in self.rows.items():
            row.set_focused(name == instrument)
        self.ensureWidgetVisible(self.rows[instrument], 0, 0)
