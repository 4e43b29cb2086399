"""Open MuSiC Studio on the demo song (or on the project folder / audio file given as the first argument).

This is what `make run` runs. Without a display it says so and runs offscreen; `--quit-after SECONDS`
closes the window after that long (for smoke tests).
"""

from __future__ import annotations

import argparse
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", help="a project folder or an audio file (default: the demo song)")
    parser.add_argument("--quit-after", type=float, default=None, help="close after this many seconds")
    args = parser.parse_args()
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        print("run_studio: no display found (DISPLAY is not set); running offscreen. "
              "Use a desktop session or `xvfb-run` to see the window.", file=sys.stderr)
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from musicsim_gui.app import application, launch_studio

    if args.quit_after is not None:
        from PySide6.QtCore import QTimer

        app = application()
        QTimer.singleShot(int(args.quit_after * 1000), app.quit)

    return launch_studio(argparse.Namespace(project=args.project))


if __name__ == "__main__":
    sys.exit(main())
