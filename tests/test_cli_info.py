"""Smoke tests of `musicsim info` and `musicsim spectrogram` on real files, run as the user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from musicsim_gui.cli.cmd_info import describe

FORMATS = [("WAV", "PCM_16", ".wav"), ("WAVEX", "PCM_24", ".wav"), ("FLAC", "PCM_24", ".flac"),
           ("OGG", "VORBIS", ".ogg"), ("MP3", "MPEG_LAYER_III", ".mp3"), ("AIFF", "PCM_16", ".aiff")]


def _musicsim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "musicsim_gui", *args], capture_output=True, text=True, timeout=120)


def _song(path, seconds: float = 2.0, rate: int = 44100, container: str = "WAV", subtype: str = "PCM_16",
          hz: float = 440.0) -> None:
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.5 * np.sin(2 * np.pi * hz * t) * (1 + np.sin(2 * np.pi * 0.5 * t)) / 2
    frames = np.stack([tone, 0.5 * tone], axis=1)
    with sf.SoundFile(path, "w", rate, 2, subtype=subtype, format=container) as handle:
        for start in range(0, frames.shape[0], 65536):  # libvorbis crashes on minutes written in one call
            handle.write(frames[start:start + 65536])


@pytest.mark.parametrize(("container", "subtype", "suffix"), FORMATS)
def test_info_describes_every_format(tmp_path, container, subtype, suffix):
    path = tmp_path / f"song{suffix}"
    _song(path, container=container, subtype=subtype)
    facts = describe(str(path))
    assert facts["format"] == container and facts["subtype"] == subtype
    assert facts["sample_rate"] == 44100 and facts["channels"] == 2
    assert facts["duration_s"] == pytest.approx(2.0, abs=0.1)
    assert -30.0 < facts["loudness_lufs"] < -5.0
    assert facts["peak_dbfs"] == pytest.approx(-6.02, abs=0.5)


def test_info_text_and_json_output(tmp_path):
    path = tmp_path / "song.flac"
    _song(path, container="FLAC", subtype="PCM_16")
    result = _musicsim("info", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == describe(str(path))
    result = _musicsim("info", str(path))
    assert result.returncode == 0, result.stderr
    for label in ("format:      FLAC (PCM_16)", "sample rate: 44100 Hz", "channels:    2", "duration:    0:02.000",
                  "LUFS (integrated)", "dBFS"):
        assert label in result.stdout


def test_info_on_silence_prints_minus_infinity(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros((8000, 1), np.float32), 8000)
    result = _musicsim("info", str(path))
    assert result.returncode == 0 and "-inf LUFS" in result.stdout and "-inf dBFS" in result.stdout
    assert describe(str(path))["peak_dbfs"] is None


@pytest.mark.parametrize("command", ["info", "spectrogram"])
def test_corrupt_file_is_one_line_and_exit_code_2(tmp_path, command):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(30))
    extra = ["-o", str(tmp_path / "x.png")] if command == "spectrogram" else []
    result = _musicsim(command, str(path), *extra)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "broken.wav" in result.stderr and result.stdout == ""
    assert not (tmp_path / "x.png").exists()


def test_spectrogram_png_single_and_stacked(tmp_path):
    mix, bass, piano = tmp_path / "mix.wav", tmp_path / "bass.flac", tmp_path / "piano.ogg"
    _song(mix, seconds=20.0, rate=22050)
    _song(bass, seconds=20.0, rate=22050, container="FLAC", hz=80.0)
    _song(piano, seconds=20.0, rate=44100, container="OGG", subtype="VORBIS", hz=1000.0)
    single = tmp_path / "single.png"
    result = _musicsim("spectrogram", str(mix), "-o", str(single), "--n-mels", "96", "--title", "Reference")
    assert result.returncode == 0, result.stderr
    stacked = tmp_path / "stack.png"
    result = _musicsim("spectrogram", str(mix), "--stems", str(bass), str(piano), "-o", str(stacked))
    assert result.returncode == 0, result.stderr
    from PIL import Image

    with Image.open(single) as image_one, Image.open(stacked) as image_stack:
        assert image_one.size[0] == 1200 and image_stack.size[0] == 1200
        assert image_stack.size[1] > 2.5 * image_one.size[1] * 0.9
        pixels = np.asarray(image_stack.convert("RGB"), dtype=np.float32)
    assert pixels.std() > 20  # an image, not a blank canvas
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["single.png", "stack.png"]
