"""A screenshot of the studio on the demo song, saved for people to look at ($MUSICSIM_SCREENSHOT_DIR or tmp)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"


@pytest.mark.skipif(not any(DEMO.glob("reference.*")), reason="the demo song is not in resources/demo")
def test_screenshot_of_the_demo_project(tmp_path):
    folder = Path(os.environ.get("MUSICSIM_SCREENSHOT_DIR") or tmp_path)
    output = folder / "studio-demo.png"
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshot.py"), "-o", str(output)],
                            capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(output))
    assert (image.width(), image.height()) == (1600, 1000)
    # The spectrogram area is not empty: sample a row through it and expect many distinct colours.
    colours = {image.pixel(x, 250) for x in range(400, 1500, 5)}
    assert len(colours) > 20
