"""The composition root: the `musicsim` entry point, and the one place that wires every layer for the studio.

Headless subcommands run without importing Qt; the studio's modules are imported only when it opens.
`create_main_window(project_path)` builds the fully wired window (engine, controllers, jobs) without
running the event loop, for tests, scripts and screenshots; `launch_studio` shows it and runs the loop.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from musicsim_gui.cli import main as cli_main


def application():
    """The process's QApplication (created on first use)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("MuSiC Studio")
        app.setOrganizationName("MuSiC")
    return app


def _configure_look(app) -> None:
    import pyqtgraph as pg

    from musicsim_gui.gui import theme

    theme.apply_dark_theme(app)
    pg.setConfigOptions(background=theme.BASE, foreground=theme.TEXT, antialias=False,
                        imageAxisOrder="row-major")


OUTPUT_HOSTAPI_VARIABLE = "MUSICSIM_OUTPUT_HOSTAPI"
"""Environment variable naming a host API (e.g. "JACK") whose default output is used when Settings name no
device; the test scripts point it at a JACK dummy server, which plays in real time."""


def _output_device(settings) -> int | None:
    """The output device index: the one stored in Settings, else `$MUSICSIM_OUTPUT_HOSTAPI`'s default output,
    else None (PortAudio's default output)."""
    import os

    from musicsim_gui.engine.devices import hostapi_output_device
    from musicsim_gui.gui.settings_store import value

    device = value(settings, "audio/device")
    if device is not None and device >= 0:
        return device
    hostapi = os.environ.get(OUTPUT_HOSTAPI_VARIABLE, "").strip()
    return hostapi_output_device(hostapi) if hostapi else None


def create_engine(settings, start: bool = True):
    """The playback engine for the stored device, rate and buffer size (started unless `start` is False)."""
    from musicsim_gui.engine.playback import PlaybackEngine
    from musicsim_gui.gui.settings_store import value

    engine = PlaybackEngine(sample_rate=value(settings, "audio/sample_rate"),
                            blocksize=value(settings, "audio/blocksize"),
                            device=_output_device(settings))
    if start:
        engine.start()
    return engine


def apply_model_folder(settings) -> None:
    """Point the model registry (here and in job workers, which inherit the environment) at the model
    folder chosen in Settings, if any."""
    import os

    from musicsim_gui.gui.settings_store import value

    folder = str(value(settings, "models/folder") or "").strip()
    if folder:
        os.environ["MUSICSIM_MODELS_DIR"] = folder


def create_jobs(settings):
    """The jobs controller over a worker-process runner, or None when the jobs layer is not installed."""
    try:
        from musicsim_gui.gui.jobs_controller import JobsController
    except ImportError:
        return None
    return JobsController(settings)


def create_main_window(project_path: str | Path | None = None, *, audio: bool = True, defer_open: bool = False):
    """Build the studio window on `project_path` (a project folder or an audio file; the demo when None).

    The window is fully wired (engine, undo stack, jobs) but neither shown nor running an event loop.
    With `audio=False` no output stream is opened (playback controls then say why). With `defer_open`
    the project is opened by the event loop's first pass, so the window can appear before it loads.
    """
    app = application()
    _configure_look(app)
    from musicsim_gui.gui.demo_project import demo_project
    from musicsim_gui.gui.file_controller import FileController
    from musicsim_gui.gui.main_window import MainWindow
    from musicsim_gui.gui.project_controller import ProjectController
    from musicsim_gui.gui.settings_store import studio_settings
    from musicsim_gui.gui.transport_controller import TransportController

    settings = studio_settings()
    apply_model_folder(settings)
    engine = create_engine(settings) if audio else None
    jobs = create_jobs(settings)
    project = ProjectController(engine, regenerate_status=getattr(jobs, "generate_status", None))
    window = MainWindow(project, TransportController(engine), FileController(project, settings), jobs, settings)
    if engine is not None and not engine.available:
        window.show_notice(f"Playback is off: {engine.error}. Everything else works; "
                           "pick another output in Settings.")

    def open_project() -> None:
        if project_path is None or not window.open_path(project_path):
            project.set_project(demo_project())

    if defer_open:
        window.after_first_frame(open_project)
    else:
        open_project()
    return window


def launch_studio(args: argparse.Namespace) -> int:
    """Open the studio window on `args.project` (or the demo song) and run the Qt event loop."""
    app = application()
    window = create_main_window(getattr(args, "project", None), defer_open=True)
    geometry = window.settings.value("window/geometry")
    if geometry is not None:
        window.restoreGeometry(geometry)
    state = window.settings.value("window/state")
    if state is not None:
        window.restoreState(state)
    window.show()
    return int(app.exec())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `musicsim` console script and `python -m musicsim_gui`."""
    return cli_main.main(argv, launch_studio=launch_studio)
