"""Projects with real audio on disk: create, render through the shared kernel, export mix and summing stems, CLI."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.io import load_audio, save_audio
from musicsim_gui.audio.loudness import integrated_loudness
from musicsim_gui.audio.mixdown import ExportSettings
from musicsim_gui.audio.project_render import export_project, new_project, render_project
from musicsim_gui.core.commands import AddTake, SetGain, SetListenReference, SetMute, SetPan, UndoHistory
from musicsim_gui.core.errors import AudioFileError, ProjectFileError
from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.core.project import Take
from musicsim_gui.core.projectfile import load_project, save_project

RATE = 44100
FREQUENCIES = {"bass": 55.0, "drums": 180.0, "piano": 440.0, "other": 1320.0}


def tone(frequency: float, seconds: float = 2.0, amplitude: float = 0.2) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    left = amplitude * np.sin(2 * np.pi * frequency * t)
    return np.stack([left, 0.5 * left]).astype(np.float32)


@pytest.fixture
def song(tmp_path):
    stems_dir = tmp_path / "stems"
    stems_dir.mkdir()
    stems = {}
    for name, frequency in FREQUENCIES.items():
        stems[name] = stems_dir / f"{name}.wav"
        sf.write(stems[name], tone(frequency).T, RATE, subtype="FLOAT")
    reference = tmp_path / "song.wav"
    sf.write(reference, sum(tone(f) for f in FREQUENCIES.values()).T, RATE, subtype="FLOAT")
    return reference, stems


def add_take(project, history, instrument, frequency, take_id):
    path = project.new_take_path(instrument, take_id)
    save_audio(path, AudioClip(tone(frequency, amplitude=0.1), RATE), bit_depth=24)
    history.push(AddTake(instrument, Take(id=take_id, path=project.relative(path), model_id="test-tone",
                                          model_version="1", seed=0)))


def test_new_project_copies_audio_and_reloads(tmp_path, song):
    reference, stems = song
    project = new_project(reference, tmp_path / "proj", stems=stems, tempo_bpm=90)
    loaded = load_project(tmp_path / "proj")
    assert loaded.reference_file.is_file() and loaded.reference_file.parent.name == "reference"
    assert loaded.reference_hash == load_audio(reference).content_hash() == project.reference_hash
    assert all(loaded.resolve(loaded.track(n).reference_stem).is_file() for n in INSTRUMENTS)
    with pytest.raises(ProjectFileError, match="already exists"):
        new_project(reference, tmp_path / "proj")


def test_bad_reference_is_refused_without_leaving_a_project(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(AudioFileError, match="bad.wav"):
        new_project(bad, tmp_path / "proj")
    assert not (tmp_path / "proj" / "project.musicsim.json").exists()


def test_reference_stems_render_back_to_the_reference(tmp_path, song):
    reference, stems = song
    project = new_project(reference, tmp_path / "proj", stems=stems)
    history = UndoHistory(project)
    for name in INSTRUMENTS:
        history.push(SetListenReference(name, True))
    mix = render_project(project)
    np.testing.assert_allclose(mix.samples, load_audio(reference).samples, atol=1e-5)


def test_takes_gains_and_pan_follow_the_kernel_laws(tmp_path, song):
    reference, stems = song
    project = new_project(reference, tmp_path / "proj", stems=stems)
    history = UndoHistory(project)
    add_take(project, history, "bass", 110.0, "b1")
    add_take(project, history, "piano", 660.0, "p1")
    history.push(SetGain("bass", -6.0))
    history.push(SetPan("piano", -1.0))
    history.push(SetMute("drums", True))
    save_project(project)
    mix = render_project(load_project(project.folder))
    bass = load_audio(project.new_take_path("bass", "b1")).samples
    piano = load_audio(project.new_take_path("piano", "p1")).samples
    gain = 10 ** (-6 / 20)
    expected_left = gain * bass[0] + np.sqrt(2) * piano[0]
    expected_right = gain * bass[1]
    np.testing.assert_allclose(mix.samples[0], expected_left, atol=1e-6)
    np.testing.assert_allclose(mix.samples[1], expected_right, atol=1e-6)


def test_exported_stems_sum_to_the_exported_mix_after_loudness_normalisation(tmp_path, song):
    reference, stems = song
    project = new_project(reference, tmp_path / "proj", stems=stems)
    history = UndoHistory(project)
    for name in INSTRUMENTS:
        history.push(SetListenReference(name, True))
    history.push(SetGain("other", -3.0))
    settings = ExportSettings(bit_depth=32, sample_rate=48000, normalize="lufs", lufs=-16.0)
    written = export_project(project, tmp_path / "out" / "mix.wav", settings, stems_dir=tmp_path / "out" / "stems")
    assert len(written) == 5
    mix = load_audio(tmp_path / "out" / "mix.wav")
    assert mix.sample_rate == 48000
    assert integrated_loudness(mix) == pytest.approx(-16.0, abs=0.3)
    total = sum(load_audio(tmp_path / "out" / "stems" / f"{n}.wav").samples for n in INSTRUMENTS)
    np.testing.assert_allclose(total, mix.samples, atol=2e-5)


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "musicsim_gui", *map(str, args)], capture_output=True, text=True)


def test_cli_project_new_show_and_mix(tmp_path, song):
    reference, stems = song
    folder = tmp_path / "cli-proj"
    created = run_cli("project", "new", reference, "-o", folder, "--stems", stems["bass"].parent, "--tempo", "84",
                      "--first-downbeat", "0.25")
    assert created.returncode == 0, created.stderr
    project = load_project(folder)
    for name in INSTRUMENTS:
        project.track(name).listen_reference = True
    assert project.track("bass").reference_stem_separator == ""  # imported stems: who made them is not known
    project.track("drums").reference_stem_separator = "separation-builtin 2.7"
    save_project(project)
    shown = run_cli("project", "show", folder)
    assert shown.returncode == 0 and "84 BPM, bar 1 at 0.25 s" in shown.stdout and "stems/bass.wav" in shown.stdout
    assert "stems/drums.wav (by separation-builtin 2.7)" in shown.stdout and "bass.wav (by" not in shown.stdout
    refused = run_cli("project", "new", reference, "-o", tmp_path / "other", "--first-downbeat", "-1")
    assert refused.returncode == 2 and "--first-downbeat must be 0 or more" in refused.stderr
    out = tmp_path / "mix.flac"
    mixed = run_cli("mix", folder, "-o", out, "--format", "16", "--rate", "48000", "--stems", tmp_path / "st")
    assert mixed.returncode == 0, mixed.stderr
    info = sf.info(out)
    assert (info.format, info.subtype, info.samplerate) == ("FLAC", "PCM_16", 48000)
    assert sorted(p.name for p in (tmp_path / "st").iterdir()) == sorted(f"{n}.flac" for n in INSTRUMENTS)


def test_cli_errors_are_one_line(tmp_path):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF" + bytes(40))
    for args in (("project", "new", corrupt, "-o", tmp_path / "p"), ("mix", tmp_path / "nothing", "-o", "x.wav")):
        result = run_cli(*args)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert result.stderr.startswith("musicsim: error: ")


def test_cli_file_system_errors_are_one_line(tmp_path, song):
    reference, _ = song
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("x")
    result = run_cli("project", "new", reference, "-o", not_a_folder)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and str(not_a_folder) in result.stderr
