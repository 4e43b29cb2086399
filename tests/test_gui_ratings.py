"""Studio listening tests: blind tests per instrument and for the mix, A/B preferences, the Ratings menu."""

from __future__ import annotations

import random

import pytest
from gui_helpers import new_demo_project, open_studio
from PySide6.QtCore import Qt

from musicsim_gui.core.ratings import RatingStore
from musicsim_gui.gui.blind_trials import BlindTrial
from musicsim_gui.gui.prefer_dialog import PreferDialog
from musicsim_gui.gui.ratings_menu import open_blind_test
from musicsim_gui.gui.take_menu import build_take_menu


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICSIM_DATA_DIR", str(tmp_path / "data"))
    win = open_studio(qtbot, new_demo_project(tmp_path).folder, audio=True)
    yield win
    win.close()


def _store(tmp_path) -> RatingStore:
    return RatingStore(tmp_path / "data" / "ratings.sqlite")


def test_verdict_counts_a_wrong_pick_as_fooled(tmp_path):
    trial = BlindTrial("bass", "m", "1", tmp_path / "gen.flac", tmp_path / "ref.flac", generated_first=True)
    assert trial.paths() == (tmp_path / "gen.flac", tmp_path / "ref.flac")
    assert trial.verdict("A", "A") == (False, "generated")
    assert trial.verdict("B", "A") == (True, "generated")
    assert trial.verdict("B", "B") == (True, "reference")
    assert trial.verdict("A", None) == (False, None)


def test_blind_test_of_a_track_plays_records_and_gives_the_mix_back(qtbot, window, tmp_path):
    engine = window.transport.engine
    heard_before = window.project.engine_path("bass")
    dialog = open_blind_test(window, "bass", random.Random(0))
    assert len(dialog.trials) == 2 and "Trial 1 of 2" in dialog.prompt.text()
    qtbot.mouseClick(dialog.play_b, Qt.MouseButton.LeftButton)
    assert engine.playing and dialog.audition.current == "B" and len(engine._clips) == 1
    for fool in (False, True):
        trial = dialog.trials[dialog.index]
        generated = "A" if trial.generated_first else "B"
        dialog.generated[("B" if generated == "A" else "A") if fool else generated].setChecked(True)
        dialog.prefer[generated].setChecked(True)
        assert dialog.submit.isEnabled()
        qtbot.mouseClick(dialog.submit, Qt.MouseButton.LeftButton)
    assert "Done: 2 trial(s)" in dialog.prompt.text() and not dialog.play_a.isEnabled()
    assert dialog.table.rowCount() == 1
    assert dialog.table.cell_text(0, 2) == "bass" and dialog.table.cell_text(0, 3) == "50 %"
    assert dialog.table.cell_text(0, 5) == "2"
    dialog.reject()
    assert not engine.playing and len(engine._clips) == 5
    assert window.project.engine_path("bass") == heard_before
    with _store(tmp_path) as store:
        (rate,) = store.fooled_rates()
        assert (rate.instrument, rate.trials, rate.fooled) == ("bass", 2, 1)


def test_blind_test_of_the_whole_mix_renders_it_to_a_file(qtbot, window, tmp_path):
    dialog = open_blind_test(window, "mix", random.Random(1))
    (trial,) = dialog.trials
    assert trial.instrument == "mix" and trial.generated_path.is_file()
    assert trial.generated_path.parent == window.project.project.folder / "blind_tests"
    assert trial.reference_path == window.project.project.reference_file
    dialog.generated["A"].setChecked(True)
    dialog.answer()
    dialog.reject()
    with _store(tmp_path) as store:
        assert [r.instrument for r in store.fooled_rates()] == ["mix"]


def test_prefer_a_b_from_the_take_menu_records_a_preference(qtbot, window, tmp_path):
    controller = window.project
    first, second = controller.project.track("bass").takes
    menu = build_take_menu(controller, "bass", 1, window)
    compare = next(a for a in menu.actions() if a.text() == "Compare (prefer A/B) with").menu()
    compare.actions()[0].trigger()
    dialog = window.findChildren(PreferDialog)[-1]
    qtbot.mouseClick(dialog.choices["b"], Qt.MouseButton.LeftButton)
    assert dialog.winner == "b" and not dialog.isVisible()
    with _store(tmp_path) as store:
        assert store.preferences() == [(dialog.takes[0].id, dialog.takes[1].id, "b")]
        assert set(store.takes()) == {first.id, second.id}


def test_ratings_menu_lists_blind_tests(window):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Ratings")
    texts = [a.text() for a in menu.actions()]
    assert "Blind test: bass\u2026" in texts and "Blind test: whole mix\u2026" in texts
    assert "Blind-test results\u2026" in texts and "Fine-tune ViT+WaveGAN from ratings" in texts
