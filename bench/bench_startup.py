"""Studio start-up time: process start to main window shown and usable, against a bare pyqtgraph window.

Each case runs in a fresh interpreter (so imports count) and prints when it is (1) shown: the window is
mapped and painted and its display timer runs, so it reacts to input (the project opens right after);
(2) loaded: the demo's reference
waveform, spectrogram and every lane's audio are drawn. The baseline is a bare QMainWindow holding an
empty pyqtgraph GraphicsLayoutWidget, started the same way in the same run. Goal: shown <= 1.5 s.

Usage: python bench/bench_startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BASELINE = """
import time
from PySide6.QtWidgets import QApplication, QMainWindow
import pyqtgraph as pg
app = QApplication([])
window = QMainWindow()
window.setCentralWidget(pg.GraphicsLayoutWidget())
window.show()
app.processEvents()
print("shown", time.time(), flush=True)
"""

STUDIO = """
import time
from musicsim_gui.app import create_main_window, application
window = create_main_window(defer_open=True)
window.show()
while not window.first_frame_done:
    application().processEvents()
    time.sleep(0.001)
print("shown", time.time(), flush=True)
controller = window.project
while controller.reference_media is None or controller.background.busy:
    application().processEvents()
    window.tick()
    time.sleep(0.005)
application().processEvents()
print("loaded", time.time(), flush=True)
window.close()
"""


def run_case(code: str, env: dict[str, str]) -> dict[str, float]:
    """Run `code` in a fresh interpreter; seconds from spawn to each printed mark."""
    start = time.time()
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"case failed ({result.returncode}):\n{result.stderr[-2000:]}")
    marks = {}
    for line in result.stdout.splitlines():
        name, _, stamp = line.partition(" ")
        if name in ("shown", "loaded"):
            marks[name] = float(stamp) - start
    return marks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = dict(os.environ)
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    env.setdefault("MUSICSIM_DATA_DIR", tempfile.mkdtemp(prefix="musicsim-bench-"))
    run_case(STUDIO, env)  # first run creates the demo project and warms the file cache
    base = [run_case(BASELINE, env)["shown"] for _ in range(args.runs)]
    studio = [run_case(STUDIO, env) for _ in range(args.runs)]
    shown = statistics.median(mark["shown"] for mark in studio)
    loaded = statistics.median(mark["loaded"] for mark in studio)
    baseline = statistics.median(base)
    print(f"baseline (bare QMainWindow + pyqtgraph): shown {baseline:.2f} s (median of {args.runs})")
    print(f"studio: shown and usable {shown:.2f} s ({shown / baseline:.1f}x baseline), "
          f"demo fully drawn {loaded:.2f} s; goal shown <= 1.5 s: {'met' if shown <= 1.5 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
