"""`BlindTestDialog`: the listening test. Clips A and B (real and generated, in random order) are played
through the engine; the listener says which one is generated and which they prefer; each answer is stored
as a blind trial and the fooled-rate table below updates.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
)

from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.gui.audition import load_clip
from musicsim_gui.gui.fooled_rate_table import FooledRateTable


def _choice_row(label: str, names: tuple[str, ...]) -> tuple[QHBoxLayout, QButtonGroup, dict[str, QRadioButton]]:
    row = QHBoxLayout()
    row.addWidget(QLabel(label))
    group = QButtonGroup(row)
    buttons = {}
    for name in names:
        buttons[name] = QRadioButton(name)
        group.addButton(buttons[name])
        row.addWidget(buttons[name])
    row.addStretch(1)
    return row, group, buttons


class BlindTestDialog(QDialog):
    """Runs `trials` (`gui.blind_trials.BlindTrial`) one by one; `log` is the studio's `RatingLog`."""

    def __init__(self, trials, audition, log, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Blind test")
        self.trials, self.audition, self.log = list(trials), audition, log
        self.index = 0
        self.prompt = QLabel()
        self.play_a, self.play_b, self.stop_button = QPushButton("Play A"), QPushButton("Play B"), QPushButton("Stop")
        self.play_a.clicked.connect(lambda: self._play(0))
        self.play_b.clicked.connect(lambda: self._play(1))
        self.stop_button.clicked.connect(self.audition.stop)
        players = QHBoxLayout()
        for button in (self.play_a, self.play_b, self.stop_button):
            players.addWidget(button)
        generated_row, self.generated_group, self.generated = _choice_row("Generated:", ("A", "B"))
        prefer_row, self.prefer_group, self.prefer = _choice_row("I prefer:", ("A", "B", "No preference"))
        self.prefer["No preference"].setChecked(True)
        self.submit = QPushButton("Submit answer")
        self.submit.setEnabled(False)
        self.generated_group.buttonToggled.connect(lambda *_: self.submit.setEnabled(self._current() is not None))
        self.submit.clicked.connect(self.answer)
        self.status = QLabel()
        self.table = FooledRateTable()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for item in (self.prompt, players, generated_row, prefer_row, self.submit, self.status, self.table, buttons):
            (layout.addLayout if isinstance(item, QHBoxLayout) else layout.addWidget)(item)
        self.resize(620, 420)
        self._show_trial()
        self._refresh_table()

    def _current(self):
        return self.trials[self.index] if self.index < len(self.trials) else None

    def _show_trial(self) -> None:
        trial = self._current()
        for widget in (self.play_a, self.play_b, *self.generated.values(), *self.prefer.values()):
            widget.setEnabled(trial is not None)
        self.generated_group.setExclusive(False)
        for button in self.generated.values():
            button.setChecked(False)
        self.generated_group.setExclusive(True)
        self.prefer["No preference"].setChecked(True)
        self.submit.setEnabled(False)
        if trial is None:
            self.prompt.setText(f"Done: {len(self.trials)} trial(s) recorded." if self.trials
                                else "Nothing to compare (this needs a reference stem and generated takes).")
            return
        what = "the whole mix" if trial.instrument == "mix" else f"the {trial.instrument} track"
        self.prompt.setText(f"Trial {self.index + 1} of {len(self.trials)} \u00b7 {what}: "
                            "one clip is real, one is generated. Which one is generated?")
        if not self.audition.available:
            self.status.setText("No audio output: the clips cannot be heard in this window.")

    def _play(self, which: int) -> None:
        trial = self._current()
        if trial is None:
            return
        try:
            self.audition.play(load_clip(trial.paths()[which]), "AB"[which])
        except MusicSimError as error:
            self.status.setText(str(error))

    def answer(self) -> None:
        """Record the current trial from the chosen buttons and move to the next one."""
        trial = self._current()
        picked = next((name for name, button in self.generated.items() if button.isChecked()), None)
        if trial is None or picked is None:
            return
        preferred = next(name for name, button in self.prefer.items() if button.isChecked())
        fooled, preference = trial.verdict(picked, None if preferred == "No preference" else preferred)
        try:
            self.log.record_blind_trial(trial, fooled, preference)
        except MusicSimError as error:
            self.status.setText(f"The answer was not stored: {error}")
            return
        self.audition.stop()
        self.status.setText("Recorded: the generated clip was " + ("A." if trial.generated_first else "B."))
        self.index += 1
        self._show_trial()
        self._refresh_table()

    def _refresh_table(self) -> None:
        try:
            self.table.show_rates(self.log.fooled_rates())
        except MusicSimError as error:
            self.status.setText(str(error))

    def done(self, result: int) -> None:  # noqa: D401 - Qt override: every way of closing ends here
        self.audition.finish()
        super().done(result)
