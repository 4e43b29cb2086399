"""Signal wiring of the main window: actions and widgets to controllers, controllers back to widgets.

Kept apart from `main_window` so the window class stays a layout; every connection is made here once.
"""

from __future__ import annotations

from pathlib import Path

from musicsim_gui.core import commands
from musicsim_gui.core.instruments import INSTRUMENTS


def connect_transport(window) -> None:
    """Transport actions, ruler gestures, zoom, and the loop region."""
    actions, transport, lane = window.actions, window.transport, window.reference_lane
    actions.play.triggered.connect(transport.play_pause)
    actions.stop.triggered.connect(transport.stop)
    actions.home.triggered.connect(transport.home)
    actions.loop.triggered.connect(transport.set_loop_enabled)
    lane.seek_requested.connect(transport.seek)
    lane.loop_edited.connect(transport.set_loop_region)
    transport.loop_changed.connect(lambda start, end, on: _show_loop(window, start, end, on))
    actions.zoom_in.triggered.connect(lambda: lane.timeline.zoom_x(0.8))
    actions.zoom_out.triggered.connect(lambda: lane.timeline.zoom_x(1.25))
    actions.zoom_fit.triggered.connect(lambda: lane.timeline.setXRange(0, lane.duration, padding=0))
    actions.open.triggered.connect(window.choose_and_open)
    actions.save.triggered.connect(window.save)
    actions.save_as.triggered.connect(window.save_as)
    actions.quit.triggered.connect(window.close)
    actions.export.triggered.connect(lambda: open_export_dialog(window))
    actions.settings.triggered.connect(lambda: open_settings_dialog(window))


def _show_loop(window, start: float, end: float, enabled: bool) -> None:
    window.reference_lane.set_loop(start, end, enabled)
    window.actions.loop.setChecked(enabled)


def connect_tracks(window) -> None:
    """Track headers and lanes to the project controller, and its signals back to the views."""
    project = window.project
    for instrument, row in window.track_list.rows.items():
        _connect_row(window, instrument, row)
    project.tracks_changed.connect(window.refresh_tracks)
    bar = window.transport_bar
    bar.master_previewed.connect(project.preview_master)
    bar.master_committed.connect(project.commit_master)
    project.tracks_changed.connect(lambda _names: bar.show_master(project.project.master_gain_db))
    project.project_opened.connect(lambda: on_project_opened(window))
    project.reference_ready.connect(lambda media: show_reference(window, media))
    project.lane_ready.connect(lambda name, row, media: window.track_list.rows[name].lane.set_row_waveform(
        row, media.pyramid, media.clip.frames, media.clip.sample_rate))
    project.focus_changed.connect(window.track_list.set_focus_row)
    window.reference_lane.header.listen_button.toggled.connect(project.set_monitor_reference)
    project.notice.connect(window.show_notice)
    window.actions.mute.triggered.connect(lambda: project.toggle_mute())
    window.actions.solo.triggered.connect(lambda: project.toggle_solo())
    window.actions.focus_up.triggered.connect(lambda: project.move_focus(-1))
    window.actions.focus_down.triggered.connect(lambda: project.move_focus(1))
    for stars, action in enumerate(window.actions.rate, start=1):
        action.triggered.connect(lambda _checked=False, n=stars: project.rate_chosen(n))
    project.undo_stack.cleanChanged.connect(window.update_title)
    window.track_list.set_focus_row(project.focused)
    if window.jobs is not None:
        window.jobs.attach(window)
    else:
        window.actions.separate.setEnabled(False)
        window.reference_lane.header.separate_button.setEnabled(False)


def _connect_row(window, instrument: str, row) -> None:
    project, header = window.project, row.header
    header.mute_toggled.connect(lambda on: project.push(commands.SetMute(instrument, on)))
    header.solo_toggled.connect(lambda on: project.push(commands.SetSolo(instrument, on)))
    header.reference_toggled.connect(lambda on: project.push(commands.SetListenReference(instrument, on)))
    header.gain_previewed.connect(lambda db: project.preview_gain(instrument, db))
    header.gain_committed.connect(lambda db: _commit_gain(project, instrument, db))
    header.pan_committed.connect(lambda pan: project.push(commands.SetPan(instrument, pan)))
    header.rated.connect(lambda stars: project.rate_chosen(stars, instrument))
    row.lane.row_clicked.connect(lambda index: project.choose_row(instrument, index))
    row.lane.row_menu_requested.connect(lambda index, pos: _take_menu(window, instrument, index, pos))
    row.focused.connect(project.set_focus)


def _take_menu(window, instrument: str, row: int, screen_pos) -> None:
    from musicsim_gui.gui.take_menu import build_take_menu

    window.project.set_focus(instrument)
    build_take_menu(window.project, instrument, row, window).popup(screen_pos)


def _commit_gain(project, instrument: str, gain_db: float) -> None:
    if abs(project.project.track(instrument).gain_db - gain_db) > 1e-6:
        project.push(commands.SetGain(instrument, gain_db))


def on_project_opened(window) -> None:
    """Reset every view for a newly opened project."""
    project = window.project.project
    for row in window.track_list.rows.values():
        row.lane.set_rows(row.lane.rows)  # drop the previous project's waveforms
    window.refresh_tracks(INSTRUMENTS)
    header = window.reference_lane.header
    tempo = f" \u00b7 {project.tempo_bpm:g} BPM" if project.tempo_bpm else ""
    header.show_reference(Path(project.reference_path).name, f"loading\u2026{tempo}")
    window.transport.set_loop_region(0.0, 0.0)
    window.transport_bar.show_master(project.master_gain_db)
    window.update_title()


def show_reference(window, media) -> None:
    """Draw the reference once its waveform and spectrogram are ready."""
    lane = window.reference_lane
    clip = media.lane.clip
    lane.set_duration(clip.duration)
    lane.set_waveform(media.lane.pyramid, clip.frames, clip.sample_rate)
    lane.set_spectrogram(media.decibels, clip.duration, media.hz_ticks)
    project = window.project.project
    tempo = f" \u00b7 {project.tempo_bpm:g} BPM" if project.tempo_bpm else ""
    channels = "stereo" if clip.channels == 2 else f"{clip.channels} ch"
    lane.header.show_reference(Path(project.reference_path).name,
                               f"{clip.duration:.1f} s \u00b7 {media.lane.original_rate} Hz \u00b7 {channels}{tempo}")


def open_export_dialog(window) -> None:
    from musicsim_gui.gui.export_dialog import ExportDialog

    if window.project.project is None:
        return
    ExportDialog(window.project, window.jobs, window.settings, window).open()


def open_settings_dialog(window) -> None:
    from musicsim_gui.gui.settings_dialog import SettingsDialog

    SettingsDialog(window.settings, window.transport.engine, window).open()
