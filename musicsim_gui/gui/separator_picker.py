"""`SeparatorPicker`: the combo box beside "Separate stems" that picks which installed separator splits the song.

`separator_choices()` lists every separator the user can pick (the DSP one, the bundled model and each
imported Spleeter/Demucs/other model folder, from `separation.base.available_separators()`), each labelled
with its name and, where its manifest says, its license. The picker remembers the choice in the studio's
settings under "separation/model" (the key the Separate job reads); "builtin" names the bundled model.
The list is read again each time it opens, so models imported meanwhile appear.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from musicsim_gui.core.errors import MusicSimError

SETTING = "separation/model"
HIDDEN = frozenset({"debug"})
"""Separators built for tests only (random weights): not offered in the studio."""


@dataclass(frozen=True)
class SeparatorChoice:
    """One entry of the picker: the separator's name, the text shown, and a tooltip (description, license)."""

    name: str
    label: str
    tooltip: str


def _license(path: str) -> str:
    if not path:
        return ""
    from musicsim_gui.runtime.manifest import load_manifest

    try:
        return load_manifest(path, verify=False).license.strip()
    except (MusicSimError, OSError, ValueError):  # an unreadable manifest: list the model without a license
        return ""


def separator_choices() -> list[SeparatorChoice]:
    """Every separator that can be picked, in `available_separators()` order (test-only ones left out)."""
    from musicsim_gui.separation.base import available_separators

    choices = []
    for info in available_separators():
        if info.name in HIDDEN:
            continue
        license_text = _license(info.path)
        short = license_text.split(";", 1)[0].split("(", 1)[0].strip()
        name = "built-in model" if info.name == _canonical("builtin") else info.name
        label = f"{name} ({short})" if short and len(short) <= 24 else name
        tooltip = info.description + (f"\nLicense: {license_text}" if license_text else "")
        choices.append(SeparatorChoice(info.name, label, tooltip))
    return choices


def _canonical(name: str) -> str:
    from musicsim_gui.separation.base import BUILTIN_MODEL

    return BUILTIN_MODEL if name == "builtin" else name


class SeparatorPicker(QComboBox):
    """See the module docstring. `settings` is a QSettings (or None: the choice is not remembered)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.settings = None
        self.setToolTip("Which separator splits the song")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.currentIndexChanged.connect(self._remember)

    def populate(self, choices: list[SeparatorChoice], settings=None) -> None:
        """Show `choices`, selecting the remembered one (else the bundled model, else the first)."""
        self.settings = None  # filling the list must not overwrite the remembered choice
        self.clear()
        for choice in choices:
            self.addItem(choice.label, choice.name)
            self.setItemData(self.count() - 1, choice.tooltip, Qt.ItemDataRole.ToolTipRole)
        remembered = str(settings.value(SETTING, "builtin")) if settings is not None else "builtin"
        names = [choice.name for choice in choices]
        for wanted in (_canonical(remembered), _canonical("builtin")):
            if wanted in names:
                self.setCurrentIndex(names.index(wanted))
                break
        self.settings = settings
        self._show_tooltip()
        if self.model and _canonical(remembered) != self.model:  # the remembered one is gone: use this one
            self._remember()

    def showPopup(self) -> None:  # Qt override: models imported since the last look show up
        self.populate(separator_choices(), self.settings)
        super().showPopup()

    @property
    def model(self) -> str:
        """The picked separator's name ("" when none is installed)."""
        return str(self.currentData() or "")

    def _remember(self, *_args) -> None:
        if self.settings is not None and self.model:
            self.settings.setValue(SETTING, self.model)
        self._show_tooltip()

    def _show_tooltip(self) -> None:
        self.setToolTip(self.itemData(self.currentIndex(), Qt.ItemDataRole.ToolTipRole) or "No separator installed")
