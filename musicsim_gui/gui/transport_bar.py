"""`TransportBar`: the tool bar with home, play/pause, stop and loop, the clock, bars:beats, engine health and meters.

The buttons are the window's shared actions (so menus and shortcuts stay in step); this bar adds the
read-outs, which the display timer updates through `show_position`, `show_engine` and `meter`.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QToolBar, QWidget

from musicsim_gui.gui import theme
from musicsim_gui.gui.level_meter import LevelMeter
from musicsim_gui.gui.timefmt import bars_beats, clock


class TransportBar(QToolBar):
    """Transport buttons and read-outs; see the module docstring."""

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
        self._last_clock = ""

    def show_position(self, seconds: float, tempo_bpm: float | None) -> None:
        """Update the clock and the bars:beats read-out."""
        text = clock(seconds)
        if text != self._last_clock:
            self._last_clock = text
            self.clock_label.setText(text)
            self.bars_label.setText(f"bar {bars_beats(seconds, tempo_bpm)}")

    def show_engine(self, text: str, ok: bool, tooltip: str = "") -> None:
        """Show the engine's health: load and underruns, or why there is no sound."""
        colour = theme.MUTED_TEXT if ok else theme.ERROR
        self.engine_label.setText(f"<span style='color:{colour}'>{text}</span>")
        self.engine_label.setToolTip(tooltip or text)
