"""The separator picker beside "Separate stems": every installed separator, its license, and the remembered choice."""

from __future__ import annotations

import pytest
from gui_helpers import new_demo_project, open_studio
from PySide6.QtCore import QSettings, Qt

from musicsim_gui.gui.separator_picker import SETTING, SeparatorPicker, separator_choices
from musicsim_gui.runtime.manifest import Manifest, write_manifest


@pytest.fixture
def imported_spleeter(tmp_path, monkeypatch):
    """An imported Spleeter model folder (its manifest is all the listing reads)."""
    folder = tmp_path / "models" / "spleeter-4stems"
    folder.mkdir(parents=True)
    write_manifest(folder, Manifest("spleeter", "separation", "spleeter-4stems", "1.0", 44100, {},
                                    license="MIT (Deezer Spleeter weights)"))
    monkeypatch.setenv("MUSICSIM_MODELS_DIR", str(tmp_path / "models"))
    return "spleeter-4stems"


def test_choices_list_every_separator_with_its_license(imported_spleeter):
    choices = {choice.name: choice for choice in separator_choices()}
    assert {"dsp", "separation-builtin", imported_spleeter} <= set(choices) and "debug" not in choices
    assert choices[imported_spleeter].label == "spleeter-4stems (MIT)"
    assert "License: MIT (Deezer Spleeter weights)" in choices[imported_spleeter].tooltip
    assert choices["dsp"].label == "dsp"


def test_picker_remembers_the_choice_and_falls_back_when_it_is_gone(qtbot, tmp_path, imported_spleeter):
    settings = QSettings(str(tmp_path / "studio.ini"), QSettings.Format.IniFormat)
    picker = SeparatorPicker()
    qtbot.addWidget(picker)
    picker.populate(separator_choices(), settings)
    assert picker.model == "separation-builtin" and settings.value(SETTING) is None  # "builtin" by default
    picker.setCurrentIndex(picker.findData(imported_spleeter))
    assert settings.value(SETTING) == imported_spleeter and "Deezer" in picker.toolTip()
    again = SeparatorPicker()
    qtbot.addWidget(again)
    again.populate(separator_choices(), settings)
    assert again.model == imported_spleeter
    settings.setValue(SETTING, "uninstalled-model")
    again.populate(separator_choices(), settings)
    assert again.model == "separation-builtin" and settings.value(SETTING) == "separation-builtin"


def test_separate_uses_the_picked_separator(qtbot, tmp_path, monkeypatch):
    project = new_demo_project(tmp_path)
    window = open_studio(qtbot, project.folder, show=False)
    header = window.reference_lane.header
    picker = header.separator_picker
    picker.setCurrentIndex(picker.findData("dsp"))
    specs = []
    monkeypatch.setattr(window.jobs, "submit", lambda spec, done: specs.append(spec))
    header.separate_button.setEnabled(True)
    qtbot.mouseClick(header.separate_button, Qt.MouseButton.LeftButton)
    assert [spec.model for spec in specs] == ["dsp"]
    window.settings.remove(SETTING)
    window.close()


@pytest.mark.qt_log_ignore("This plugin does not support")  # popups under the offscreen platform
def test_opening_the_list_shows_models_imported_meanwhile(qtbot, tmp_path, monkeypatch):
    settings = QSettings(str(tmp_path / "studio.ini"), QSettings.Format.IniFormat)
    monkeypatch.setenv("MUSICSIM_MODELS_DIR", str(tmp_path / "models"))
    picker = SeparatorPicker()
    qtbot.addWidget(picker)
    picker.populate(separator_choices(), settings)
    assert picker.findData("demucs-htdemucs") == -1
    folder = tmp_path / "models" / "demucs-htdemucs"
    folder.mkdir(parents=True)
    write_manifest(folder, Manifest("demucs", "separation", "demucs-htdemucs", "4", 44100, {}, license="MIT"))
    picker.show()
    picker.showPopup()
    picker.hidePopup()
    assert picker.findData("demucs-htdemucs") >= 0 and picker.model == "separation-builtin"
