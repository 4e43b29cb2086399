"""The labelled mel spectrogram figure: time labels, tick spacing, stacked panels written atomically."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.figures import _mm_ss, _spread_ticks, save_spectrogram_png
from musicsim_gui.audio.spectral import hz_to_mel


@pytest.mark.parametrize(("seconds", "label"), [(0, "0:00"), (0.5, "0:00.5"), (59.9999999, "1:00"), (75, "1:15"),
                                                (125.5, "2:05.5"), (-0.5, "-0:00.5")])
def test_time_labels(seconds, label):
    assert _mm_ss(seconds) == label


@pytest.mark.parametrize("nyquist", [4000.0, 11025.0, 22050.0, 48000.0])
def test_frequency_ticks_do_not_crowd(nyquist):
    top = float(hz_to_mel(nyquist))
    ticks = _spread_ticks(nyquist, top)
    assert ticks == sorted(ticks) and ticks[-1] <= nyquist and len(ticks) >= 4
    assert np.min(np.diff(hz_to_mel(ticks))) >= 0.07 * top


def test_stacked_panels_png(tmp_path):
    t = np.arange(3 * 16000) / 16000
    clips = [AudioClip(0.5 * np.sin(2 * np.pi * hz * t), 16000, f"{name}.wav")
             for name, hz in (("mix", 440.0), ("bass", 60.0))]
    clips.append(AudioClip(np.zeros((2, 8000), np.float32), 8000, "silent.wav"))
    path = save_spectrogram_png(clips, tmp_path / "out" / "stack.png", title="Mix and stems")
    with Image.open(path) as image:
        assert image.size[0] == 1200 and image.size[1] == pytest.approx(100 * (1.0 + 2.4 * 3), abs=1)
    assert [p.name for p in path.parent.iterdir()] == ["stack.png"]


def test_silence_is_drawn_dark(tmp_path):
    path = save_spectrogram_png([AudioClip(np.zeros((1, 16000), np.float32), 16000, "silence.wav")],
                                tmp_path / "silence.png", width_in=4.0)
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("L"), dtype=np.float32)
    height, width = pixels.shape
    plot = pixels[height // 4:3 * height // 4, width // 4:width // 2]  # inside the spectrogram axes
    assert plot.mean() < 40
    with pytest.raises(ValueError):
        save_spectrogram_png([], tmp_path / "none.png")
