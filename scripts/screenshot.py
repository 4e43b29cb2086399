"""Render the studio's main window with the demo project (or a given project/audio file) to a PNG.

Usage: python scripts/screenshot.py [-o OUT.png] [--project PATH] [--size 1600x1000]
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


def capture(output: Path, project: str | None = None, size: tuple[int, int] = (1600, 1000)) -> Path:
    """Build the window, wait for its audio to load, and save a screenshot to `output`."""
    from musicsim_gui.app import create_main_window

    window = create_main_window(project, audio=False)
    window.resize(*size)
    window.show()
    settle(window)
    output.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(output)):
        raise SystemExit(f"could not write {output}")
    window.close()
    return output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="out/studio.png")
    parser.add_argument("--project", default=None, help="a project folder or audio file (default: the demo)")
    parser.add_argument("--size", default="1600x1000")
    args = parser.parse_args()
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    width, height = (int(part) for part in args.size.lower().split("x"))
    print(capture(Path(args.output), args.project, (width, height)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
