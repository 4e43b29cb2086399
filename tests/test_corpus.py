"""The synthetic corpus: deterministic composition and rendering, exact stems, aligned MIDI, meta, resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from musicsim_gui.training.corpus import layout
from musicsim_gui.training.corpus.composer import compose
from musicsim_gui.training.corpus.driver import CorpusRequest, make_corpus, split_counts
from musicsim_gui.training.corpus.render import render_song, write_song

SHORT = 6.0  # seconds: enough bars for every part, fast to render


@pytest.fixture(scope="module")
def rendered():
    return render_song(20_007, SHORT)


@pytest.fixture(scope="module")
def written(rendered, tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus") / "song"
    return write_song(rendered, folder, bit_depth=16)


def test_composition_is_a_function_of_the_seed():
    first, again, other = compose(3, SHORT), compose(3, SHORT), compose(4, SHORT)
    notes = lambda song: [(v.program, v.notes) for vs in song.stems.values() for v in vs]  # noqa: E731
    assert notes(first) == notes(again)
    assert notes(first) != notes(other)
    assert list(first.stems) == ["bass", "drums", "piano", "other"]
    assert all(v.notes for vs in first.stems.values() for v in vs)


def test_composition_does_not_depend_on_the_process():
    code = ("from musicsim_gui.training.corpus.composer import compose; "
            "print([(v.program, v.notes) for s in range(10) for vs in compose(s).stems.values() for v in vs])")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": str(salt)}).stdout for salt in (1, 2, 3)}
    assert len(outputs) == 1


def test_full_length_songs_stay_within_60_to_150_seconds():
    durations = [compose(seed).duration for seed in range(20_000, 20_100)]
    assert min(durations) >= 60.0 and max(durations) <= 150.0
    assert np.std(durations) > 10.0


def test_render_is_deterministic(rendered):
    again = render_song(20_007, SHORT)
    for name in rendered.stems:
        np.testing.assert_array_equal(rendered.stems[name], again.stems[name])
    assert not np.array_equal(render_song(20_008, SHORT).mix[:, :1000], np.zeros((2, 1000)))


def test_stems_sum_to_the_mix_in_float(rendered):
    total = sum(rendered.stems.values())
    np.testing.assert_allclose(rendered.mix, total, atol=1e-6)
    assert rendered.mix.shape == (2, round(rendered.song.duration * 44100))
    assert rendered.mix.dtype == np.float32
    assert 0.5 < np.abs(rendered.mix).max() <= 10 ** (-1 / 20) + 1e-6
    for audio in rendered.stems.values():
        assert np.sqrt(np.mean(audio**2)) > 1e-4  # every stem is audible


def test_files_sum_to_the_mix_within_quantisation(written):
    mix, rate = soundfile.read(written / "mix.flac", dtype="float64")
    stems = sum(soundfile.read(written / f"{name}.flac", dtype="float64")[0] for name in layout.STEM_NAMES)
    assert rate == 44100 and mix.shape[1] == 2
    assert np.abs(mix - stems).max() <= 2.5 / 32768


def _onsets(mono: np.ndarray, rate: int) -> np.ndarray:
    import librosa

    return librosa.onset.onset_detect(y=mono, sr=rate, hop_length=128, units="time", backtrack=False)


def test_drum_stem_onsets_match_midi_note_times(written):
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(str(written / "song.mid"))
    drums = [inst for inst in midi.instruments if inst.is_drum]
    assert len(drums) == 1
    loud = np.array(sorted(n.start for n in drums[0].notes if n.velocity >= 80))
    every = np.array(sorted(n.start for n in drums[0].notes))
    audio, rate = soundfile.read(written / "drums.flac", dtype="float32")
    detected = _onsets(audio.mean(axis=1), rate)
    assert len(detected) >= 0.5 * len(loud)
    precision = np.mean([np.abs(every - t).min() <= 0.030 for t in detected])
    recall = np.mean([np.abs(detected - t).min() <= 0.030 for t in loud])
    assert precision >= 0.85 and recall >= 0.85, (precision, recall)


def test_meta_describes_the_song(written, rendered):
    import pretty_midi

    meta = layout.read_meta(written)
    song = rendered.song
    assert meta["seed"] == 20_007 and meta["split"] == "train" and meta["song_id"] == "song_020007"
    assert meta["frames"] == soundfile.info(str(written / "mix.flac")).frames
    assert meta["tempo_bpm"] == song.grid.tempo_bpm and 65 <= meta["tempo_bpm"] <= 95
    assert np.allclose(np.diff(meta["beat_times"]), 60.0 / meta["tempo_bpm"], atol=1e-5)
    assert meta["downbeat_times"] == meta["beat_times"][::4]
    ends = [s["end_s"] for s in meta["sections"][:-1]]
    assert ends == [s["start_s"] for s in meta["sections"][1:]]
    assert all(len(bars) == 4 for bars in meta["progressions"].values())
    midi = pretty_midi.PrettyMIDI(str(written / "song.mid"))
    assert sorted((i.program, i.is_drum) for i in midi.instruments) == sorted(
        (v["program"], v["is_drum"]) for voices in meta["programs"].values() for v in voices)
    assert midi.get_tempo_changes()[1][0] == pytest.approx(meta["tempo_bpm"], rel=1e-3)
    for name, digest in meta["files"].items():
        assert layout.sha256_file(written / name) == digest
    assert layout.verify_song(written, full=True)


def test_splits_are_fixed_seed_ranges():
    assert layout.split_of(0) == "test" and layout.split_of(9_999) == "test"
    assert layout.split_of(10_000) == "valid" and layout.split_of(20_000) == "train"
    assert layout.split_seeds("valid", 3, offset=2) == [10_002, 10_003, 10_004]
    assert split_counts(20) == {"test": 2, "valid": 1, "train": 17}


def test_resume_makes_only_missing_or_broken_songs(tmp_path):
    request = CorpusRequest(root=tmp_path, songs={"train": 3}, duration_s=2.0, workers=1)
    first = make_corpus(request)
    assert len(first.made) == 3 and not first.failed
    kept = tmp_path / "train" / "song_020000"
    stamp = (kept / "mix.flac").stat().st_mtime_ns
    (tmp_path / "train" / "song_020001" / "meta.json").unlink()  # interrupted before meta.json
    broken = tmp_path / "train" / "song_020002" / "bass.flac"
    broken.write_bytes(broken.read_bytes()[:2000])  # a truncated file
    second = make_corpus(request)
    assert sorted(second.made) == ["song_020001", "song_020002"]
    assert second.skipped == ["song_020000"]
    assert (kept / "mix.flac").stat().st_mtime_ns == stamp
    assert all(layout.verify_song(folder, full=True) for folder in layout.list_songs(tmp_path))


def test_cli_make_and_stats(tmp_path):
    out = tmp_path / "corpus"
    command = [sys.executable, "-m", "musicsim_gui", "corpus", "make", "--songs", "3", "--out", str(out),
               "--duration", "2", "--workers", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "made 3 songs" in result.stdout
    assert [p.parent.name for p in layout.list_songs(out)] == ["test", "valid", "train"]
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert "made 0 songs" in again.stdout and "3 already complete" in again.stdout
    stats = subprocess.run([sys.executable, "-m", "musicsim_gui", "corpus", "stats", str(out)],
                           capture_output=True, text=True, timeout=120)
    assert stats.returncode == 0, stats.stderr
    assert "| drum patterns | 3 |" in stats.stdout and "| drums |" in stats.stdout
    meta = json.loads((layout.list_songs(out)[0] / "meta.json").read_text())
    assert meta["split"] == "test"


def test_cli_reports_bad_arguments_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "musicsim_gui", "corpus", "stats", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "no corpus songs" in result.stderr


def test_cli_demo_writes_the_layout_the_studio_reads(tmp_path):
    result = subprocess.run([sys.executable, "-m", "musicsim_gui", "corpus", "demo", "--out", str(tmp_path),
                             "--seed", "9006", "--duration", "3"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    mix, _ = soundfile.read(tmp_path / "reference.flac", dtype="float64")
    stems = sum(soundfile.read(tmp_path / "stems" / f"{n}.flac", dtype="float64")[0] for n in layout.STEM_NAMES)
    assert np.abs(mix - stems).max() <= 2.5 / 32768
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["seed"] == 9006 and meta["files"]["stems/drums.flac"] == layout.sha256_file(tmp_path / "stems/drums.flac")
    assert json.loads((tmp_path / "demo.json").read_text())["tempo_bpm"] == meta["tempo_bpm"]
    assert "generated by this project" in (tmp_path / "README.md").read_text()


def test_cli_names_a_missing_soundfont(tmp_path):
    env = {**os.environ, "MUSICSIM_SOUNDFONT": str(tmp_path / "missing.sf2")}
    result = subprocess.run([sys.executable, "-m", "musicsim_gui", "corpus", "make", "--songs", "1", "--out",
                             str(tmp_path / "c")], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert "missing.sf2" in result.stderr and "SoundFont" in result.stderr
    assert not (tmp_path / "c" / "train").exists()
