"""Studio editing paths: transport keys, A/B, regenerate with a real (debug) generator, save, settings."""

from __future__ import annotations

import time

import pytest
from gui_helpers import make_demo_folder, open_studio, wait_regenerate_ready
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from musicsim_gui.core.projectfile import load_project
from musicsim_gui.gui.demo_project import demo_project
from musicsim_gui.gui.settings_dialog import SettingsDialog
from musicsim_gui.gui.settings_store import recent_files, studio_settings, value


@pytest.fixture
def project(tmp_path):
    return demo_project(make_demo_folder(tmp_path / "demo-source"), tmp_path / "project")


def open_window(qtbot, folder, audio=False):
    return open_studio(qtbot, folder, audio=audio)


def test_space_plays_and_home_returns(qtbot, project):
    window = open_window(qtbot, project.folder, audio=True)
    engine = window.transport.engine
    window.reference_lane.seek_requested.emit(1.0)
    assert window.transport.position() == pytest.approx(1.0, abs=0.01)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert engine.playing
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not engine.playing
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert window.transport.position() == 0.0
    window.tick()
    assert window.transport_bar.clock_label.text() == "00:00.000"
    assert window.transport_bar.bars_label.text() == "bar 1.1"
    window.close()


def test_ab_switch_plays_the_reference_stem(qtbot, project):
    window = open_window(qtbot, project.folder, audio=True)
    header = window.track_list.rows["bass"].header
    assert header.ab_button.isEnabled() and not header.ab_button.isChecked()
    qtbot.mouseClick(header.ab_button, Qt.MouseButton.LeftButton)
    track = window.project.project.track("bass")
    assert track.listen_reference
    assert window.project.engine_path("bass") == project.resolve(track.reference_stem)
    assert window.track_list.rows["bass"].lane.active_row == 0
    assert header.summary_label.text() == "hearing the reference stem"
    window.actions.undo.trigger()
    assert not track.listen_reference and window.project.engine_path("bass") == project.take_audio_path(track.takes[0])
    window.close()


def test_listen_to_the_reference_instead_of_the_mix(qtbot, project):
    window = open_window(qtbot, project.folder, audio=True)
    engine = window.transport.engine
    assert engine._snapshot.gains[4].max() == 0.0 and engine._snapshot.gains[:4].max() > 0.0
    assert engine._snapshot.sources[4].shape[1] > 0  # the reference is loaded into its own engine track
    button = window.reference_lane.header.listen_button
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert engine._snapshot.gains[:4].max() == 0.0 and engine._snapshot.gains[4].min() > 0.0
    assert window.project.undo_stack.count() == 0
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert engine._snapshot.gains[4].max() == 0.0
    window.close()


def test_regenerate_adds_a_take_from_the_debug_generator(qtbot, project):
    studio_settings().setValue("generation/model", "vit-wavegan-debug")
    try:
        window = open_window(qtbot, project.folder)
        header = wait_regenerate_ready(qtbot, window, "piano")
        qtbot.mouseClick(header.regenerate_button, Qt.MouseButton.LeftButton)
        dialog = window.jobs.regenerate_dialog
        assert dialog.model == "vit-wavegan-debug" and not dialog.musicgen_box.isVisibleTo(dialog)
        dialog.seed_spin.setValue(11)
        dialog.accept()
        track = window.project.project.track("piano")
        deadline = time.monotonic() + 120
        while not track.takes:
            assert time.monotonic() < deadline, "no take arrived"
            window.tick()
            window.jobs.poll(force=True)
            qtbot.wait(50)
        take = track.takes[0]
        assert track.chosen_take_id == take.id and take.model_id == "vit-wavegan-debug" and take.seed == 11
        assert project.take_audio_path(take).is_file() and take.path.startswith("takes/piano/")
        assert "vit-wavegan-debug" in header.summary_label.text()
        window.actions.undo.trigger()
        assert not track.takes
        window.close()
    finally:
        studio_settings().remove("generation/model")
        studio_settings().remove("regenerate")  # the dialog's remembered choices


def test_save_and_reopen_keeps_edits(qtbot, project, tmp_path):
    window = open_window(qtbot, project.folder)
    window.project.toggle_solo("drums")
    assert window.windowTitle().startswith("Test demo *")
    window.actions.save.trigger()
    assert not window.windowTitle().startswith("Test demo *")
    assert load_project(project.folder).track("drums").solo
    window.files.save_as(tmp_path / "copy")
    assert load_project(tmp_path / "copy").track("drums").solo
    assert recent_files(window.settings)[0] == str((tmp_path / "copy").resolve())
    window.close()


def test_drop_a_project_folder_opens_it(qtbot, project, tmp_path):
    other = demo_project(make_demo_folder(tmp_path / "other-source"), tmp_path / "other")
    other.title = "Other"
    window = open_window(qtbot, project.folder)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(other.folder))])
    window.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier))
    assert window.project.project.folder == other.folder.resolve()
    window.close()


def test_settings_dialog_stores_choices(qtbot, tmp_path):
    settings = studio_settings()
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.block_combo.setCurrentIndex(dialog.block_combo.findData(512))
    dialog.backend_combo.setCurrentIndex(dialog.backend_combo.findData("onnx"))
    dialog.inference_combo.setCurrentIndex(dialog.inference_combo.findData("cpu"))
    dialog.threads_spin.setValue(1)
    dialog.model_edit.setText(str(tmp_path / "my models"))
    dialog.accept()
    assert int(studio_settings().value("audio/blocksize")) == 512
    assert studio_settings().value("inference/backend") == "onnx"
    from musicsim_gui.gui.jobs_controller import JobsController

    runner = JobsController(settings).runner  # what the next job runs with
    assert runner.threads == 1 and value(settings, "inference/device") == "cpu"
    from musicsim_gui.runtime.paths import user_models_dir

    assert user_models_dir() == tmp_path / "my models"
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.model_edit.setText("")
    dialog.accept()
    assert user_models_dir().name == "models" and "my models" not in str(user_models_dir())
    for key in ("audio/blocksize", "inference/backend", "inference/device", "inference/threads", "models/folder"):
        settings.remove(key)


def test_missing_output_device_leaves_a_working_studio_with_a_notice(qtbot, project):
    studio_settings().setValue("audio/device", 4242)
    try:
        window = open_window(qtbot, project.folder, audio=True)
    finally:
        studio_settings().remove("audio/device")
    engine = window.transport.engine
    assert not engine.available
    rows = list(window.jobs.panel.rows.values())
    assert rows and "Playback is off" in rows[0].status_label.text()
    window.tick()
    assert "no output" in window.transport_bar.engine_label.text()
    window.project.toggle_mute("bass")
    assert window.project.project.track("bass").mute
    window.close()


def test_closing_with_unsaved_edits_asks_first(qtbot, project):
    window = open_window(qtbot, project.folder)
    window.confirm_unsaved = True
    window.project.toggle_mute("piano")
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Save]
    window.ask_save_changes = lambda: answers.pop(0)
    assert not window.close() and window.isVisible()
    assert not load_project(project.folder).track("piano").mute
    assert window.close() and not answers
    assert load_project(project.folder).track("piano").mute


def test_take_menu_rates_and_deletes_takes(qtbot, project):
    from musicsim_gui.gui.take_menu import build_take_menu

    window = open_window(qtbot, project.folder)
    controller = window.project
    track = controller.project.track("bass")
    second = track.takes[1]
    menu = build_take_menu(controller, "bass", 2, window)
    actions = {action.text(): action for action in menu.actions()}
    rate_menu = actions["Rate"].menu()
    rate_menu.actions()[2].trigger()
    assert second.rating == 3
    lane = window.track_list.rows["bass"].lane
    assert lane.rows[2].label == "T2 3\u2605" and set(lane.waveforms) == {0, 1, 2}
    actions["Delete take 2"].trigger()
    assert [take.id for take in track.takes] == [track.takes[0].id]
    assert window.track_list.rows["bass"].lane.rows[-1].label == "T1"
    window.actions.undo.trigger()
    assert track.takes[1] is second and len(lane.rows) == 3 and set(lane.waveforms) == {0, 1, 2}
    stem_menu = build_take_menu(controller, "bass", 0, window)
    stem_menu.actions()[0].trigger()
    assert track.listen_reference
