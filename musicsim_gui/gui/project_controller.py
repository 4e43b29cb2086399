"""`ProjectController`: the view-model between the studio's widgets and the project, its undo stack and the engine.

Architecture:
1. Owns the open `Project` and a `QUndoStack`; every edit is a core command pushed through
   `CoreUndoCommand`, so undo/redo covers the GUI and the model the same way as the CLI.
2. After every do/undo it emits `tracks_changed(instruments)` for the views and updates the engine: gains
   through `update_strips` (cheap), and the audible file of a track through `set_track_clip` (a take chosen
   while playing is heard from the next block).
3. Audio files are decoded, resampled to the engine rate and turned into peak pyramids by `BackgroundWork`;
   results arrive on the GUI thread (`poll`) as `reference_ready` and `lane_ready`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.mixkernel import ChannelStrip
from musicsim_gui.core import commands
from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.core.project import Project
from musicsim_gui.gui.background import BackgroundWork
from musicsim_gui.gui.media import LaneMedia, load_lane_media, load_reference_media
from musicsim_gui.gui.rating_log import RatingLog
from musicsim_gui.gui.track_state import TrackState, describe_track
from musicsim_gui.gui.undo_command import CoreUndoCommand

DEFAULT_RATE = 48000
REFERENCE_INDEX = len(INSTRUMENTS)
"""The engine track that plays the reference song (after the instrument tracks)."""


def audible_path(project: Project, instrument: str) -> Path | None:
    """The file a track sounds now: its stem when listening to the reference, else its chosen take."""
    from musicsim_gui.audio.project_render import track_audio_path

    return track_audio_path(project, project.track(instrument))


def lane_paths(project: Project, instrument: str) -> list[Path | None]:
    """The file of each lane row: the reference stem first, then every take."""
    track = project.track(instrument)
    stem = project.resolve(track.reference_stem) if track.reference_stem else None
    return [stem] + [project.take_audio_path(take) for take in track.takes]


class ProjectController(QObject):
    """See the module docstring. `engine` may be None (no playback) and is only touched on this thread."""

    project_opened = Signal()
    tracks_changed = Signal(tuple)
    reference_ready = Signal(object)
    lane_ready = Signal(str, int, object)
    focus_changed = Signal(str)
    notice = Signal(str, str)

    def __init__(self, engine=None, regenerate_status=None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.rate = int(getattr(engine, "sample_rate", DEFAULT_RATE))
        self.regenerate_status = regenerate_status or (lambda: (False, "No generator is installed"))
        self.project: Project | None = None
        self.undo_stack = QUndoStack(self)
        self.background = BackgroundWork()
        self.media: dict[Path, LaneMedia] = {}
        self._loading: set[Path] = set()
        self._engine_paths: list[Path | None] = [None] * len(INSTRUMENTS)
        self.focused = INSTRUMENTS[0]
        self.reference_media = None
        self.monitor_reference = False
        self.ratings = RatingLog()

    # -- opening ----------------------------------------------------------------------------------

    def set_project(self, project: Project) -> None:
        """Show `project`: reset undo history, start loading its audio, reset the engine's tracks."""
        self.project = project
        self.undo_stack.clear()
        self.reference_media = None
        self._engine_paths = [None] * len(INSTRUMENTS)
        if self.engine is not None:
            self.engine.stop()
            self.engine.seek(0.0)
            silent = [self._silence()] * (len(INSTRUMENTS) + 1)
            self.engine.set_sources(silent, self.strips(), project.master_gain_db)
        self.project_opened.emit()
        self._load_reference(project.reference_file)
        for instrument in INSTRUMENTS:
            for path in lane_paths(project, instrument):
                if path in self.media:
                    self._deliver(path, self.media[path])
                else:
                    self._request(path)

    def _silence(self) -> AudioClip:
        return AudioClip(np.zeros((1, 0), dtype=np.float32), self.rate, "silence")

    def _load_reference(self, path: Path) -> None:
        def done(media) -> None:
            if self.project is not None and media.lane.path == self.project.reference_file:
                self.reference_media = media
                if self.engine is not None:
                    self.engine.set_track_clip(REFERENCE_INDEX, media.lane.clip)
                self.reference_ready.emit(media)

        self.background.submit(lambda: load_reference_media(path, self.rate), done, self._failed)

    def _request(self, path: Path | None) -> None:
        if path is None or path in self.media or path in self._loading:
            return
        self._loading.add(path)

        def done(media: LaneMedia) -> None:
            self._loading.discard(path)
            self.media[path] = media
            self._deliver(path, media)

        def failed(error: BaseException) -> None:
            self._loading.discard(path)
            self._failed(error)

        self.background.submit(lambda: load_lane_media(path, self.rate), done, failed)

    def _deliver(self, path: Path, media: LaneMedia) -> None:
        if self.project is None:
            return
        for index, instrument in enumerate(INSTRUMENTS):
            for row, row_path in enumerate(lane_paths(self.project, instrument)):
                if row_path == path:
                    self.lane_ready.emit(instrument, row, media)
            self._sync_engine_track(index)

    def redeliver(self, instrument: str) -> None:
        """Emit `lane_ready` again for every loaded row of `instrument` (its lane was rebuilt)."""
        for row, path in enumerate(lane_paths(self.project, instrument)):
            if path in self.media:
                self.lane_ready.emit(instrument, row, self.media[path])

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, MusicSimError):
            self.notice.emit(str(error), "")
        else:
            self.notice.emit(f"Could not prepare audio: {error}", repr(error))

    def reload_paths(self, paths) -> None:
        """Forget what was loaded from `paths` (the files changed) and load them again."""
        for path in paths:
            self.media.pop(Path(path), None)
            for index, engine_path in enumerate(self._engine_paths):
                if engine_path == Path(path):
                    self._engine_paths[index] = None
            self._request(Path(path))
        self._changed(INSTRUMENTS)

    def poll(self) -> None:
        """Deliver finished background work (called by the display timer)."""
        self.background.poll()

    # -- engine -----------------------------------------------------------------------------------

    def strips(self) -> list[ChannelStrip]:
        """The engine's channel strips: every track in instrument order, then the reference mix.

        The reference is heard instead of the tracks while `monitor_reference` is on (an A/B of the
        whole mix against the song it imitates); it is never part of the project's mix or exports.
        """
        assert self.project is not None
        hide = self.monitor_reference
        tracks = [ChannelStrip(t.gain_db, t.pan, t.mute or hide, t.solo and not hide)
                  for t in self.project.tracks.values()]
        return tracks + [ChannelStrip(mute=not hide)]

    def set_monitor_reference(self, on: bool) -> None:
        """Hear the reference song instead of the project's mix (monitoring only, not an edit)."""
        self.monitor_reference = bool(on)
        if self.engine is not None and self.project is not None:
            self.engine.update_strips(self.strips(), self.project.master_gain_db)

    def _sync_engine_track(self, index: int) -> None:
        """Give the engine track `index`'s audible clip if it changed and is loaded."""
        if self.engine is None or self.project is None:
            return
        path = audible_path(self.project, INSTRUMENTS[index])
        if path == self._engine_paths[index]:
            return
        if path is not None and path not in self.media:
            self._request(path)
            return
        clip = self.media[path].clip if path is not None else self._silence()
        self.engine.set_track_clip(index, clip)
        self._engine_paths[index] = path

    def engine_path(self, instrument: str) -> Path | None:
        """The file the engine is playing on `instrument`'s track (None: silence)."""
        return self._engine_paths[INSTRUMENTS.index(instrument)]

    def preview_master(self, gain_db: float) -> None:
        """Hear a master fader position while it is dragged, without editing the project yet."""
        if self.engine is not None and self.project is not None:
            self.engine.update_strips(self.strips(), gain_db)

    def commit_master(self, gain_db: float) -> None:
        """Set the master gain as one undoable edit (nothing when unchanged)."""
        if self.project is not None and abs(self.project.master_gain_db - gain_db) > 1e-6:
            self.push(commands.SetMasterGain(gain_db))

    def preview_gain(self, instrument: str, gain_db: float) -> None:
        """Hear a fader position while it is dragged, without editing the project yet."""
        if self.engine is None or self.project is None:
            return
        strips = self.strips()
        index = INSTRUMENTS.index(instrument)
        old = strips[index]
        strips[index] = ChannelStrip(gain_db, old.pan, old.mute, old.solo)
        self.engine.update_strips(strips, self.project.master_gain_db)

    # -- edits ------------------------------------------------------------------------------------

    def push(self, *edits, text: str = "") -> None:
        """Apply core commands as one undo step (several become a macro named `text`)."""
        if self.project is None or not edits:
            return
        if len(edits) > 1:
            self.undo_stack.beginMacro(text or edits[0].text)
        for edit in edits:
            self.undo_stack.push(CoreUndoCommand(self.project, edit, self._changed))
        if len(edits) > 1:
            self.undo_stack.endMacro()

    def _changed(self, instruments: tuple[str, ...]) -> None:
        if self.project is None:
            return
        if self.engine is not None:
            self.engine.update_strips(self.strips(), self.project.master_gain_db)
            for instrument in instruments:
                self._sync_engine_track(INSTRUMENTS.index(instrument))
        for instrument in instruments:
            for path in lane_paths(self.project, instrument):
                self._request(path)
        self.tracks_changed.emit(tuple(instruments))

    def track_state(self, instrument: str) -> TrackState:
        assert self.project is not None
        return describe_track(self.project.track(instrument), self.regenerate_status())

    def set_focus(self, instrument: str) -> None:
        if instrument != self.focused:
            self.focused = instrument
            self.focus_changed.emit(instrument)

    def move_focus(self, step: int) -> None:
        """Focus the track `step` places below (negative: above) the focused one, clamped."""
        index = min(len(INSTRUMENTS) - 1, max(0, INSTRUMENTS.index(self.focused) + step))
        self.set_focus(INSTRUMENTS[index])

    def choose_row(self, instrument: str, row: int) -> None:
        """Make lane row `row` the heard one: 0 = the reference stem, k = take k."""
        track = self.project.track(instrument)
        if row == 0:
            if track.reference_stem and not track.listen_reference:
                self.push(commands.SetListenReference(instrument, True))
            return
        take = track.takes[row - 1]
        edits = []
        if track.chosen_take_id != take.id:
            edits.append(commands.ChooseTake(instrument, take.id))
        if track.listen_reference:
            edits.append(commands.SetListenReference(instrument, False))
        self.push(*edits, text=f"Choose take ({instrument})")

    def toggle_mute(self, instrument: str | None = None) -> None:
        instrument = instrument or self.focused
        self.push(commands.SetMute(instrument, not self.project.track(instrument).mute))

    def toggle_solo(self, instrument: str | None = None) -> None:
        instrument = instrument or self.focused
        self.push(commands.SetSolo(instrument, not self.project.track(instrument).solo))

    def rate_chosen(self, stars: int, instrument: str | None = None) -> bool:
        """Rate the chosen take of `instrument` (default: the focused track); False when it has none."""
        instrument = instrument or self.focused
        take = self.project.track(instrument).chosen_take if self.project else None
        if take is None:
            self.notice.emit(f"The {instrument} track has no chosen take to rate.", "")
            return False
        self.rate_take(instrument, take.id, stars)
        return True

    def rate_take(self, instrument: str, take_id: str, stars: int | None) -> None:
        """Rate a take (an undoable edit) and log the judgement in the ratings database."""
        take = self.project.track(instrument).find_take(take_id)
        self.push(commands.RateTake(instrument, take_id, stars))
        try:
            self.ratings.record(self.project, instrument, take, stars)
        except MusicSimError as error:  # the edit stands; only the learning log is missing
            self.notice.emit(f"The rating was not logged: {error}", "")
