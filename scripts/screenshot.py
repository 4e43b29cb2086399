"""Render the studio's main window with the demo project (or a given project/audio file) to a PNG.

Usage: python scripts/screenshot.py [-o OUT.png] [--project PATH] [--size 1600x1000] [--dialog export|regenerate]
Runs under Xvfb or with QT_QPA_PLATFORM=offscreen (the default when no display is set).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def settle(window, seconds: float = 20.0) -> None:
    """Process events until the window's background loading is done (at most `seconds`)."""
    from PySide6.QtWidgets import QApplication

    deadline = time.monotonic() + seconds
    controller = window.project
    while time.monotonic() < deadline:
        QApplication.processEvents()
        window.tick()
        if not controller.background.busy and controller.reference_media is not None:
            break
        time.sleep(0.02)
    for _ in range(10):
        QApplication.processEvents()
        time.sleep(0.01)


def open_dialog(window, name: str):  # noqa: ANN201 - a QDialog
    """The Export dialog, or the Regenerate dialog of the piano track (with a MusicGen entry to show its
    settings group), opened over `window`."""
    from musicsim_gui.generation.musicgen.settings import DEFAULT_TEMPLATE, fill_template
    from musicsim_gui.gui.export_dialog import ExportDialog
    from musicsim_gui.gui.regenerate_dialog import RegenerateDialog

    if name == "export":
        dialog = ExportDialog(window.project, window.jobs, window.settings, window)
    else:
        project = window.project.project
        generators = {"musicgen-small": "musicgen 1.0", "vit-wavegan-lofi": "vit-wavegan (bundled)"}
        dialog = RegenerateDialog("piano", generators, "musicgen-small",
                                  fill_template(DEFAULT_TEMPLATE, "piano", project.tempo_bpm), 30.0, None, window)
    dialog.show()
    return dialog


def capture(output: Path, project: str | None = None, size: tuple[int, int] = (1600, 1000),
            position: float | None = None, loop: tuple[float, float] | None = None,
            dialog: str | None = None) -> Path:
    """Build the window, wait for its audio to load, and save a screenshot to `output`.

    `position` (seconds) places the playhead; `loop` (start, end seconds) shows a loop region; `dialog`
    ("export" or "regenerate") captures that dialog instead of the window.
    """
    from PySide6.QtWidgets import QApplication

    from musicsim_gui.app import create_main_window

    window = create_main_window(project, audio=False)
    window.resize(*size)
    window.show()
    settle(window)
    if loop is not None:
        window.transport.set_loop_region(*loop)
    settle(window, 1.0)
    if position is not None:  # without an engine the display timer would keep the playhead at 0
        window.timer.stop()
        window.reference_lane.set_playhead(position)
        window.track_list.set_playhead(position)
        window.transport_bar.show_position(position, window.project.project.tempo_bpm)
        QApplication.processEvents()
    output.parent.mkdir(parents=True, exist_ok=True)
    shown = window if dialog is None else open_dialog(window, dialog)
    QApplication.processEvents()
    if not shown.grab().save(str(output)):
        raise SystemExit(f"could not write {output}")
    window.close()
    return output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="out/studio.png")
    parser.add_argument("--project", default=None, help="a project folder or audio file (default: the demo)")
    parser.add_argument("--size", default="1600x1000")
    parser.add_argument("--position", type=float, default=None, help="playhead position in seconds")
    parser.add_argument("--loop", type=float, nargs=2, default=None, metavar=("START", "END"),
                        help="show a loop region (seconds)")
    parser.add_argument("--dialog", choices=("export", "regenerate"), default=None,
                        help="capture this dialog instead of the main window")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    width, height = (int(part) for part in args.size.lower().split("x"))
    print(capture(Path(args.output), args.project, (width, height), args.position,
                  tuple(args.loop) if args.loop else None, args.dialog))
    return 0


if __name__ == "__main__":
    sys.exit(main())
