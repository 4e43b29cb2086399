"""`JobsController`: runs the studio's long actions as jobs and shows them in the jobs panel.

Architecture:
1. Jobs are frozen specs from `musicsim_gui.jobs` submitted to a runner (a worker process by default);
   the window's display timer calls `poll()`, which drains each handle's events on the GUI thread.
2. Each job gets a `JobRow` (progress, ETA, Cancel, error details on demand); results are applied through
   the project controller: separated stems become the tracks' reference stems, generated takes are added
   with undoable `AddTake` commands, exports offer to open their folder.
3. Which generators exist is looked up once in a background thread (the registry scan is slow); until
   then, and when none is installed, Regenerate is disabled with a tooltip saying why. Regenerate opens
   `RegenerateDialog` (generator, seed, takes, and MusicGen's mode, prompt and sampling settings).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDockWidget

from musicsim_gui.gui.jobs_panel import JobsPanel
from musicsim_gui.gui.separator_picker import SETTING as SEPARATOR_SETTING
from musicsim_gui.gui.separator_picker import separator_choices
from musicsim_gui.gui.settings_store import value

POLL_EVERY = 4


def find_generator(preferred: str, names: dict[str, str] | None = None) -> tuple[str | None, str]:
    """(generator name, reason) for Regenerate: `preferred` if installed, else the first trained one."""
    from musicsim_gui.generation.base import available_generators

    names = available_generators() if names is None else names
    if preferred:
        return (preferred, "") if preferred in names else (None, f"The generator {preferred!r} is not installed")
    trained = [name for name in names if "debug" not in name]
    if trained:
        return trained[0], ""
    return None, "No trained generator is installed (see `musicsim models`)"


def lookup_generators(preferred: str) -> tuple[str | None, str, dict[str, str], frozenset[str]]:
    """(default generator, reason when none, every generator name → description, the generators whose takes
    follow the reference's stems), for the background scan."""
    from musicsim_gui.generation.base import generator_catalogue

    catalogue = generator_catalogue()
    return (*find_generator(preferred, catalogue.descriptions), catalogue.descriptions, catalogue.stem_followers)


def stem_inputs(project, instrument: str) -> dict[str, object]:
    """The `Generate` fields that hand a track's reference stem to models that follow it: the stem's file and
    the separator that made it (none when the track has no stem)."""
    track = project.track(instrument)
    if not track.reference_stem:
        return {}
    return {"reference_stems": ((instrument, str(project.resolve(track.reference_stem))),),
            "reference_separator": track.reference_stem_separator}


class JobsController(QObject):
    """See the module docstring."""

    status_changed = Signal()
    job_done = Signal(int, object)
    job_failed = Signal(int, str)

    def __init__(self, settings, runner=None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._runner = runner
        self.panel = JobsPanel()
        self.handles: dict[int, tuple[object, Callable | None]] = {}
        self._next_key = 1
        self._ticks = 0
        self.window = None
        self.generator: str | None = None
        self.generators: dict[str, str] = {}
        self.stem_followers: frozenset[str] = frozenset()
        self.regenerate_dialog = None
        self.generator_reason = "Looking for installed generators\u2026"
        self._lookup = None
        self._lookup_started = False

    @property
    def runner(self):
        if self._runner is None:
            from musicsim_gui.jobs import ProcessRunner

            self._runner = ProcessRunner()
        if hasattr(self._runner, "threads"):  # the Settings value applies to the next job
            self._runner.threads = value(self.settings, "inference/threads") or max(1, (os.cpu_count() or 2) - 1)
        return self._runner

    def dock(self, parent) -> QDockWidget:
        """The dock widget holding the panel (it shows itself when a job starts or a notice arrives)."""
        self._dock = QDockWidget("Jobs", parent)
        self._dock.setObjectName("JobsDock")
        self._dock.setWidget(self.panel)
        return self._dock

    def _reveal(self) -> None:
        dock = getattr(self, "_dock", None)
        if dock is not None and not dock.isVisible():
            dock.show()

    def attach(self, window) -> None:
        """Connect the window's Separate and Regenerate controls to jobs."""
        self.window = window
        window.actions.separate.triggered.connect(self.separate)
        window.reference_lane.header.separate_button.clicked.connect(self.separate)
        window.reference_lane.header.separator_picker.populate(separator_choices(), self.settings)
        for instrument, row in window.track_list.rows.items():
            row.header.regenerate_clicked.connect(lambda name=instrument: self.regenerate(name))
        self.status_changed.connect(window.refresh_tracks)

    def generate_status(self) -> tuple[bool, str]:
        """(Regenerate available, tooltip)."""
        if self.generator is None:
            return False, self.generator_reason
        return True, f"Compose a new take with {self.generator}"

    # -- running jobs -----------------------------------------------------------------------------

    def submit(self, spec, on_done: Callable | None = None) -> int:
        """Start `spec` on the runner; `on_done(result)` runs on the GUI thread when it succeeds."""
        key = self._next_key
        self._next_key += 1
        row = self.panel.add_row(key, spec.title)
        self._reveal()
        try:
            handle = self.runner.submit(spec)
        except Exception as error:  # a runner that cannot start is reported like a failed job
            row.show_failed(f"{spec.title} could not start: {error}", repr(error))
            return key
        self.handles[key] = (handle, on_done)
        row.cancel_clicked.connect(lambda: self.cancel(key))
        return key

    def cancel(self, key: int) -> None:
        entry = self.handles.get(key)
        if entry is not None:
            entry[0].cancel()
            self.panel.rows[key].status_label.setText("Cancelling\u2026")

    def poll(self, force: bool = False) -> None:
        """Drain job events (every few display frames, or now with `force`)."""
        self._ticks += 1
        if not self._lookup_started:  # after the first frame, so start-up does not wait for the scan
            self._lookup_started = True
            self._lookup = ThreadPoolExecutor(max_workers=1).submit(
                lookup_generators, str(self.settings.value("generation/model", "") or ""))
        if self._lookup is not None and self._lookup.done():
            self._finish_lookup()
        if not force and self._ticks % POLL_EVERY:
            return
        for key, (handle, on_done) in list(self.handles.items()):
            events = handle.poll()
            if events:
                self._show(key, handle, on_done)

    def _show(self, key: int, handle, on_done) -> None:
        row = self.panel.rows.get(key)
        progress = handle.progress
        if row is not None:
            row.show_progress(progress.fraction, progress.message, progress.eta_seconds)
        if not handle.finished:
            return
        del self.handles[key]
        if handle.state == "done":
            message = self._apply(handle, on_done)
            if row is not None:
                row.show_done(message, can_open=self._result_folder(handle.result) is not None)
                row.open_clicked.connect(lambda: self.open_folder(handle.result))
            self.job_done.emit(key, handle.result)
        elif handle.state == "failed":
            if row is not None:
                row.show_failed(handle.error.message, handle.error.detail)
            self.job_failed.emit(key, handle.error.message)
        else:
            if row is not None:
                row.show_cancelled(handle.error.message if handle.error else "Cancelled")
            self.job_failed.emit(key, "cancelled")
        self.panel.update_summary()

    def _apply(self, handle, on_done) -> str:
        if on_done is None:
            return "Done"
        try:
            return on_done(handle.result) or "Done"
        except Exception as error:  # applying a result must never take the window down
            self.notice(f"Could not use the result of {handle.title}: {error}", repr(error))
            return "Finished, but the result could not be used"

    def _finish_lookup(self) -> None:
        try:
            self.generator, reason, self.generators, self.stem_followers = self._lookup.result()
            self.generator_reason = reason
        except Exception as error:  # a broken model folder must not stop the studio
            self.generator, self.generator_reason = None, f"Generators unavailable: {error}"
        self._lookup = None
        self.status_changed.emit()

    def notice(self, message: str, detail: str = "") -> None:
        """Show a readable notice (an error outside any job) in the panel."""
        key = self._next_key
        self._next_key += 1
        self.panel.add_row(key, "Notice").show_failed(message, detail)
        self._reveal()

    @staticmethod
    def _result_folder(result) -> Path | None:
        if isinstance(result, list) and result and isinstance(result[0], str | Path):
            return Path(result[0]).parent
        return None

    def open_folder(self, result) -> None:
        folder = self._result_folder(result)
        if folder is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    # -- the studio's jobs ------------------------------------------------------------------------

    def separate(self, then: Callable[[], object] | None = None) -> int | None:
        """Split the reference into stems (written to the project's `stems/` folder); `then()` runs once they
        are the project's (while the project is still open)."""
        from musicsim_gui.jobs import Separate

        project = self.window.project.project
        if project is None:
            return None
        spec = Separate(str(project.reference_file), model=str(self.settings.value(SEPARATOR_SETTING, "builtin")),
                        backend=value(self.settings, "inference/backend"),
                        out_dir=str(project.folder / "stems"), device=value(self.settings, "inference/device"))
        return self.submit(spec, lambda stems: self._use_stems(project, stems, then))

    def _use_stems(self, project, stems, then: Callable[[], object] | None = None) -> str:
        """`stems` (the Separate job's `SavedStems`) become the project's reference stems."""
        from musicsim_gui.core.projectfile import save_project

        controller = self.window.project
        paths = []
        for name in stems.paths:
            if name in project.tracks:
                path = project.folder / "stems" / f"{name}.flac"
                track = project.track(name)
                track.reference_stem = project.relative(path)
                track.reference_stem_separator = stems.separator
                if track.chosen_take_id is None:  # nothing else to hear on this track: play the stem
                    track.listen_reference = True
                paths.append(path)
        save_project(project)
        controller.reload_paths(paths)
        if then is not None and controller.project is project:
            then()
        return f"{len(paths)} stems ready"

    def regenerate(self, instrument: str):  # noqa: ANN201 - the RegenerateDialog, or None
        """Open the Regenerate dialog for `instrument`; its Generate button starts the job."""
        from musicsim_gui.generation.musicgen.settings import DEFAULT_TEMPLATE, fill_template
        from musicsim_gui.gui.regenerate_dialog import RegenerateDialog
        from musicsim_gui.separation.base import rough_separator

        project = self.window.project.project
        if project is None or self.generator is None:
            return None
        track = project.track(instrument)
        stem = track.reference_stem
        media = self.window.project.reference_media
        seconds = media.lane.clip.duration if media is not None else 0.0
        # who made the stem, or, on a track without one, who would make it if the dialog separates first
        made_by = track.reference_stem_separator if stem else str(self.settings.value(SEPARATOR_SETTING, "builtin"))
        dialog = RegenerateDialog(instrument, self.generators or {self.generator: ""}, self.generator,
                                  fill_template(DEFAULT_TEMPLATE, instrument, project.tempo_bpm), seconds,
                                  str(project.resolve(stem)) if stem else None, self.window, self.settings,
                                  stem_followers=self.stem_followers, stem_rough=rough_separator(made_by))
        dialog.accepted_choice.connect(self.regenerate_with)
        self.regenerate_dialog = dialog
        dialog.open()
        return dialog

    def regenerate_with(self, choice) -> int | None:
        """Compose new takes as `choice` (a `RegenerateChoice`) says; each take records its seed and params.
        When the takes should follow a stem the track does not have yet, the reference is separated first and
        the Generate job starts once the stems are the project's (the key returned is the Separate job's)."""
        from musicsim_gui.jobs import Generate

        project = self.window.project.project
        if project is None:
            return None
        instrument = choice.instrument
        if choice.separate_first and not project.track(instrument).reference_stem:
            return self.separate(then=lambda: self.regenerate_with(replace(choice, separate_first=False)))
        spec = Generate(str(project.reference_file), str(project.folder / "takes"), model=choice.model,
                        instruments=(instrument,), seeds=(choice.seed,), takes=choice.takes,
                        keep=choice.keep, backend=value(self.settings, "inference/backend"), params=choice.params(),
                        device=value(self.settings, "inference/device"), **stem_inputs(project, instrument))
        return self.submit(spec, lambda takes: self._add_takes(project, instrument, takes))

    def _add_takes(self, project, instrument: str, takes: list) -> str:
        from musicsim_gui.core.commands import AddTake, SetBeatGrid, SetListenReference

        controller = self.window.project
        if controller.project is not project:
            return "The project was closed; the takes are in its takes folder"
        edits = []
        grid = next((t.params for t in takes if t.params.get("tempo_bpm")), None)
        if project.tempo_bpm is None and grid is not None:  # the model read the reference's beat: count bars on it
            edits.append(SetBeatGrid(grid["tempo_bpm"], grid.get("first_downbeat", 0.0)))
        for take in takes:
            take.path = project.relative(Path(take.path))
            edits.append(AddTake(instrument, take, choose=True))
        if project.track(instrument).listen_reference:  # a new take is meant to be heard at once
            edits.append(SetListenReference(instrument, False))
        controller.push(*edits, text=f"Regenerate ({instrument})")
        return f"{len(takes)} new take{'s' if len(takes) != 1 else ''}"

    def shutdown(self) -> None:
        for handle, _ in self.handles.values():
            handle.cancel()
        if self._runner is not None:
            self._runner.shutdown()
