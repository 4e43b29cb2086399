"""Regenerate from the studio: the dialog's choices, and MusicGen (a tiny debug checkpoint) end to end."""

from __future__ import annotations

import time

import pytest
from gui_helpers import new_demo_project, open_studio, wait_regenerate_ready
from PySide6.QtCore import Qt

from musicsim_gui.gui.regenerate_choice import MusicGenChoice, RegenerateChoice, is_musicgen
from musicsim_gui.gui.regenerate_dialog import RegenerateDialog
from musicsim_gui.gui.settings_store import studio_settings

GENERATORS = {"mg-debug": "musicgen debug-1", "vit-wavegan-debug": "ViT+WaveGAN debug config"}
FOLLOWERS = frozenset({"vit-wavegan-debug"})
"""Told to the dialog as following stems (the debug model itself has no reference match)."""


def test_choice_params_carry_musicgen_settings_and_the_stem():
    assert is_musicgen("musicgen:facebook/musicgen-small") and is_musicgen("mine", "musicgen 1.0")
    assert not is_musicgen("vit-wavegan-lofi", "vit-wavegan 0.3")
    assert RegenerateChoice("bass", "vit-wavegan-lofi", 3).params() == ()
    choice = RegenerateChoice("piano", "mg", 9, 2, MusicGenChoice("text+audio", " warm keys ", 4.0, 1.0, 0.8, 50,
                                                                   0.9, 2.5, "/song/stems/piano.flac"))
    params = dict(choice.params())
    assert params["prompt"] == "warm keys" and params["mode"] == "text+audio" and params["top_k"] == 50
    assert params["stem_paths"] == (("piano", "/song/stems/piano.flac"),)
    audio = RegenerateChoice("piano", "mg", 9, musicgen=MusicGenChoice("audio", "ignored"))
    assert "prompt" not in dict(audio.params())


def test_dialog_shows_musicgen_settings_only_for_musicgen(qtbot):
    dialog = RegenerateDialog("bass", GENERATORS, "vit-wavegan-debug", "lofi hip hop bass, 84 bpm", 30.0)
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.musicgen_box.isVisible() and dialog.choice().musicgen is None
    dialog.generator_combo.setCurrentIndex(0)
    assert dialog.musicgen_box.isVisible() and dialog.prompt_edit.text() == "lofi hip hop bass, 84 bpm"
    dialog.mode_combo.setCurrentText("Audio")
    assert not dialog.prompt_edit.isEnabled()
    dialog.mode_combo.setCurrentText("Text + audio")
    dialog.seed_spin.setValue(42)
    dialog.seconds_spin.setValue(12.0)
    dialog.temperature_spin.setValue(0.7)
    chosen = []
    dialog.accepted_choice.connect(chosen.append)
    qtbot.mouseClick(dialog.generate_button, Qt.MouseButton.LeftButton)
    (choice,) = chosen
    assert choice.model == "mg-debug" and choice.seed == 42 and choice.instrument == "bass"
    assert choice.musicgen.seconds == 12.0 and choice.musicgen.temperature == pytest.approx(0.7)


def test_advanced_decoder_and_precision_reach_the_choice(qtbot):
    dialog = RegenerateDialog("bass", GENERATORS, "mg-debug", "lofi hip hop bass", 30.0)
    qtbot.addWidget(dialog)
    dialog.show()
    advanced = dialog.advanced
    assert not advanced.body.isVisible() and (dialog.choice().musicgen.decoder, dialog.choice().musicgen.dtype) == (
        "fast", "auto")
    qtbot.mouseClick(advanced.toggle, Qt.MouseButton.LeftButton)
    assert advanced.body.isVisible()
    advanced.precision_combo.setCurrentText("bfloat16")
    advanced.decoder_combo.setCurrentText("transformers generate()")  # runs float32 weights: precision goes back
    assert not advanced.precision_combo.isEnabled() and "float32" in advanced.precision_combo.toolTip()
    assert dict(dialog.choice().params())["dtype"] == "auto" and dict(dialog.choice().params())["decoder"] == "generate"
    advanced.decoder_combo.setCurrentText("Fast loop")
    advanced.precision_combo.setCurrentText("bfloat16")
    chosen = []
    dialog.accepted_choice.connect(chosen.append)
    qtbot.mouseClick(dialog.generate_button, Qt.MouseButton.LeftButton)
    (choice,) = chosen
    assert (choice.musicgen.decoder, choice.musicgen.dtype) == ("fast", "bfloat16")
    params = dict(choice.params())
    assert (params["decoder"], params["dtype"]) == ("fast", "bfloat16")


def test_dialog_offers_the_last_choices_again(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "studio.ini"), QSettings.Format.IniFormat)
    dialog = RegenerateDialog("piano", GENERATORS, "vit-wavegan-debug", "lofi hip hop piano", 30.0, settings=settings)
    qtbot.addWidget(dialog)
    dialog.generator_combo.setCurrentIndex(0)
    dialog.mode_combo.setCurrentText("Audio")
    dialog.temperature_spin.setValue(0.6)
    dialog.top_k_spin.setValue(32)
    dialog.takes_spin.setValue(3)
    dialog.accept()
    again = RegenerateDialog("drums", GENERATORS, "vit-wavegan-debug", "lofi hip hop drums", 30.0, settings=settings)
    qtbot.addWidget(again)
    assert again.model == "mg-debug" and again.mode_combo.currentText() == "Audio"
    assert again.temperature_spin.value() == pytest.approx(0.6) and again.top_k_spin.value() == 32
    assert again.takes_spin.value() == 3 and again.prompt_edit.text() == "lofi hip hop drums"


def test_loop_generators_offer_their_arrangement_and_it_is_remembered(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "studio.ini"), QSettings.Format.IniFormat)
    dialog = RegenerateDialog("bass", GENERATORS, "vit-wavegan-debug", "lofi hip hop bass", 30.0, settings=settings)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.loops_box.isVisible() and dict(dialog.choice().params()) == {"arrangement": "phrase"}
    dialog.arrangement_combo.setCurrentText("One loop, repeated")
    assert dict(dialog.choice().params()) == {"arrangement": "loop"}
    dialog.smoothing_check.setChecked(False)
    assert dict(dialog.choice().params()) == {"arrangement": "loop", "smoothing": False}
    dialog.generator_combo.setCurrentIndex(0)  # MusicGen has no loops
    assert not dialog.loops_box.isVisible() and "arrangement" not in dict(dialog.choice().params())
    dialog.generator_combo.setCurrentIndex(1)
    dialog.accept()
    again = RegenerateDialog("drums", GENERATORS, "vit-wavegan-debug", "lofi hip hop drums", 30.0, settings=settings,
                             stem_followers=FOLLOWERS)
    qtbot.addWidget(again)
    again.show()
    assert again.arrangement_combo.currentText() == "One loop, repeated"
    assert not again.smoothing_check.isChecked()
    # No stem yet: following one is still offered (the reference is separated first), and not sent as a param.
    assert again.reference_match_check.isEnabled() and again.reference_match_check.isChecked()
    assert "separate the reference first" in again.reference_match_check.text()
    assert again.choice().separate_first and "reference_match" not in dict(again.choice().params())
    again.reference_match_check.setChecked(False)
    assert not again.choice().separate_first and dict(again.choice().params())["reference_match"] is False


def test_loop_generators_follow_the_tracks_stem_unless_told_not_to(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "studio.ini"), QSettings.Format.IniFormat)
    stem = str(tmp_path / "stems" / "bass.flac")
    dialog = RegenerateDialog("bass", GENERATORS, "vit-wavegan-debug", "lofi hip hop bass", 30.0, stem,
                              settings=settings, stem_followers=FOLLOWERS)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.reference_match_check.isEnabled() and dialog.reference_match_check.isChecked()
    assert "bass stem" in dialog.reference_match_check.text()
    assert "reference_match" not in dict(dialog.choice().params())
    dialog.reference_match_check.setChecked(False)
    assert dict(dialog.choice().params())["reference_match"] is False
    dialog.accept()
    again = RegenerateDialog("bass", GENERATORS, "vit-wavegan-debug", "lofi hip hop bass", 30.0, stem,
                             settings=settings, stem_followers=FOLLOWERS)
    qtbot.addWidget(again)
    assert not again.reference_match_check.isChecked()


def test_a_stem_from_the_rough_separator_is_offered_but_not_followed_by_default(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "studio.ini"), QSettings.Format.IniFormat)
    settings.setValue("regenerate/reference_match", True)  # the musician follows stems as a rule
    stem = str(tmp_path / "stems" / "bass.flac")
    dialog = RegenerateDialog("bass", GENERATORS, "vit-wavegan-debug", "lofi hip hop bass", 30.0, stem,
                              settings=settings, stem_followers=FOLLOWERS, stem_rough=True)
    qtbot.addWidget(dialog)
    dialog.show()
    check = dialog.reference_match_check
    assert check.isVisible() and not check.isChecked() and "rough DSP separator" in check.text()
    assert "built-in model" in check.toolTip()
    assert dict(dialog.choice().params())["reference_match"] is False
    check.setChecked(True)  # asked for anyway: sent as such, since the model would not follow it by itself
    assert dict(dialog.choice().params())["reference_match"] is True and not dialog.choice().separate_first
    dialog.accept()
    assert settings.value("regenerate/reference_match") in (True, "true")  # the rule is left as it was


def test_separating_first_with_the_rough_separator_is_offered_but_not_ticked(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "studio.ini"), QSettings.Format.IniFormat)
    settings.setValue("regenerate/reference_match", True)
    dialog = RegenerateDialog("piano", GENERATORS, "vit-wavegan-debug", "lofi hip hop piano", 30.0,
                              settings=settings, stem_followers=FOLLOWERS, stem_rough=True)
    qtbot.addWidget(dialog)
    dialog.show()
    check = dialog.reference_match_check
    assert not check.isChecked() and "separated first by the rough DSP separator" in check.text()
    assert "no stem yet" in check.toolTip() and "pick the built-in model" in check.toolTip()
    assert not dialog.choice().separate_first and dict(dialog.choice().params())["reference_match"] is False
    check.setChecked(True)
    assert dialog.choice().separate_first and dict(dialog.choice().params())["reference_match"] is True
    dialog.accept()
    assert settings.value("regenerate/reference_match") in (True, "true")


def test_only_generators_that_follow_stems_offer_it(qtbot, tmp_path):
    from musicsim_gui.generation.base import stem_following_generators

    followers = stem_following_generators()
    assert "vit-wavegan-lofi" in followers and "vit-wavegan-debug" not in followers  # its manifest has a match
    dialog = RegenerateDialog("bass", GENERATORS, "vit-wavegan-debug", "lofi hip hop bass", 30.0,
                              stem_followers=followers)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.loops_box.isVisible() and not dialog.reference_match_check.isVisible()
    choice = dialog.choice()  # nothing to follow: no separation first, no reference_match param
    assert not choice.separate_first and "reference_match" not in dict(choice.params())


def test_the_background_lookup_reads_the_model_folders_once(monkeypatch):
    from musicsim_gui.gui.jobs_controller import lookup_generators
    from musicsim_gui.runtime.registry import ModelRegistry

    scans = []
    real_scan = ModelRegistry._scan
    monkeypatch.setattr(ModelRegistry, "_scan", lambda self: scans.append(1) or real_scan(self))
    default, reason, names, followers = lookup_generators("")
    assert len(scans) == 1
    assert default == "vit-wavegan-lofi" and not reason
    assert "vit-wavegan-debug" in names and followers == {"vit-wavegan-lofi"}


@pytest.fixture
def installed_musicgen(tmp_path, monkeypatch):
    """A tiny random MusicGen checkpoint installed as "mg-debug" in a model folder of its own."""
    import torch

    from musicsim_gui.generation.musicgen.debug import build_debug_model
    from musicsim_gui.runtime.hf_models import import_hf_model

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        folder = build_debug_model(tmp_path / "musicgen-debug")
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setenv("MUSICSIM_MODELS_DIR", str(tmp_path / "models"))  # workers inherit it
    import_hf_model(folder, name="mg-debug")
    studio_settings().setValue("generation/model", "mg-debug")
    yield "mg-debug"
    studio_settings().remove("generation/model")
    studio_settings().remove("regenerate")


def test_regenerate_piano_with_musicgen_text_and_audio(qtbot, tmp_path, installed_musicgen):
    project = new_demo_project(tmp_path)
    window = open_studio(qtbot, project.folder)
    header = wait_regenerate_ready(qtbot, window, "piano")
    qtbot.mouseClick(header.regenerate_button, Qt.MouseButton.LeftButton)
    dialog = window.jobs.regenerate_dialog
    assert dialog.model == "mg-debug" and dialog.musicgen_box.isVisibleTo(dialog)
    assert dialog.prompt_edit.text() == "lofi hip hop piano, 120 bpm"  # the template, with the demo's tempo
    dialog.prompt_edit.setText("dusty piano, slow")
    dialog.seconds_spin.setValue(0.1)
    dialog.prompt_seconds_spin.setValue(0.03)
    dialog.temperature_spin.setValue(0.9)
    dialog.top_k_spin.setValue(20)
    dialog.guidance_spin.setValue(2.0)
    dialog.seed_spin.setValue(5)
    qtbot.mouseClick(dialog.generate_button, Qt.MouseButton.LeftButton)
    track = window.project.project.track("piano")
    deadline = time.monotonic() + 120
    while not track.takes:
        rows = list(window.jobs.panel.rows.values())
        assert time.monotonic() < deadline, [row.status_label.text() for row in rows]
        window.tick()
        window.jobs.poll(force=True)
        qtbot.wait(50)
    take = track.takes[0]
    assert track.chosen_take_id == take.id and take.seed == 5 and take.model_id.startswith("musicgen")
    params = take.params
    assert params["mode"] == "text+audio" and params["prompt"] == "dusty piano, slow"
    assert params["seconds"] == pytest.approx(0.1) and params["temperature"] == pytest.approx(0.9)
    assert params["top_k"] == 20 and params["guidance_scale"] == pytest.approx(2.0)
    assert (params["decoder"], params["dtype"]) == ("fast", "float32")  # what made it, not "auto"
    assert project.take_audio_path(take).is_file()
    window.close()


def test_keep_best_is_passed_on_and_disabled_without_a_scorer(qtbot):
    dialog = RegenerateDialog("bass", GENERATORS, "vit-wavegan-debug", "bass", 30.0, scorer_ready=True)
    qtbot.addWidget(dialog)
    dialog.takes_spin.setValue(6)
    dialog.keep_spin.setValue(2)
    assert dialog.keep_spin.isEnabled() and dialog.choice().keep == 2 and dialog.choice().takes == 6
    dialog.keep_spin.setValue(6)  # keeping as many as are made keeps all
    assert dialog.choice().keep == 0
    untrained = RegenerateDialog("bass", GENERATORS, "vit-wavegan-debug", "bass", 30.0, scorer_ready=False)
    qtbot.addWidget(untrained)
    untrained.takes_spin.setValue(6)
    untrained.keep_spin.setValue(2)
    assert not untrained.keep_spin.isEnabled() and "No preference scorer" in untrained.keep_spin.toolTip()
    assert untrained.choice().keep == 0


def test_regenerate_with_passes_keep_to_the_generate_job(qtbot, tmp_path, monkeypatch):
    project = new_demo_project(tmp_path)
    window = open_studio(qtbot, project.folder, show=False)
    specs = []
    monkeypatch.setattr(window.jobs, "submit", lambda spec, done: specs.append(spec))
    window.jobs.regenerate_with(RegenerateChoice("drums", "vit-wavegan-debug", 11, takes=4, keep=1))
    (spec,) = specs
    assert spec.keep == 1 and spec.takes == 4 and spec.seeds == (11,) and spec.instruments == ("drums",)
    stem = window.project.project.track("drums").reference_stem
    assert spec.reference_stems == (("drums", str(window.project.project.resolve(stem))),)  # the track's stem
    window.close()


def test_takes_that_follow_a_stem_the_track_lacks_separate_the_reference_first(qtbot, tmp_path):
    project = new_demo_project(tmp_path)
    window = open_studio(qtbot, project.folder, show=False)
    current = window.project.project
    for track in current.tracks.values():  # a dropped song: not separated yet
        track.reference_stem = None
    window.jobs.settings.setValue("separation/model", "dsp")
    submitted = []
    submit = window.jobs.submit
    window.jobs.submit = lambda spec, done=None: (submitted.append(spec), submit(spec, done))[1]
    bass = current.track("bass")
    takes_before = len(bass.takes)
    window.jobs.regenerate_with(RegenerateChoice("bass", "vit-wavegan-debug", 5, separate_first=True))
    deadline = time.monotonic() + 120
    while len(bass.takes) == takes_before:
        rows = list(window.jobs.panel.rows.values())
        assert time.monotonic() < deadline, [row.status_label.text() for row in rows]
        window.tick()
        window.jobs.poll(force=True)
        qtbot.wait(50)
    separate, generate = submitted
    assert type(separate).__name__ == "Separate" and separate.model == "dsp"
    assert bass.reference_stem and all(track.reference_stem for track in current.tracks.values())
    assert generate.reference_stems == (("bass", str(current.resolve(bass.reference_stem))),)
    assert bass.reference_stem_separator == "dsp 1"  # who made that stem
    assert bass.takes[-1].seed == 5 and bass.takes[-1].model_id == "vit-wavegan-debug"
    window.close()


def test_first_takes_give_a_project_without_tempo_the_references_bars(qtbot, tmp_path):
    from musicsim_gui.core.project import Take

    project = new_demo_project(tmp_path)
    window = open_studio(qtbot, project.folder, show=False)
    current = window.project.project
    current.tempo_bpm = None  # a dropped song: the studio does not know its tempo yet
    window.transport_bar.show_position(1.0, current.tempo_bpm, current.first_downbeat_seconds)
    assert window.transport_bar.bars_label.text() == "bar -.-"
    take = Take("t-new", str(current.folder / "takes" / "drums" / "t-new.flac"), "vit-wavegan-lofi", "1.6", 3,
                {"tempo_bpm": 120.0, "first_downbeat": 0.5})
    window.jobs._add_takes(current, "drums", [take])
    assert current.tempo_bpm == 120.0 and current.first_downbeat_seconds == 0.5
    window.transport_bar.show_position(1.0, current.tempo_bpm, current.first_downbeat_seconds)
    assert window.transport_bar.bars_label.text() == "bar 1.2"  # bar 1 starts on the downbeat at 0.5 s
    window.project.undo_stack.undo()  # one step takes back the takes and the tempo together
    assert current.tempo_bpm is None and all(t.id != "t-new" for t in current.track("drums").takes)
    current.tempo_bpm = 90.0  # a tempo the user set is kept
    window.jobs._add_takes(current, "drums", [take])
    assert current.tempo_bpm == 90.0
    window.close()
