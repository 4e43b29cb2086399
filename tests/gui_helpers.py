"""Helpers for the studio tests: a small demo folder made of real audio files, and waiting for the window."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 44100
SECONDS = 3.0

if os.environ.get("MUSICSIM_TEST_JACK"):  # play through the JACK dummy server: paced like a sound card
    os.environ.setdefault("MUSICSIM_OUTPUT_HOSTAPI", "JACK")


def _tone(kind: str, t: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(7)
    if kind == "bass":
        return 0.3 * np.sin(2 * np.pi * 55 * t)
    if kind == "drums":
        return 0.4 * rng.standard_normal(t.size) * np.exp(-((t * 2) % 1) * 20)
    if kind == "piano":
        return 0.2 * np.sin(2 * np.pi * 440 * t) * np.exp(-(t % 0.5) * 6)
    return 0.1 * np.sin(2 * np.pi * 880 * t + np.sin(2 * np.pi * 3 * t))


def write_stereo(path: Path, mono: np.ndarray, rate: int = RATE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.stack([mono, mono * 0.9], axis=1).astype(np.float32), rate, subtype="FLOAT")
    return path


def make_demo_folder(folder: Path) -> Path:
    """A demo folder laid out like `resources/demo`: reference, four stems, two bass takes."""
    t = np.arange(int(RATE * SECONDS)) / RATE
    parts = {name: _tone(name, t) for name in ("bass", "drums", "piano", "other")}
    for name, part in parts.items():
        write_stereo(folder / "stems" / f"{name}.wav", part)
    write_stereo(folder / "reference.wav", sum(parts.values()))
    write_stereo(folder / "takes" / "bass" / "take1.wav", 0.3 * np.sin(2 * np.pi * 65 * t))
    write_stereo(folder / "takes" / "bass" / "take2.wav", 0.2 * np.sign(np.sin(2 * np.pi * 49 * t)))
    (folder / "demo.json").write_text('{"title": "Test demo", "tempo_bpm": 120}', encoding="utf-8")
    return folder


def wait_loaded(qtbot, window, timeout: float = 20.0) -> None:
    """Tick the window until its reference and every lane file are loaded."""
    controller = window.project
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        window.tick()
        if controller.reference_media is not None and not controller.background.busy:
            return
        qtbot.wait(20)
    raise AssertionError("the window did not finish loading its audio")


def new_demo_project(tmp_path: Path):
    """A project made from a small demo folder of real audio files, under `tmp_path`."""
    from musicsim_gui.gui.demo_project import demo_project

    return demo_project(make_demo_folder(tmp_path / "demo-source"), tmp_path / "project")


def open_studio(qtbot, folder: Path, audio: bool = False, show: bool = True, size: tuple[int, int] | None = None):
    """The fully wired main window on `folder`, loaded; closing it never asks about unsaved edits."""
    from musicsim_gui.app import create_main_window

    window = create_main_window(folder, audio=audio)
    window.confirm_unsaved = False
    qtbot.addWidget(window)
    if size is not None:
        window.resize(*size)
    if show:
        window.show()
    wait_loaded(qtbot, window)
    return window


def wait_regenerate_ready(qtbot, window, instrument: str, timeout: float = 30.0):
    """Tick the window until the track's Regenerate button is enabled (generators found); returns the header."""
    header = window.track_list.rows[instrument].header
    deadline = time.monotonic() + timeout
    while not header.regenerate_button.isEnabled():
        assert time.monotonic() < deadline, header.regenerate_button.toolTip()
        window.tick()
        qtbot.wait(30)
    return header
