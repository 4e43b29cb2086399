"""A save killed at any moment never leaves an unreadable project (the child is SIGKILLed mid-save, many times)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from musicsim_gui.core.projectfile import PROJECT_FILE, load_project

SAVER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from musicsim_gui.core.project import Project, Take
    from musicsim_gui.core.projectfile import save_project

    folder = Path(sys.argv[1])
    project = Project(folder=folder, reference_path="reference/song.wav", title="x" * 2000)
    for index in range(400):
        project.track("drums").takes.append(Take(id=f"t{index}", path=f"takes/drums/t{index}.flac",
                                                 model_id="m", model_version="1", seed=index,
                                                 params={"notes": "y" * 200}))
    counter = 0
    print("ready", flush=True)
    while True:
        counter += 1
        project.master_gain_db = -(counter % 100) / 10.0
        project.track("bass").gain_db = float(counter % 24)
        save_project(project)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_kill_during_save_never_corrupts(tmp_path):
    rng = random.Random(1234)
    save_project_once(tmp_path)
    for _ in range(40):
        child = subprocess.Popen([sys.executable, "-c", SAVER, str(tmp_path)], stdout=subprocess.PIPE,
                                 env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()
        project = load_project(tmp_path)
        assert len(project.track("drums").takes) in (0, 400)
        json.loads((tmp_path / PROJECT_FILE).read_text())
        backup = tmp_path / (PROJECT_FILE + ".bak")
        if backup.exists():
            json.loads(backup.read_text())


def save_project_once(folder):
    from musicsim_gui.core.project import Project
    from musicsim_gui.core.projectfile import save_project

    save_project(Project(folder=folder, reference_path="reference/song.wav"))
