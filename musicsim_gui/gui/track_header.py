"""`TrackHeader`: one track's controls: name, mute, solo, A/B, gain fader (dB), pan, rating, Regenerate, model summary.

The header only displays a `TrackState` and emits what the user asked for; the controller turns requests
into undoable commands. While the fader is dragged it emits `gain_previewed` (heard at once, not yet an
edit); on release it emits `gain_committed`, which becomes one undo step.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QToolButton

from musicsim_gui.gui import theme
from musicsim_gui.gui.reference_header import HEADER_WIDTH
from musicsim_gui.gui.star_rating import StarRating
from musicsim_gui.gui.timefmt import gain_text, pan_text
from musicsim_gui.gui.track_state import TrackState

GAIN_MIN_DB = -60.0
GAIN_MAX_DB = 12.0
STEPS_PER_DB = 10


def _tool_button(text: str, name: str, tip: str) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setObjectName(name)
    button.setCheckable(True)
    button.setToolTip(tip)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return button


def _slider(low: int, high: int, tip: str) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(low, high)
    slider.setToolTip(tip)
    slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return slider


class TrackHeader(QFrame):
    """Controls of one track; see the module docstring."""

    mute_toggled = Signal(bool)
    solo_toggled = Signal(bool)
    reference_toggled = Signal(bool)
    gain_previewed = Signal(float)
    gain_committed = Signal(float)
    pan_committed = Signal(float)
    rated = Signal(int)
    regenerate_clicked = Signal()
    focused = Signal()

    def __init__(self, instrument: str, parent=None) -> None:
        super().__init__(parent)
        self.instrument = instrument
        self._commit_pending = False
        self.setObjectName("TrackHeader")
        self.setFixedWidth(HEADER_WIDTH)
        self._build(instrument)
        self._connect()

    def _build(self, instrument: str) -> None:
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 4, 8, 4)
        grid.setVerticalSpacing(2)
        colour = theme.TRACK_COLOURS.get(instrument, theme.ACCENT)
        self.name_label = QLabel(f"<span style='color:{colour}'>\u25A0</span> {instrument.capitalize()}")
        self.name_label.setObjectName("TrackName")
        self.mute_button = _tool_button("M", "MuteButton", "Mute (M)")
        self.solo_button = _tool_button("S", "SoloButton", "Solo (S)")
        self.ab_button = _tool_button("A/B", "ABButton", "Listen to the reference stem instead of the chosen take")
        buttons = QHBoxLayout()
        buttons.addWidget(self.name_label, 1)
        for button in (self.mute_button, self.solo_button, self.ab_button):
            buttons.addWidget(button)
        grid.addLayout(buttons, 0, 0, 1, 3)
        self.gain_slider = _slider(int(GAIN_MIN_DB * STEPS_PER_DB), int(GAIN_MAX_DB * STEPS_PER_DB), "Gain (dB)")
        self.gain_label = QLabel(gain_text(0.0))
        self.gain_label.setMinimumWidth(62)
        self.pan_slider = _slider(-100, 100, "Pan")
        self.pan_label = QLabel(pan_text(0.0))
        grid.addWidget(QLabel("Gain"), 1, 0)
        grid.addWidget(self.gain_slider, 1, 1)
        grid.addWidget(self.gain_label, 1, 2)
        grid.addWidget(QLabel("Pan"), 2, 0)
        grid.addWidget(self.pan_slider, 2, 1)
        grid.addWidget(self.pan_label, 2, 2)
        self.stars = StarRating()
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        grid.addWidget(self.stars, 3, 0, 1, 2)
        grid.addWidget(self.regenerate_button, 3, 2)
        self.summary_label = QLabel("")
        self.summary_label.setObjectName("Summary")
        grid.addWidget(self.summary_label, 4, 0, 1, 3)

    def _connect(self) -> None:
        self.mute_button.clicked.connect(self.mute_toggled)
        self.solo_button.clicked.connect(self.solo_toggled)
        self.ab_button.clicked.connect(self.reference_toggled)
        self.gain_slider.valueChanged.connect(self._on_gain_moved)
        self.gain_slider.sliderReleased.connect(self._on_gain_released)
        self.gain_slider.actionTriggered.connect(self._on_gain_action)
        self.pan_slider.valueChanged.connect(lambda value: self.pan_label.setText(pan_text(value / 100)))
        self.pan_slider.sliderReleased.connect(lambda: self.pan_committed.emit(self.pan_slider.value() / 100))
        self.stars.rated.connect(self.rated)
        self.regenerate_button.clicked.connect(self.regenerate_clicked)

    def _gain_db(self) -> float:
        return self.gain_slider.value() / STEPS_PER_DB

    def _on_gain_moved(self, _value: int) -> None:
        self.gain_label.setText(gain_text(self._gain_db()))
        if self._commit_pending:
            self._commit_pending = False
            self.gain_committed.emit(self._gain_db())
        elif self.gain_slider.isSliderDown():
            self.gain_previewed.emit(self._gain_db())

    def _on_gain_released(self) -> None:
        self.gain_committed.emit(self._gain_db())

    def _on_gain_action(self, action: int) -> None:
        # Page and arrow steps (clicks on the groove, keys) are whole edits, committed once applied.
        self._commit_pending = action != QSlider.SliderAction.SliderMove.value

    def set_gain(self, db: float) -> None:
        """Move the fader to `db` as if the user dragged it and let go (one edit)."""
        self.gain_slider.setValue(int(round(db * STEPS_PER_DB)))
        self.gain_committed.emit(self._gain_db())

    def show_state(self, state: TrackState) -> None:
        """Display `state` without emitting any request."""
        for widget in (self.mute_button, self.solo_button, self.ab_button, self.gain_slider, self.pan_slider):
            widget.blockSignals(True)
        self.mute_button.setChecked(state.mute)
        self.solo_button.setChecked(state.solo)
        self.ab_button.setChecked(state.listen_reference)
        self.ab_button.setEnabled(state.has_stem and state.has_takes)
        if not self.gain_slider.isSliderDown():
            self.gain_slider.setValue(int(round(state.gain_db * STEPS_PER_DB)))
            self.gain_label.setText(gain_text(state.gain_db))
        self.pan_slider.setValue(int(round(state.pan * 100)))
        self.pan_label.setText(pan_text(state.pan))
        for widget in (self.mute_button, self.solo_button, self.ab_button, self.gain_slider, self.pan_slider):
            widget.blockSignals(False)
        self.stars.set_stars(state.stars)
        self.stars.setEnabled(state.has_takes and not state.listen_reference)
        self.regenerate_button.setEnabled(state.regenerate_enabled)
        self.regenerate_button.setToolTip(state.regenerate_tip)
        self.summary_label.setText(state.summary)
        self.summary_label.setToolTip(state.summary)

    def set_focused(self, focused: bool) -> None:
        """Mark this track as the one M, S and 1-5 act on."""
        border = theme.ACCENT if focused else "#3a404a"
        self.setStyleSheet(f"QFrame#TrackHeader {{ border-left: 3px solid {border}; }}")

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.focused.emit()
        super().mousePressEvent(event)
