"""`PreferDialog`: compare two takes of one track by ear and record which one the listener prefers."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.gui.audition import load_clip


class PreferDialog(QDialog):
    """Takes A and B of `instrument` in `controller.project`; the answer goes to `log.record_preference`."""

    def __init__(self, controller, instrument: str, take_a, take_b, audition, log, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Compare two {instrument} takes")
        self.controller, self.instrument, self.audition, self.log = controller, instrument, audition, log
        self.takes = (take_a, take_b)
        self.winner: str | None = None
        labels = ", ".join(f"{name}: seed {take.seed}" for name, take in zip("AB", self.takes, strict=True))
        self.status = QLabel(f"Listen to both, then choose ({labels}).")
        play = QHBoxLayout()
        for index, name in enumerate("AB"):
            button = QPushButton(f"Play {name}")
            button.clicked.connect(lambda _=False, i=index: self._play(i))
            play.addWidget(button)
        stop = QPushButton("Stop")
        stop.clicked.connect(self.audition.stop)
        play.addWidget(stop)
        choose = QHBoxLayout()
        self.choices = {}
        for winner, text in (("a", "Prefer A"), ("b", "Prefer B"), ("tie", "No preference")):
            self.choices[winner] = QPushButton(text)
            self.choices[winner].clicked.connect(lambda _=False, w=winner: self.choose(w))
            choose.addWidget(self.choices[winner])
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(play)
        layout.addLayout(choose)

    def _play(self, index: int) -> None:
        project = self.controller.project
        try:
            self.audition.play(load_clip(project.take_audio_path(self.takes[index])), "AB"[index])
        except MusicSimError as error:
            self.status.setText(str(error))

    def choose(self, winner: str) -> None:
        """Record the preference ('a', 'b' or 'tie') and close."""
        try:
            self.log.record_preference(self.controller.project, self.instrument, *self.takes, winner)
        except MusicSimError as error:
            self.status.setText(f"The preference was not stored: {error}")
            return
        self.winner = winner
        self.accept()

    def done(self, result: int) -> None:  # Qt override: every way of closing gives the engine back
        self.audition.finish()
        super().done(result)
