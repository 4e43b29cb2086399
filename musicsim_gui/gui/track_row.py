"""`TrackRow`: a track header and its take lanes side by side, the same height, focusable as one."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QWidget

from musicsim_gui.gui import theme
from musicsim_gui.gui.take_lane import LaneRow, TakeLane
from musicsim_gui.gui.track_header import TrackHeader
from musicsim_gui.gui.track_state import TrackState


class TrackRow(QWidget):
    """One instrument's row in the track list: `header` (controls) and `lane` (stem and takes)."""

    focused = Signal(str)

    def __init__(self, instrument: str, gutter: int, parent=None) -> None:
        super().__init__(parent)
        self.instrument = instrument
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 1)
        layout.setSpacing(0)
        self.header = TrackHeader(instrument)
        self.lane = TakeLane(theme.TRACK_COLOURS.get(instrument, theme.WAVEFORM), gutter)
        layout.addWidget(self.header)
        layout.addWidget(self.lane, 1)
        self.header.focused.connect(lambda: self.focused.emit(self.instrument))
        self.lane.row_clicked.connect(lambda _row: self.focused.emit(self.instrument))
        self._labels: tuple[str, ...] = ()

    def show_state(self, state: TrackState) -> bool:
        """Display `state` in the header and the lane; True when the lane's rows were rebuilt (their
        waveforms must then be supplied again)."""
        self.header.show_state(state)
        rebuilt = state.row_labels != self._labels
        if rebuilt:
            self._labels = state.row_labels
            self.lane.set_rows([LaneRow(label, tip) for label, tip in
                                zip(state.row_labels, state.row_tooltips, strict=True)])
        self.lane.set_active_row(state.active_row)
        self.header.setFixedHeight(self.lane.height())
        return rebuilt

    def set_focused(self, focused: bool) -> None:
        self.header.set_focused(focused)
