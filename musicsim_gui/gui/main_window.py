"""`MainWindow`: the studio window: menus, transport bar, reference lane, track list, jobs panel, status bar.

Architecture:
1. The window draws and dispatches only. Edits go to `ProjectController` (undoable core commands), the
   transport to `TransportController`, long actions to `JobsController`, files to `FileController`.
2. A 16 ms display timer pulls engine state (position, meters), delivers background results and job
   events; slower read-outs (engine health, device re-open) run every ~0.5 s and ~1 s.
3. Dropping an audio file or a project folder on the window opens it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QSplitter

from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.gui import icons
from musicsim_gui.gui.actions import create_actions
from musicsim_gui.gui.menus import build_menus
from musicsim_gui.gui.reference_lane import ReferenceLane
from musicsim_gui.gui.track_list import TrackList
from musicsim_gui.gui.transport_bar import TransportBar
from musicsim_gui.gui.window_wiring import connect_tracks, connect_transport

FRAME_MS = 16
HEALTH_EVERY = 30
DEVICE_POLL_EVERY = 60
JOBS_HEIGHT = 140


class MainWindow(QMainWindow):
    """The studio window; see the module docstring."""

    def __init__(self, project, transport, files, jobs, settings) -> None:
        super().__init__()
        self.project = project
        self.transport = transport
        self.files = files
        self.jobs = jobs
        self.settings = settings
        for controller in (project, transport, jobs):
            if controller is not None:
                controller.setParent(self)  # controllers live and die with the window
        self.setWindowTitle("MuSiC Studio")
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self._build_layout()
        connect_transport(self)
        connect_tracks(self)
        self.confirm_unsaved = True
        self._ticks = 0
        self._playhead = 0.0
        self._shows_pause = False
        self._first_frame_callbacks: list = []
        self.first_frame_done = False
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        self.statusBar().showMessage("Ready")

    def _build_layout(self) -> None:
        """Actions, transport bar, reference lane over the track list, menus and the (hidden) jobs dock."""
        stack = self.project.undo_stack
        self.actions = create_actions(self, stack.createUndoAction(self, "&Undo"),
                                      stack.createRedoAction(self, "&Redo"))
        self.transport_bar = TransportBar([self.actions.home, self.actions.play, self.actions.stop,
                                           self.actions.loop], self)
        self.addToolBar(self.transport_bar)
        self.reference_lane = ReferenceLane()
        self.track_list = TrackList(self.reference_lane.timeline)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.reference_lane)
        splitter.addWidget(self.track_list)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([330, 600])
        self.setCentralWidget(splitter)
        if self.jobs is not None:
            dock = self.jobs.dock(self)
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
            self.resizeDocks([dock], [JOBS_HEIGHT], Qt.Orientation.Vertical)
            dock.hide()  # appears with the first job or notice; View > Jobs toggles it
        self.recent_menu = build_menus(self)

    # -- display timer ----------------------------------------------------------------------------

    def after_first_frame(self, callback) -> None:
        """Run `callback` once the window has been shown and painted (start-up work that can wait)."""
        self._first_frame_callbacks.append(callback)

    def tick(self) -> None:
        """One display frame: pull engine state and deliver finished background work and job events."""
        self._ticks += 1
        if self._first_frame_callbacks:
            handle = self.windowHandle()
            if self.first_frame_done:  # one display frame after the first paint: start-up work
                callbacks, self._first_frame_callbacks = self._first_frame_callbacks, []
                for callback in callbacks:
                    callback()
            elif handle is not None and handle.isExposed():
                self.first_frame_done = True
            return
        if self.project.project is None:
            return
        self.project.poll()
        if self.jobs is not None:
            self.jobs.poll()
        seconds = self.transport.position()
        if self.transport.playing:
            self._follow(seconds)
        self._move_playhead(seconds)
        project = self.project.project
        self.transport_bar.show_position(seconds, project.tempo_bpm, project.first_downbeat_seconds)
        engine = self.transport.engine
        if engine is not None:
            self.transport_bar.meter.set_levels(*engine.meters())
            if self._ticks % DEVICE_POLL_EVERY == 0:
                engine.poll()
        if self._ticks % HEALTH_EVERY == 1:
            self.transport_bar.show_engine(*self.transport.health())
            if self.transport.playing != self._shows_pause:
                self._shows_pause = self.transport.playing
                self.actions.play.setIcon(icons.pause_icon() if self._shows_pause else icons.play_icon())

    def _move_playhead(self, seconds: float) -> None:
        """Move every playhead, but only when it would move by at least one screen pixel (repaints cost)."""
        timeline = self.reference_lane.timeline
        (x0, x1), _ = timeline.viewRange()
        pixel = (x1 - x0) / max(1.0, timeline.width())
        if abs(seconds - self._playhead) < pixel:
            return
        self._playhead = seconds
        self.reference_lane.set_playhead(seconds)
        self.track_list.set_playhead(seconds)

    def _follow(self, seconds: float) -> None:
        """Page the time axis when the playhead leaves the visible range (zoomed in)."""
        timeline = self.reference_lane.timeline
        (x0, x1), _ = timeline.viewRange()
        if seconds > x1 or seconds < x0:
            span = x1 - x0
            timeline.setXRange(seconds, seconds + span, padding=0)

    # -- files ------------------------------------------------------------------------------------

    def open_path(self, path: str | Path) -> bool:
        """Open a project folder or an audio file; shows a notice and returns False if that fails."""
        if not self.confirm_discard():
            return False
        try:
            self.files.open_path(path)
        except MusicSimError as error:
            self.show_notice(str(error))
            return False
        self.statusBar().showMessage(f"Opened {path}", 5000)
        return True

    def choose_and_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open an audio file or a project file", str(Path.home()),
            "Audio or project (*.wav *.flac *.mp3 *.ogg *.aiff *.json);;All files (*)")
        if path:
            self.open_path(path)

    def save(self) -> None:
        try:
            written = self.files.save()
        except (MusicSimError, OSError) as error:
            self.show_notice(f"Could not save: {error}")
            return
        self.statusBar().showMessage(f"Saved {written}", 5000)

    def save_as(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the project into an empty folder")
        if not folder:
            return
        try:
            written = self.files.save_as(folder)
        except (MusicSimError, OSError) as error:
            self.show_notice(f"Could not save: {error}")
            return
        self.statusBar().showMessage(f"Saved {written}", 5000)

    def show_notice(self, message: str, detail: str = "") -> None:
        """A readable, non-modal notice: the status bar, and the jobs panel's log when there is one."""
        self.statusBar().showMessage(message, 15000)
        if self.jobs is not None:
            self.jobs.notice(message, detail)

    # -- drag and drop ----------------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        urls = [url for url in event.mimeData().urls() if url.isLocalFile()]
        if not urls:
            return
        event.acceptProposedAction()
        self.open_path(urls[0].toLocalFile())

    # -- views ------------------------------------------------------------------------------------

    def refresh_tracks(self, instruments=INSTRUMENTS) -> None:
        for instrument in instruments:
            if self.track_list.rows[instrument].show_state(self.project.track_state(instrument)):
                self.project.redeliver(instrument)

    def update_title(self, *_args) -> None:
        """Show the project's name, with `*` while it has unsaved edits."""
        project = self.project.project
        name = (project.title or project.folder.name) if project else "no project"
        dirty = "" if self.project.undo_stack.isClean() else " *"
        self.setWindowTitle(f"{name}{dirty} \u2014 MuSiC Studio")

    def ask_save_changes(self) -> QMessageBox.StandardButton:
        """Ask whether to save unsaved edits: Save, Discard or Cancel."""
        buttons = (QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                   | QMessageBox.StandardButton.Cancel)
        return QMessageBox.question(self, "Unsaved changes", "Save the changes to this project first?",
                                    buttons, QMessageBox.StandardButton.Save)

    def confirm_discard(self) -> bool:
        """True when the open project may be closed: it is saved, or the user saved or discarded its edits."""
        if not self.confirm_unsaved or self.project.project is None or self.project.undo_stack.isClean():
            return True
        answer = self.ask_save_changes()
        if answer == QMessageBox.StandardButton.Save:
            self.save()
            return self.project.undo_stack.isClean()
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self.confirm_discard():
            event.ignore()
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.timer.stop()
        self.project.background.shutdown()
        self.project.ratings.close()
        if self.jobs is not None:
            self.jobs.shutdown()
        if self.transport.engine is not None:
            self.transport.engine.close()
        super().closeEvent(event)
