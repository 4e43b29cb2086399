"""GUI time per display frame while the song plays, against a bare pyqtgraph window moving one playhead.

Both run in this process on the same screen (Xvfb when DISPLAY is set, else offscreen): the baseline is a
GraphicsLayoutWidget with an ImageItem of the same spectrogram size and one InfiniteLine; the studio is
the full window on the demo song. Each frame advances the play position by 1/60 s (as the 16 ms display
timer does during playback) and processes the paint events. The GUI thread shares the GIL with the audio
callback, so less time here leaves more room for the callback.

Usage: python bench/bench_gui_frame.py [--frames 300]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time


def frame_times(step, frames: int, app) -> list[float]:
    """Call `step(seconds)` and process events once per frame; wall time of each frame in ms."""
    times = []
    for index in range(frames):
        start = time.perf_counter()
        step(10.0 + index / 60.0)
        app.processEvents()
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def baseline(app, shape: tuple[int, int], frames: int) -> list[float]:
    import numpy as np
    import pyqtgraph as pg

    widget = pg.GraphicsLayoutWidget()
    widget.resize(1600, 1000)
    plot = widget.addPlot()
    image = pg.ImageItem(np.random.default_rng(0).random(shape, dtype=np.float32), axisOrder="row-major",
                         levels=(0, 1))
    plot.addItem(image)
    line = pg.InfiniteLine(pos=0.0, angle=90)
    plot.addItem(line)
    plot.setXRange(0, shape[1], padding=0)
    widget.show()
    app.processEvents()
    hop = shape[1] / 93.0
    return frame_times(lambda seconds: line.setPos(seconds * hop), frames, app)


def studio(app, frames: int) -> tuple[list[float], tuple[int, int]]:
    from musicsim_gui.app import create_main_window

    window = create_main_window(audio=False)
    window.resize(1600, 1000)
    window.show()
    controller = window.project
    while controller.reference_media is None or controller.background.busy:
        app.processEvents()
        window.tick()
        time.sleep(0.01)
    window.timer.stop()
    position = {"seconds": 0.0}
    window.transport.position = lambda: position["seconds"]

    def step(seconds: float) -> None:
        position["seconds"] = seconds
        window.tick()

    shape = controller.reference_media.decibels.shape
    times = frame_times(step, frames, app)
    window.close()
    return times, shape


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("MUSICSIM_DATA_DIR", tempfile.mkdtemp(prefix="musicsim-bench-"))
    from musicsim_gui.app import application

    app = application()
    studio_ms, shape = studio(app, args.frames)
    base_ms = baseline(app, shape, args.frames)
    for name, times in (("baseline (pyqtgraph image + one moving line)", base_ms), ("studio", studio_ms)):
        print(f"{name}: mean {statistics.mean(times):.2f} ms, p95 {sorted(times)[int(len(times) * 0.95)]:.2f} ms "
              f"per frame over {len(times)} frames")
    print(f"studio / baseline mean frame time: {statistics.mean(studio_ms) / statistics.mean(base_ms):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
