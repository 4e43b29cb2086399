"""Blind A/B between two model versions: same seed, one take each, the prefer dialog in random order."""

from __future__ import annotations

import random
import time

from gui_helpers import new_demo_project, open_studio
from PySide6.QtCore import Qt

from musicsim_gui.core.ratings import RatingStore
from musicsim_gui.gui.model_compare import ModelCompareDialog, default_pair, open_model_comparison


def test_default_pair_is_the_newest_finetune_and_its_parent(qtbot):
    names = ["vit-wavegan-debug", "vit-wavegan-lofi", "vit-wavegan-lofi-ft1", "vit-wavegan-lofi-ft2"]
    assert default_pair(names) == ("vit-wavegan-lofi", "vit-wavegan-lofi-ft2")
    assert default_pair(["a", "b", "c"]) == ("a", "b") and default_pair(["a"]) is None
    dialog = ModelCompareDialog("bass", {name: "" for name in names})
    qtbot.addWidget(dialog)
    assert dialog.models == ("vit-wavegan-lofi", "vit-wavegan-lofi-ft2") and dialog.compare_button.isEnabled()
    dialog.combos[1].setCurrentIndex(1)
    assert not dialog.compare_button.isEnabled()  # the same model twice is no comparison


def test_compare_two_models_with_one_seed_and_record_the_blind_preference(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICSIM_DATA_DIR", str(tmp_path / "data"))
    project = new_demo_project(tmp_path)
    window = open_studio(qtbot, project.folder)
    deadline = time.monotonic() + 30
    while len(window.jobs.generators) < 2:
        assert time.monotonic() < deadline, window.jobs.generator_reason
        window.tick()
        qtbot.wait(30)
    window.project.set_focus("drums")
    instrument = window.project.focused
    chosen_before = window.project.project.track(instrument).chosen_take_id
    dialog = open_model_comparison(window, random.Random(3))
    dialog.combos[0].setCurrentIndex(dialog.combos[0].findData("vit-wavegan-debug"))
    dialog.combos[1].setCurrentIndex(dialog.combos[1].findData("vit-wavegan-lofi"))
    dialog.seed_spin.setValue(1234)
    qtbot.mouseClick(dialog.compare_button, Qt.MouseButton.LeftButton)
    comparison = dialog.comparison
    deadline = time.monotonic() + 120
    while comparison.prefer_dialog is None:
        rows = list(window.jobs.panel.rows.values())
        assert time.monotonic() < deadline, [row.status_label.text() for row in rows]
        window.tick()
        window.jobs.poll(force=True)
        qtbot.wait(50)
    track = window.project.project.track(instrument)
    takes = {take.model_id: take for take in track.takes if take.seed == 1234}
    assert set(takes) == {"vit-wavegan-debug", "vit-wavegan-lofi"}
    assert takes["vit-wavegan-lofi"].params["reference_match"] is True  # compared as Regenerate makes its takes
    assert track.chosen_take_id == chosen_before  # the comparison does not change the mix
    prefer = comparison.prefer_dialog
    swapped = random.Random(3).random() < 0.5
    expected = ("vit-wavegan-lofi", "vit-wavegan-debug") if swapped else ("vit-wavegan-debug", "vit-wavegan-lofi")
    assert tuple(take.model_id for take in prefer.takes) == expected
    assert "vit-wavegan" not in prefer.status.text()  # blind: the dialog names no model
    qtbot.mouseClick(prefer.choices["a"], Qt.MouseButton.LeftButton)
    with RatingStore(tmp_path / "data" / "ratings.sqlite") as store:
        assert store.preferences() == [(prefer.takes[0].id, prefer.takes[1].id, "a")]
    window.close()


def test_compare_says_why_when_fewer_than_two_generators(qtbot, tmp_path):
    project = new_demo_project(tmp_path)
    window = open_studio(qtbot, project.folder, show=False)
    notices = []
    window.project.notice.connect(lambda text, details: notices.append(text))
    window.jobs.generators, window.jobs.generator_reason = {"vit-wavegan-lofi": ""}, ""
    assert open_model_comparison(window) is None
    assert notices == ["Comparing needs two installed generators (see `musicsim models`)"]
    window.close()
