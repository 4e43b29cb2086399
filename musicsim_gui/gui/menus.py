"""The main window's menu bar: File (with Recent), Edit, Transport, View, Track, Ratings, Help."""

from __future__ import annotations

from PySide6.QtWidgets import QDockWidget, QMenu

from musicsim_gui.gui.ratings_menu import add_ratings_menu
from musicsim_gui.gui.settings_store import recent_files


def build_menus(window) -> QMenu:
    """Fill `window`'s menu bar from `window.actions`; returns the Recent submenu (refreshed on show)."""
    actions = window.actions
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.addAction(actions.open)
    recent = file_menu.addMenu("Open &Recent")
    recent.aboutToShow.connect(lambda: _fill_recent(window, recent))
    file_menu.addSeparator()
    for action in (actions.save, actions.save_as, actions.export):
        file_menu.addAction(action)
    file_menu.addSeparator()
    file_menu.addAction(actions.settings)
    file_menu.addSeparator()
    file_menu.addAction(actions.quit)
    edit = bar.addMenu("&Edit")
    edit.addAction(actions.undo)
    edit.addAction(actions.redo)
    transport = bar.addMenu("&Transport")
    for action in (actions.play, actions.stop, actions.home, actions.loop):
        transport.addAction(action)
    view = bar.addMenu("&View")
    for action in (actions.zoom_in, actions.zoom_out, actions.zoom_fit):
        view.addAction(action)
    dock = window.findChild(QDockWidget, "JobsDock")
    if dock is not None:
        view.addSeparator()
        view.addAction(dock.toggleViewAction())
    track = bar.addMenu("Trac&k")
    for action in (actions.focus_up, actions.focus_down, actions.mute, actions.solo):
        track.addAction(action)
    rate = track.addMenu("Rate chosen take")
    for action in actions.rate:
        rate.addAction(action)
    track.addSeparator()
    track.addAction(actions.separate)
    add_ratings_menu(window)
    _fill_recent(window, recent)
    return recent


def _fill_recent(window, menu: QMenu) -> None:
    menu.clear()
    paths = recent_files(window.settings)
    if not paths:
        menu.addAction("(none)").setEnabled(False)
    for path in paths:
        menu.addAction(path, lambda p=path: window.open_path(p))
