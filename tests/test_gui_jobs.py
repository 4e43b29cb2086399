"""Jobs from the studio: export equals the offline mix sample for sample, cancel, readable failures, separation."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from gui_helpers import new_demo_project, open_studio, wait_loaded
from PySide6.QtCore import Qt

from musicsim_gui.audio.project_render import render_project
from musicsim_gui.core import commands
from musicsim_gui.gui.export_dialog import ExportDialog
from musicsim_gui.jobs import SleepSteps


@pytest.fixture
def window(qtbot, tmp_path):
    win = open_studio(qtbot, new_demo_project(tmp_path).folder)
    yield win
    win.close()


def tick_until(qtbot, window, condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for a job")
        window.tick()
        window.jobs.poll(force=True)
        qtbot.wait(30)


def test_export_dialog_writes_the_mix_as_heard(qtbot, window, tmp_path):
    controller = window.project
    controller.push(commands.SetGain("drums", -4.5))
    controller.push(commands.SetPan("piano", -0.5))
    controller.choose_row("bass", 2)
    dialog = ExportDialog(controller, window.jobs, window.settings, window)
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText(str(tmp_path / "exports"))
    dialog.template_edit.setText("{title} final")
    dialog.format_combo.setCurrentText("WAV 32-bit float")
    dialog.contents_combo.setCurrentText("Mix and stems")
    assert "Test demo final.wav" in dialog.preview.text()
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    tick_until(qtbot, window, lambda: bool(dialog.written) or "failed" in dialog.result_label.text())
    assert dialog.written, dialog.result_label.text()
    mix_path = tmp_path / "exports" / "Test demo final.wav"
    assert dialog.written[0] == str(mix_path) and dialog.open_button.isVisibleTo(dialog)
    written, rate = sf.read(mix_path, dtype="float32", always_2d=True)
    expected = render_project(controller.project)
    assert rate == expected.sample_rate
    np.testing.assert_array_equal(written.T, expected.samples)
    stems = sorted(p.name for p in (tmp_path / "exports" / "Test demo final stems").iterdir())
    assert stems == ["bass.wav", "drums.wav", "other.wav", "piano.wav"]


def test_export_dialog_writes_stems_only(qtbot, window, tmp_path):
    controller = window.project
    controller.push(commands.SetGain("drums", -4.5))
    dialog = ExportDialog(controller, window.jobs, window.settings, window)
    qtbot.addWidget(dialog)
    dialog.folder_edit.setText(str(tmp_path / "exports"))
    dialog.template_edit.setText("{title}")
    dialog.format_combo.setCurrentText("FLAC 24-bit")
    dialog.contents_combo.setCurrentText("Stems only")
    assert dialog.preview.text().startswith("Writes one file per track in") and ".flac" not in dialog.preview.text()
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    tick_until(qtbot, window, lambda: bool(dialog.written) or "failed" in dialog.result_label.text())
    folder = tmp_path / "exports" / "Test demo stems"
    assert sorted(Path(p).name for p in dialog.written) == ["bass.flac", "drums.flac", "other.flac", "piano.flac"]
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == [folder.name]  # no mix file
    stems = sum(sf.read(folder / name, dtype="float32", always_2d=True)[0] for name in ("bass.flac", "drums.flac",
                                                                                         "other.flac", "piano.flac"))
    np.testing.assert_allclose(stems.T, render_project(controller.project).samples, atol=3e-4)  # 24-bit steps
    assert window.settings.value("export/mix") == "false"
    window.settings.remove("export/mix")
    window.settings.remove("export/stems")


def test_cancel_a_running_job_from_its_row(qtbot, window):
    jobs = window.jobs
    key = jobs.submit(SleepSteps(steps=200, step_seconds=0.05))
    row = jobs.panel.rows[key]
    tick_until(qtbot, window, lambda: row.bar.value() > 0)
    qtbot.mouseClick(row.cancel_button, Qt.MouseButton.LeftButton)
    tick_until(qtbot, window, lambda: row.finished)
    assert "Cancelled" in row.status_label.text()
    assert row.bar.value() < 1000 and key not in jobs.handles


def test_failed_job_shows_message_and_details_on_demand(qtbot, window):
    jobs = window.jobs
    key = jobs.submit(SleepSteps(steps=5, step_seconds=0.01, fail_at=2))
    row = jobs.panel.rows[key]
    tick_until(qtbot, window, lambda: row.finished)
    assert "Step 2 of 5 failed on purpose." in row.status_label.text()
    assert row.details_button.isVisibleTo(row) and not row.details.isVisibleTo(row)
    qtbot.mouseClick(row.details_button, Qt.MouseButton.LeftButton)
    assert row.details.isVisibleTo(row) and "Traceback" in row.details.toPlainText()


def test_separate_sets_reference_stems(qtbot, window):
    window.settings.setValue("separation/model", "dsp")
    project = window.project.project
    for track in project.tracks.values():
        track.reference_stem = None
        track.listen_reference = False
    window.refresh_tracks()
    assert window.track_list.rows["drums"].lane.rows[0].label == "no stem"
    key = window.jobs.separate()
    row = window.jobs.panel.rows[key]
    tick_until(qtbot, window, lambda: row.finished, timeout=120)
    assert "4 stems ready" in row.status_label.text(), row.status_label.text()
    assert project.track("drums").reference_stem == "stems/drums.flac"
    assert project.track("drums").reference_stem_separator == "dsp 1"
    assert project.track("drums").listen_reference and not project.track("bass").listen_reference
    wait_loaded(qtbot, window)
    assert window.track_list.rows["drums"].lane.rows[0].label == "stem"
    assert 0 in window.track_list.rows["drums"].lane.waveforms
    assert window.track_list.rows["drums"].lane.active_row == 0


def test_regenerate_following_a_stem_the_track_lacks_separates_first(qtbot, window):
    from gui_helpers import wait_regenerate_ready

    from musicsim_gui.gui.regenerate_choice import RegenerateChoice

    window.settings.setValue("separation/model", "builtin")  # the DSP separator's stems would not be followed
    project = window.project.project
    for track in project.tracks.values():
        track.reference_stem = None
    window.refresh_tracks()
    wait_regenerate_ready(qtbot, window, "bass")
    assert "vit-wavegan-lofi" in window.jobs.stem_followers
    before = len(project.track("bass").takes)
    window.jobs.regenerate_with(RegenerateChoice("bass", "vit-wavegan-lofi", 7, separate_first=True))
    tick_until(qtbot, window, lambda: len(project.track("bass").takes) > before, timeout=180)
    assert project.track("bass").reference_stem == "stems/bass.flac"  # separated, then generated
    assert project.track("bass").reference_stem_separator.startswith("separation-builtin ")
    assert all(project.track(name).reference_stem for name in ("drums", "piano", "other"))
    take = project.track("bass").takes[-1]
    assert take.seed == 7 and take.params["reference_match"] is True


def test_following_a_stem_the_rough_separator_would_make_is_asked_for_by_hand(qtbot, window):
    """With the DSP separator picked, the dialog offers separating first unticked (its stem would not be
    followed by default); ticked, the reference is separated with it and the take follows that stem."""
    from gui_helpers import wait_regenerate_ready

    window.settings.setValue("separation/model", "dsp")
    window.settings.setValue("regenerate/reference_match", True)  # the musician follows stems as a rule
    project = window.project.project
    for track in project.tracks.values():
        track.reference_stem = None
    window.refresh_tracks()
    wait_regenerate_ready(qtbot, window, "bass")
    dialog = window.jobs.regenerate("bass")
    dialog.generator_combo.setCurrentIndex(list(dialog.generators).index("vit-wavegan-lofi"))
    check = dialog.reference_match_check
    assert check.isVisible() and not check.isChecked() and "rough DSP separator" in check.text()
    assert "pick the built-in model" in check.toolTip()
    assert not dialog.choice().separate_first and dict(dialog.choice().params())["reference_match"] is False
    check.setChecked(True)
    choice = dialog.choice()
    assert choice.separate_first and dict(choice.params())["reference_match"] is True
    dialog.close()
    before = len(project.track("bass").takes)
    window.jobs.regenerate_with(choice)
    tick_until(qtbot, window, lambda: len(project.track("bass").takes) > before, timeout=180)
    assert project.track("bass").reference_stem_separator == "dsp 1"
    assert project.track("bass").takes[-1].params["reference_match"] is True
    assert window.settings.value("regenerate/reference_match") in (True, "true")
