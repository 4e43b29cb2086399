"""`TransportBar`: the tool bar with home, play/pause, stop and loop, the clock, bars:beats, engine health and meters.

The buttons are the window's shared actions (so menus and shortcuts stay in step); this bar adds the
read-outs, which the display timer updates through `show_position`, `show_engine` and `meter`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QSlider, QToolBar, QWidget

from musicsim_gui.gui import theme
from musicsim_gui.gui.level_meter import LevelMeter
from musicsim_gui.gui.timefmt import bars_beats, clock, gain_text

MASTER_RANGE_DB = (-60.0, 12.0)


class TransportBar(QToolBar):
    """Transport buttons and read-outs; see the module docstring.

    The master fader emits `master_previewed(dB)` while dragged and `master_committed(dB)` on release.
    """

    master_previewed = Signal(float)
    master_committed = Signal(float)

    def __init__(self, actions, parent: QWidget | None = None) -> None:
        super().__init__("Transport", parent)
        self.setObjectName("TransportBar")
        self.setMovable(False)
        for action in actions:
            self.addAction(action)
        self.addSeparator()
        self.clock_label = QLabel(clock(0.0))
        self.clock_label.setObjectName("Clock")
        self.clock_label.setToolTip("Position (minutes:seconds.milliseconds)")
        self.bars_label = QLabel("bar -.-")
        self.bars_label.setToolTip("Position in bars and beats (4/4, from the project tempo)")
        self.engine_label = QLabel("audio: off")
        self.engine_label.setObjectName("Dim")
        self.meter = LevelMeter()
        self.meter.setFixedWidth(180)
        for widget in (self.clock_label, self.bars_label):
            self.addWidget(widget)
        self.addSeparator()
        self.addWidget(self.engine_label)
        self.addSeparator()
        self.addWidget(self.meter)
        self.addSeparator()
        self._add_master()
        self._last_clock: tuple = ()

    def _add_master(self) -> None:
        self.master_slider = QSlider(Qt.Orientation.Horizontal)
        self.master_slider.setRange(int(MASTER_RANGE_DB[0] * 10), int(MASTER_RANGE_DB[1] * 10))
        self.master_slider.setFixedWidth(130)
        self.master_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.master_slider.setToolTip("Master gain (dB)")
        self.master_label = QLabel(gain_text(0.0))
        self.master_label.setMinimumWidth(62)
        self.addWidget(QLabel(" Master "))
        self.addWidget(self.master_slider)
        self.addWidget(self.master_label)
        self.master_slider.valueChanged.connect(self._master_moved)
        self.master_slider.sliderReleased.connect(
            lambda: self.master_committed.emit(self.master_slider.value() / 10))

    def _master_moved(self, value: int) -> None:
        self.master_label.setText(gain_text(value / 10))
        if self.master_slider.isSliderDown():
            self.master_previewed.emit(value / 10)

    def show_master(self, gain_db: float) -> None:
        """Show the project's master gain without emitting anything."""
        if self.master_slider.isSliderDown():
            return
        self.master_slider.blockSignals(True)
        self.master_slider.setValue(int(round(gain_db * 10)))
        self.master_slider.blockSignals(False)
        self.master_label.setText(gain_text(gain_db))

    def show_position(self, seconds: float, tempo_bpm: float | None, first_downbeat: float = 0.0) -> None:
        """Update the clock and the bars:beats read-out (bar 1 starts at `first_downbeat` seconds)."""
        text = clock(seconds)
        if (text, tempo_bpm, first_downbeat) != self._last_clock:
            self._last_clock = (text, tempo_bpm, first_downbeat)
            self.clock_label.setText(text)
            self.bars_label.setText(f"bar {bars_beats(seconds, tempo_bpm, first_downbeat=first_downbeat)}")

    def show_engine(self, text: str, ok: bool, tooltip: str = "") -> None:
        """Show the engine's health: load and underruns, or why there is no sound."""
        colour = theme.MUTED_TEXT if ok else theme.ERROR
        self.engine_label.setText(f"<span style='color:{colour}'>{text}</span>")
        self.engine_label.setToolTip(tooltip or text)
