"""The studio's scripts: a screenshot of the demo song ($MUSICSIM_SCREENSHOT_DIR or tmp), and `make run`'s script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from gui_helpers import make_demo_folder

from musicsim_gui.gui.demo_project import demo_project

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


def test_run_studio_script_opens_and_quits(tmp_path):
    project = demo_project(make_demo_folder(tmp_path / "src"), tmp_path / "project")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_studio.py"), str(project.folder),
                             "--quit-after", "2"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
