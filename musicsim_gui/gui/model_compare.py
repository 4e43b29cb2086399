"""Blind A/B between two generator versions: one take from each with the same seed, then a preference.

"Compare model versions…" (Ratings menu) asks for two generators (`ModelCompareDialog`; by default a model
and its newest fine-tuned version `<model>-ft<k>`) and a seed for the focused track. `ModelComparison`
starts one `Generate` job per model with that seed (and the track's reference stem, so models that follow it
are compared as Regenerate delivers them), adds both takes to the track (not chosen, so the mix
does not change) and, once both exist, opens the prefer dialog with the two takes in random order; the
dialog names no model, so the listener judges blind. The answer goes to the ratings database.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox

from musicsim_gui.gui.regenerate_dialog import SEED_LIMIT

_FINETUNED = re.compile(r"^(?P<parent>.+)-ft(?P<k>\d+)$")


def default_pair(names: list[str]) -> tuple[str, str] | None:
    """The pair offered first: the newest fine-tuned version and its parent, else the first two names."""
    newest: dict[str, tuple[int, str]] = {}
    for name in names:
        match = _FINETUNED.match(name)
        if match and match["parent"] in names:
            k = int(match["k"])
            if k > newest.get(match["parent"], (-1, ""))[0]:
                newest[match["parent"]] = (k, name)
    if newest:
        parent = sorted(newest)[0]
        return parent, newest[parent][1]
    return (names[0], names[1]) if len(names) >= 2 else None


class ModelCompareDialog(QDialog):
    """Pick two generators (of `generators`: name → description) and the seed both of them use."""

    def __init__(self, instrument: str, generators: dict[str, str], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Compare model versions ({instrument})")
        self.setMinimumWidth(380)
        self.instrument = instrument
        names = list(generators)
        pair = default_pair(names) or ("", "")
        self.combos = []
        for current in pair:
            combo = QComboBox()
            for name in names:
                combo.addItem(name, name)
                combo.setItemData(combo.count() - 1, generators[name], 3)  # tooltip role
            if current in names:
                combo.setCurrentIndex(names.index(current))
            combo.currentIndexChanged.connect(self._update)
            self.combos.append(combo)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, SEED_LIMIT)
        self.seed_spin.setValue(random.randrange(SEED_LIMIT))
        self.seed_spin.setToolTip("Both models compose from this seed")
        self.note = QLabel("One take from each model; you hear them as A and B in random order.")
        self.note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.compare_button = buttons.addButton("Generate and compare", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("First model", self.combos[0])
        form.addRow("Second model", self.combos[1])
        form.addRow("Seed", self.seed_spin)
        form.addRow(self.note)
        form.addRow(buttons)
        self._update()

    @property
    def models(self) -> tuple[str, str]:
        return str(self.combos[0].currentData() or ""), str(self.combos[1].currentData() or "")

    def _update(self, *_args) -> None:
        first, second = self.models
        ready = bool(first and second) and first != second
        self.compare_button.setEnabled(ready)
        self.compare_button.setToolTip("" if ready else "Pick two different models")


class ModelComparison:
    """Two Generate jobs with one seed for `instrument`, then the blind prefer dialog (`.prefer_dialog`)."""

    def __init__(self, window, instrument: str, models: tuple[str, str], seed: int,
                 rng: random.Random | None = None) -> None:
        self.window, self.instrument, self.models, self.seed = window, instrument, models, seed
        self.rng = rng or random.Random()
        self.takes: dict[str, object] = {}
        self.prefer_dialog = None
        self.project = window.project.project

    def start(self) -> list[int]:
        """Submit both jobs; their keys in the jobs panel."""
        from musicsim_gui.gui.jobs_controller import stem_inputs
        from musicsim_gui.gui.settings_store import value
        from musicsim_gui.jobs import Generate

        jobs, project = self.window.jobs, self.project
        stems = stem_inputs(project, self.instrument)  # models that follow the stem do so, as in Regenerate
        keys = []
        for model in self.models:
            spec = Generate(str(project.reference_file), str(project.folder / "takes"), model=model,
                            instruments=(self.instrument,), seeds=(self.seed,), takes=1,
                            backend=value(jobs.settings, "inference/backend"),
                            device=value(jobs.settings, "inference/device"), **stems)
            keys.append(jobs.submit(spec, lambda takes, m=model: self._arrived(m, takes)))
        return keys

    def _arrived(self, model: str, takes: list) -> str:
        from musicsim_gui.core.commands import AddTake
        from musicsim_gui.gui.ratings_menu import open_prefer

        controller = self.window.project
        if controller.project is not self.project:
            return "The project was closed; the take is in its takes folder"
        (take,) = takes
        take.path = self.project.relative(Path(take.path))
        controller.push(AddTake(self.instrument, take, choose=False), text=f"Compare take ({self.instrument})")
        self.takes[model] = take
        if len(self.takes) < len(self.models):
            return "Take ready; waiting for the other model"
        first, second = (self.takes[name] for name in self.models)
        self.prefer_dialog = open_prefer(controller, self.instrument, first, second, self.window, self.rng)
        return "Both takes ready: compare them"


def open_model_comparison(window, rng: random.Random | None = None):
    """Ask for two models for the focused track; on accept start the comparison. Returns the dialog."""
    controller = window.project
    if controller.project is None:
        return None
    generators = dict(window.jobs.generators)
    if len(generators) < 2:
        still_looking = not generators and window.jobs.generator_reason.startswith("Looking")
        controller.notice.emit(window.jobs.generator_reason if still_looking else
                               "Comparing needs two installed generators (see `musicsim models`)", "")
        return None
    dialog = ModelCompareDialog(controller.focused, generators, window)

    def start() -> None:
        comparison = ModelComparison(window, dialog.instrument, dialog.models, dialog.seed_spin.value(), rng)
        dialog.comparison = comparison
        comparison.start()

    dialog.accepted.connect(start)
    dialog.open()
    return dialog
