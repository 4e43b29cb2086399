"""`RegenerateDialog`: pick the generator and its settings for a track's new takes, then start the job.

Every generator takes a seed and a number of takes. MusicGen models add the mode (audio, or text + audio),
the text prompt (prefilled from the template with the track's instrument and the song's tempo, editable),
the take's duration and audio-prompt length, sampling: temperature, top-k, top-p and guidance scale, and a
folded "Advanced" section with the decoder and its precision (`musicgen_advanced`; defaults each time).
The MusicGen group shows only while a MusicGen generator is selected. `choice()` returns the request as a
`RegenerateChoice`; the dialog emits `accepted_choice` with it. "Keep best" keeps only the K best of
the takes, ranked by the preference scorer trained from the user's ratings (0 = keep all); without a trained
scorer the box is disabled and points to Ratings > "Train taste model from my ratings". Loop generators get the
arrangement and smoothing; those whose takes follow the reference's stem (`stem_followers`) also get "Follow the
reference's stem", which on a track without a stem separates the reference first. With a settings
object, the generator, mode, durations and sampling values chosen last are offered again (the prompt is per
track, so it is not kept).
"""

from __future__ import annotations

import random
from collections.abc import Collection

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from musicsim_gui.gui.musicgen_advanced import MusicGenAdvanced
from musicsim_gui.gui.ratings_menu import TRAIN_SCORER_ACTION
from musicsim_gui.gui.regenerate_choice import (
    ARRANGEMENTS,
    MUSICGEN_MODES,
    MusicGenChoice,
    RegenerateChoice,
    is_musicgen,
)
from musicsim_gui.runtime.paths import scorer_path

SEED_LIMIT = (1 << 31) - 1


def _spin(low: float, high: float, value: float, step: float, decimals: int = 2, suffix: str = "") -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setSuffix(suffix)
    return spin


class RegenerateDialog(QDialog):
    """See the module docstring.

    Args:
        instrument: the track to compose for.
        generators: generator name → one-line description (`generation.available_generators()`).
        current: the generator selected at first.
        prompt: the prefilled text prompt.
        song_seconds: the reference's length (the default take length is capped by it).
        stem_path: the track's separated stem file, when there is one.
        stem_rough: that stem came from the rough DSP separator (`separation.base.rough_separator`), or, on a
            track without a stem, the separation started first would use it (the separator picked beside
            "Separate stems"): following it is offered but not ticked, and the remembered choice is neither
            applied nor changed.
        settings: a QSettings to remember the choices in (under "regenerate/"), or None.
        scorer_ready: whether a preference scorer is trained (None: look for `runtime.paths.scorer_path()`).
        stem_followers: the generators whose takes follow the reference's stem of their instrument
            (`generation.stem_following_generators()`); only these offer "Follow the reference's stem".
    """

    accepted_choice = Signal(object)

    def __init__(self, instrument: str, generators: dict[str, str], current: str | None, prompt: str,
                 song_seconds: float, stem_path: str | None = None, parent=None, settings=None,
                 scorer_ready: bool | None = None, stem_followers: Collection[str] = (),
                 stem_rough: bool = False) -> None:
        super().__init__(parent)
        self.scorer_ready = scorer_path().exists() if scorer_ready is None else scorer_ready
        self.setWindowTitle(f"Regenerate {instrument}")
        self.setMinimumWidth(480)  # room for a whole prompt
        self.instrument, self.generators, self.stem_path = instrument, dict(generators), stem_path
        self.stem_rough = bool(stem_rough)
        self.stem_followers = frozenset(stem_followers)
        self.settings = settings
        remembered = settings.value("regenerate/model") if settings is not None else None
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_common(remembered if remembered in self.generators else current))
        layout.addWidget(self._build_musicgen(prompt, song_seconds))
        layout.addWidget(self._build_loops())
        self._restore()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.generate_button = buttons.addButton("Generate", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.generator_combo.currentIndexChanged.connect(self._generator_changed)
        self.mode_combo.currentTextChanged.connect(self._mode_changed)
        self._generator_changed()

    def _build_common(self, current: str | None) -> QFormLayout:
        """Generator, seed (with a dice button) and number of takes."""
        self.generator_combo = QComboBox()
        for name, description in self.generators.items():
            self.generator_combo.addItem(name, name)
            self.generator_combo.setItemData(self.generator_combo.count() - 1, description, 3)  # tooltip role
        if current in self.generators:
            self.generator_combo.setCurrentIndex(list(self.generators).index(current))
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, SEED_LIMIT)
        self.seed_spin.setValue(random.randrange(SEED_LIMIT))
        self.seed_spin.setToolTip("The same seed and settings make the same take")
        dice = QPushButton("New seed")
        dice.clicked.connect(lambda: self.seed_spin.setValue(random.randrange(SEED_LIMIT)))
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(dice)
        self.takes_spin = QSpinBox()
        self.takes_spin.setRange(1, 8)
        self.takes_spin.setToolTip("Takes are made in one batch; seeds count up from the one above")
        form = QFormLayout()
        form.addRow("Generator", self.generator_combo)
        form.addRow("Seed", seed_row)
        form.addRow("Takes", self.takes_spin)
        form.addRow("Keep best", self._build_keep())
        return form

    def _build_keep(self) -> QSpinBox:
        """How many of the takes to keep, best first by the preference scorer (0 = all)."""
        self.keep_spin = QSpinBox()
        self.keep_spin.setRange(0, self.takes_spin.maximum())
        self.keep_spin.setSpecialValueText("All takes")
        self.keep_spin.setEnabled(self.scorer_ready)
        if self.scorer_ready:
            self.keep_spin.setToolTip("Keep only this many takes, the best by the scorer trained from your ratings")
        else:
            self.keep_spin.setToolTip("No preference scorer (taste model) trained yet: every take is kept. "
                                      "Rate takes of a track differently, then choose Ratings \u25b8 "
                                      f"{TRAIN_SCORER_ACTION} (or run: musicsim ratings train-scorer)")
        return self.keep_spin

    def _build_musicgen(self, prompt: str, song_seconds: float) -> QGroupBox:
        """MusicGen's mode, prompt, durations, sampling and the folded decoder settings."""
        self.musicgen_box = QGroupBox("MusicGen")
        self.mode_combo = QComboBox()
        self.mode_combo.addItems(list(MUSICGEN_MODES))
        self.mode_combo.setCurrentText("Text + audio")
        self.prompt_edit = QLineEdit(prompt)
        self.prompt_edit.setToolTip("What the new part should sound like (text + audio mode)")
        length = min(10.0, song_seconds) if song_seconds > 0 else 10.0
        self.seconds_spin = _spin(0.05, 600.0, length, 1.0, 2, " s")
        self.seconds_spin.setToolTip("Longer than the model's window: generated window by window, with overlap")
        self.prompt_seconds_spin = _spin(0.0, 30.0, min(2.0, length / 2), 0.5, 2, " s")
        self.prompt_seconds_spin.setToolTip("How much of the stem (or the song) starts the take as audio prompt")
        self.temperature_spin = _spin(0.0, 5.0, 1.0, 0.05)
        self.top_k_spin = QSpinBox()
        self.top_k_spin.setRange(0, 2048)
        self.top_k_spin.setValue(250)
        self.top_k_spin.setToolTip("0 = off")
        self.top_p_spin = _spin(0.0, 1.0, 0.0, 0.05)
        self.top_p_spin.setToolTip("0 = off")
        self.guidance_spin = _spin(0.0, 20.0, 3.0, 0.5, 1)
        form = QFormLayout(self.musicgen_box)
        form.addRow("Mode", self.mode_combo)
        form.addRow("Prompt", self.prompt_edit)
        form.addRow("Duration", self.seconds_spin)
        form.addRow("Audio prompt", self.prompt_seconds_spin)
        form.addRow("Temperature", self.temperature_spin)
        form.addRow("Top-k", self.top_k_spin)
        form.addRow("Top-p", self.top_p_spin)
        form.addRow("Guidance", self.guidance_spin)
        self.advanced = MusicGenAdvanced()
        form.addRow(self.advanced)
        return self.musicgen_box

    def _build_loops(self) -> QGroupBox:
        """How a loop-based generator (ViT+WaveGAN) lays out its take."""
        self.loops_box = QGroupBox("Loops")
        self.arrangement_combo = QComboBox()
        self.arrangement_combo.addItems(list(ARRANGEMENTS))
        self.arrangement_combo.setToolTip("Phrases: a one-bar cell repeats and every fourth bar plays a variation; "
                                          "one loop: the same loop throughout")
        self.smoothing_check = QCheckBox("Smooth sustained sounds")
        self.smoothing_check.setChecked(True)
        self.smoothing_check.setToolTip("Even out the frame-to-frame grain of held bass notes, pads and piano "
                                        "partials and clear the grain between partials, as the model was tuned "
                                        "to sound; off: the heads' raw texture")
        follow = f"Follow the reference's {self.instrument} stem"
        if not self.stem_path:
            follow += (" (separated first by the rough DSP separator)" if self.stem_rough
                       else " (separate the reference first)")
        elif self.stem_rough:
            follow += " (made by the rough DSP separator)"
        self.reference_match_check = QCheckBox(follow)
        self.reference_match_check.setChecked(not self.stem_rough)
        follows = (f"Move the take's tone and dynamics towards the reference's own {self.instrument} part, let "
                   "it rise and fall with that part over the song, follow its chords and rest where it rests, "
                   "for models that can")
        rough = ("carries so much of the other instruments that takes following it sound further from a real part "
                 "than takes following no stem")
        if self.stem_path and self.stem_rough:
            follows += (f". This {self.instrument} stem came from the rough DSP separator: it {rough}; separate the "
                        "reference again with the built-in model to follow it")
        elif not self.stem_path:
            follows += (f". The {self.instrument} track has no stem yet: the reference is separated first (as "
                        "Separate stems does, filling every track's stem), then the takes are made")
            if self.stem_rough:
                follows += (". The separator picked beside Separate stems is the rough DSP one: its stem "
                            f"{rough}; pick the built-in model there to follow a better one")
        self.reference_match_check.setToolTip(follows)
        form = QFormLayout(self.loops_box)
        form.addRow("Arrangement", self.arrangement_combo)
        form.addRow(self.smoothing_check)
        form.addRow(self.reference_match_check)
        return self.loops_box

    @property
    def model(self) -> str:
        return str(self.generator_combo.currentData() or "")

    @property
    def follows_stems(self) -> bool:
        """Whether the selected generator's takes follow the reference's stem (so the choice is offered)."""
        return self.model in self.stem_followers

    def _generator_changed(self, *_args) -> None:
        musicgen = is_musicgen(self.model, self.generators.get(self.model, ""))
        self.musicgen_box.setVisible(musicgen)
        self.loops_box.setVisible(bool(self.model) and not musicgen)
        self.reference_match_check.setVisible(self.follows_stems)
        self.generate_button.setEnabled(bool(self.model))
        self.adjustSize()

    def _mode_changed(self, label: str) -> None:
        self.prompt_edit.setEnabled(MUSICGEN_MODES[label] == "text+audio")

    def choice(self) -> RegenerateChoice:
        """The request as the dialog shows it now."""
        musicgen = None
        if is_musicgen(self.model, self.generators.get(self.model, "")):
            seconds = self.seconds_spin.value()
            musicgen = MusicGenChoice(MUSICGEN_MODES[self.mode_combo.currentText()], self.prompt_edit.text(),
                                      seconds, min(self.prompt_seconds_spin.value(), seconds / 2),
                                      self.temperature_spin.value(), self.top_k_spin.value(),
                                      self.top_p_spin.value(), self.guidance_spin.value(), self.stem_path,
                                      self.advanced.decoder(), self.advanced.dtype())
        keep = self.keep_spin.value() if self.scorer_ready else 0
        arrangement = None if musicgen else ARRANGEMENTS[self.arrangement_combo.currentText()]
        smoothing = None if musicgen else self.smoothing_check.isChecked()
        follows = musicgen is None and self.follows_stems
        follow = follows and self.reference_match_check.isChecked()
        reference_match = None if not follows or (follow and not self.stem_rough) else follow
        return RegenerateChoice(self.instrument, self.model, self.seed_spin.value(), self.takes_spin.value(),
                                musicgen, keep if keep < self.takes_spin.value() else 0, arrangement, smoothing,
                                reference_match, separate_first=follow and not self.stem_path)

    def _remembered(self) -> dict:
        """Setting key → the widget holding that value."""
        return {"regenerate/seconds": self.seconds_spin, "regenerate/prompt_seconds": self.prompt_seconds_spin,
                "regenerate/temperature": self.temperature_spin, "regenerate/top_k": self.top_k_spin,
                "regenerate/top_p": self.top_p_spin, "regenerate/guidance_scale": self.guidance_spin,
                "regenerate/takes": self.takes_spin, "regenerate/keep": self.keep_spin}

    def _restore(self) -> None:
        if self.settings is None:
            return
        for key, spin in self._remembered().items():
            stored = self.settings.value(key)
            try:
                if stored is not None:
                    spin.setValue(type(spin.value())(stored))
            except (TypeError, ValueError):  # an edited settings file: keep the default
                pass
        mode = self.settings.value("regenerate/mode")
        if mode in MUSICGEN_MODES:
            self.mode_combo.setCurrentText(mode)
        arrangement = self.settings.value("regenerate/arrangement")
        if arrangement in ARRANGEMENTS:
            self.arrangement_combo.setCurrentText(arrangement)
        smoothing = self.settings.value("regenerate/smoothing")
        if smoothing is not None:
            self.smoothing_check.setChecked(str(smoothing).lower() not in ("false", "0"))
        follow = self.settings.value("regenerate/reference_match")
        if follow is not None and not self.stem_rough:
            self.reference_match_check.setChecked(str(follow).lower() not in ("false", "0"))

    def _remember(self) -> None:
        if self.settings is None:
            return
        for key, spin in self._remembered().items():
            self.settings.setValue(key, spin.value())
        self.settings.setValue("regenerate/mode", self.mode_combo.currentText())
        self.settings.setValue("regenerate/arrangement", self.arrangement_combo.currentText())
        self.settings.setValue("regenerate/smoothing", self.smoothing_check.isChecked())
        if self.follows_stems and not self.stem_rough:
            self.settings.setValue("regenerate/reference_match", self.reference_match_check.isChecked())
        self.settings.setValue("regenerate/model", self.model)

    def accept(self) -> None:
        if not self.model:
            return
        self._remember()
        self.accepted_choice.emit(self.choice())
        super().accept()
