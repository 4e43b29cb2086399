"""The studio window end to end: open a demo project, play, mix, choose takes, undo/redo, drop a file."""

from __future__ import annotations

import numpy as np
import pytest
from gui_helpers import (
    make_demo_folder,
    open_studio,
    wait_loaded,
    write_stereo,
)
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from musicsim_gui.gui.demo_project import demo_project


@pytest.fixture
def demo(tmp_path):
    source = make_demo_folder(tmp_path / "demo-source")
    return demo_project(source, tmp_path / "project")


def open_window(qtbot, folder, audio: bool):
    return open_studio(qtbot, folder, audio=audio, size=(1400, 900))


@pytest.fixture
def window(qtbot, demo):
    """The studio on the demo project, without an output stream (see `audible_window`)."""
    win = open_window(qtbot, demo.folder, audio=False)
    yield win
    win.close()


@pytest.fixture
def audible_window(qtbot, demo):
    """The studio on the demo project, playing through the JACK dummy server under scripts/run_tests.sh
    (paced in real time), else PortAudio's default output."""
    from musicsim_gui.engine import devices

    win = open_window(qtbot, demo.folder, audio=True)
    yield win
    win.close()
    assert devices.live_streams() == 0  # closing the window closed its stream


def test_test_studio_plays_in_real_time_on_jack(qtbot, audible_window):
    import os
    import time

    from musicsim_gui.engine.devices import hostapi_output_device

    if not os.environ.get("MUSICSIM_TEST_JACK"):
        pytest.skip("no JACK dummy server (run through scripts/run_tests.sh)")
    engine = audible_window.transport.engine
    assert engine.available and engine.device == hostapi_output_device("JACK"), engine.error
    engine.reset_stats()
    started = time.monotonic()
    qtbot.wait(500)
    blocks = engine.stats().blocks
    elapsed = time.monotonic() - started
    assert blocks <= 1.5 * elapsed * engine.sample_rate / engine.blocksize + 4  # the null sink ran ~100x this


def click_lane_row(qtbot, lane, row: int) -> None:
    """Click the middle of lane row `row` with the mouse."""
    box = lane.viewbox
    (x0, x1), _ = box.viewRange()
    scene = box.mapViewToScene(QPointF((x0 + x1) / 2, row + 0.5))
    qtbot.mouseClick(lane.viewport(), Qt.MouseButton.LeftButton, pos=lane.mapFromScene(scene))


def test_window_shows_reference_and_lanes(window, demo):
    lane = window.reference_lane
    image = lane.image.image
    assert image is not None and image.shape[0] == 128 and image.dtype == np.float32
    assert lane.duration == pytest.approx(3.0, abs=0.01)
    assert lane.waveform is not None and len(lane.waveform.curve.getData()[0]) > 100
    bass = window.track_list.rows["bass"]
    assert bass.lane.rows[0].label == "stem" and len(bass.lane.rows) == 3
    assert set(bass.lane.waveforms) == {0, 1, 2}
    assert bass.lane.active_row == 1
    assert window.track_list.rows["drums"].lane.active_row == 0
    assert "Test demo" in window.windowTitle()


def test_play_solo_gain_choose_undo_redo(qtbot, audible_window, demo):
    window = audible_window
    engine = window.transport.engine
    assert engine.available, engine.error
    window.actions.play.trigger()
    qtbot.waitUntil(lambda: window.transport.position() > 0.3, timeout=5000)
    assert engine.playing
    header = window.track_list.rows["bass"].header
    slider = header.gain_slider
    slider.setSliderDown(True)
    slider.setValue(-120)  # a drag to -12 dB is heard at once but is not an edit yet
    assert engine._snapshot.gains[0, 0] == pytest.approx(10 ** (-12 / 20), rel=1e-3)
    assert window.project.project.track("bass").gain_db == 0.0 and window.project.undo_stack.count() == 0
    slider.setSliderDown(False)
    assert window.project.project.track("bass").gain_db == pytest.approx(-12.0)
    assert window.project.undo_stack.count() == 1 and header.gain_label.text() == "-12.0 dB"
    qtbot.mouseClick(header.solo_button, Qt.MouseButton.LeftButton)
    assert window.project.project.track("bass").solo
    header.set_gain(-6.0)
    assert window.project.project.track("bass").gain_db == pytest.approx(-6.0)
    gains = engine._snapshot.gains
    assert gains[0, 0] == pytest.approx(10 ** (-6 / 20), rel=1e-3) and gains[1].max() == 0.0
    click_lane_row(qtbot, window.track_list.rows["bass"].lane, 2)
    track = window.project.project.track("bass")
    assert track.chosen_take_id == track.takes[1].id
    assert window.track_list.rows["bass"].lane.active_row == 2
    assert window.project.engine_path("bass") == demo.take_audio_path(track.takes[1])
    window.actions.undo.trigger()
    assert track.chosen_take_id == track.takes[0].id
    window.actions.undo.trigger()
    assert track.gain_db == pytest.approx(-12.0)
    window.actions.redo.trigger()
    assert track.gain_db == pytest.approx(-6.0)
    master = window.transport_bar.master_slider
    master.setSliderDown(True)
    master.setValue(-30)
    master.setSliderDown(False)
    assert window.project.project.master_gain_db == pytest.approx(-3.0)
    assert engine._snapshot.gains[0, 0] == pytest.approx(10 ** (-9 / 20), rel=1e-3)
    window.actions.undo.trigger()
    assert window.project.project.master_gain_db == 0.0 and master.value() == 0
    window.actions.stop.trigger()
    assert not engine.playing


def test_keyboard_mute_solo_and_rating(qtbot, window):
    window.project.set_focus("piano")
    qtbot.keyClick(window, Qt.Key.Key_Down)
    qtbot.keyClick(window, Qt.Key.Key_Down)
    assert window.project.focused == "other"
    for _ in range(4):
        qtbot.keyClick(window, Qt.Key.Key_Up)
    assert window.project.focused == "bass"
    qtbot.keyClick(window, Qt.Key.Key_M)
    assert window.project.project.track("bass").mute
    qtbot.keyClick(window, Qt.Key.Key_4)
    track = window.project.project.track("bass")
    assert track.chosen_take.rating == 4
    assert window.track_list.rows["bass"].header.stars.stars == 4
    window.actions.undo.trigger()
    assert track.chosen_take.rating is None
    from musicsim_gui.core.ratings import RatingStore

    with RatingStore(window.project.ratings.path) as store:
        assert store.latest_ratings()[track.chosen_take_id] == 4


def test_drop_audio_file_opens_it_as_project(qtbot, window, tmp_path):
    song = write_stereo(tmp_path / "dropped song.wav", np.zeros(22050, dtype=np.float32))
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(song))])
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    project = window.project.project
    assert project.title == "dropped song"
    assert project.reference_file.name == "dropped song.wav" and project.reference_file.is_file()
    wait_loaded(qtbot, window)
    assert window.reference_lane.duration == pytest.approx(0.5, abs=0.01)


def test_opening_a_bad_file_shows_a_notice(window, tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF not really audio")
    before = window.project.project
    assert not window.open_path(bad)
    assert window.project.project is before
    assert "broken.wav" in window.statusBar().currentMessage()


def test_loop_region_from_ruler(audible_window):
    window = audible_window
    window.reference_lane.loop_edited.emit(0.5, 1.5)
    assert window.transport.loop_enabled and window.actions.loop.isChecked()
    assert window.transport.engine.loop == pytest.approx((0.5, 1.5), abs=1e-3)
    window.actions.loop.trigger()
    assert window.transport.engine.loop is None



def test_zoom_and_scroll_the_time_axis(window):
    timeline = window.reference_lane.timeline
    lane_box = window.track_list.rows["piano"].lane.viewbox
    window.actions.zoom_in.trigger()
    (x0, x1), _ = timeline.viewRange()
    assert x1 - x0 == pytest.approx(3.0 * 0.8, rel=1e-3)
    assert lane_box.viewRange()[0] == pytest.approx([x0, x1], abs=1e-6)  # lanes follow the reference axis
    window.actions.zoom_in.trigger()
    timeline.setXRange(0.2, 1.2, padding=0)
    window.actions.zoom_out.trigger()
    (y0, y1), _ = timeline.viewRange()
    assert y1 - y0 == pytest.approx(1.25, rel=1e-3) and (y0 + y1) / 2 == pytest.approx(0.7, abs=1e-3)
    window.actions.zoom_fit.trigger()
    assert timeline.viewRange()[0] == pytest.approx([0.0, 3.0], abs=1e-3)
