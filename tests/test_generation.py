"""Generation interface, ViT+WaveGAN features and looping, the debug generator and the `generate` command."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import CancelledError, ModelError, MusicSimError
from musicsim_gui.generation.base import GenerationRequest, Generator, available_generators, get_generator
from musicsim_gui.generation.vit_wavegan import features, loops
from musicsim_gui.generation.vit_wavegan.config import get_config


def pulse_song(bpm: float = 120.0, seconds: float = 6.0, rate: int = 44100) -> AudioClip:
    """A stereo test song: a 110 Hz tone burst on every beat."""
    t = np.arange(int(seconds * rate)) / rate
    beat = 60.0 / bpm
    x = (0.4 * np.sin(2 * np.pi * 110 * t) * (np.mod(t, beat) < 0.08)).astype(np.float32)
    return AudioClip(np.stack([x, 0.5 * x]), rate, "pulse.wav")


def test_request_seeds_extend_by_counting_up():
    ref = pulse_song(seconds=1.0)
    assert GenerationRequest(ref, ("bass",), (5,), 3).take_seeds() == (5, 6, 7)
    assert GenerationRequest(ref, ("bass",), (), 2).take_seeds() == (0, 1)
    with pytest.raises(ValueError, match="instruments"):
        GenerationRequest(ref, ("kazoo",))


def test_registry_lists_debug_and_rejects_unknown():
    assert "vit-wavegan-debug" in available_generators()
    with pytest.raises(ModelError, match="unknown generator 'no-such-model'"):
        get_generator("no-such-model")


def pulse_track(bpm: float, first_beat: float, seconds: float = 12.0, rate: int = 16000) -> np.ndarray:
    """Mono decaying 110 Hz plucks on every beat from `first_beat` seconds."""
    t = np.arange(int(seconds * rate)) / rate
    since = np.mod(t - first_beat, 60.0 / bpm)
    return (0.4 * np.sin(2 * np.pi * 110 * t) * np.exp(-since / 0.05) * (t >= first_beat)).astype(np.float32)


@pytest.mark.parametrize("bpm", [66.5, 90.0, 97.3, 120.0, 150.0])
def test_beat_grid_finds_the_tempo_closely_and_the_first_beat(bpm):
    """A 30 s take must not drift from its reference: 0.1 % is 0.03 beats over 30 s at 66.5 BPM."""
    grid = features.estimate_beat_grid(pulse_track(bpm, 0.13), 16000)
    assert abs(grid.tempo_bpm - bpm) / bpm < 0.001
    assert abs(grid.first_beat_seconds - 0.13) < 0.02 and features.estimate_tempo(pulse_track(bpm, 0.13),
                                                                                  16000) == grid.tempo_bpm


def chord_song(bpm: float, first_beat: float, downbeat_index: int, seconds: float = 20.0,
               rate: int = 12000) -> np.ndarray:
    """Plucks on every beat from `first_beat`, over held triads that change on every bar; bars start on beat
    `downbeat_index` (0-3) of the plucks."""
    t = np.arange(int(seconds * rate)) / rate
    beat = 60.0 / bpm
    bar = np.floor((t - first_beat - downbeat_index * beat) / (4 * beat)).astype(int)
    roots = np.array([0, 5, 7, 3])[bar % 4]
    chord = sum(np.sin(2 * np.pi * 220.0 * 2 ** ((roots + step) / 12) * t) for step in (0, 4, 7))
    return (0.1 * chord + pulse_track(bpm, first_beat, seconds, rate)).astype(np.float32)


@pytest.mark.parametrize("downbeat_index", [0, 2, 3])
def test_beat_grid_finds_the_first_downbeat_where_the_harmony_changes(downbeat_index):
    grid = features.estimate_beat_grid(chord_song(96.0, 0.2, downbeat_index), 12000)
    expected = 0.2 + downbeat_index * 60.0 / 96.0
    assert abs(grid.first_downbeat_seconds - expected) < 0.03
    assert grid.bar_seconds == pytest.approx(4 * grid.beat_seconds)


def test_takes_start_their_phrase_on_the_reference_downbeat_unless_told():
    reference = AudioClip(np.stack([chord_song(96.0, 0.2, 1, seconds=12.0, rate=44100)] * 2), 44100, "chords")
    generator = get_generator("vit-wavegan-debug")
    take = generator.generate(GenerationRequest(reference, ("bass",), (1,), 1, {"seconds": 4.0}))[0]
    assert take.params["first_downbeat"] == pytest.approx(0.2 + 60.0 / 96.0, abs=0.03)
    assert take.params["tempo_bpm"] == pytest.approx(96.0, rel=0.002)
    told = generator.generate(GenerationRequest(reference, ("bass",), (1,), 1,
                                                {"seconds": 4.0, "first_downbeat": 0.0}))[0]
    assert told.params["first_downbeat"] == 0.0
    with pytest.raises(MusicSimError, match="tempo -90.0 BPM is outside"):
        generator.generate(GenerationRequest(reference, ("bass",), (1,), 1, {"tempo_bpm": -90.0}))


def test_beat_grid_stays_in_its_range_and_takes_a_given_tempo():
    slow = features.estimate_beat_grid(pulse_track(50.0, 0.2, seconds=20.0), 16000)
    assert slow.tempo_bpm == pytest.approx(100.0, rel=0.001)  # below the range: the octave above
    assert 60.0 <= features.estimate_tempo(pulse_track(187.5, 0.0), 12000) <= 180.0
    given = features.estimate_beat_grid(pulse_track(90.0, 0.25), 16000, tempo_bpm=90.0)
    assert given.tempo_bpm == 90.0 and abs(given.first_beat_seconds - 0.25) < 0.02


def test_tempo_estimate_of_audio_too_short_for_a_pulse_is_the_default():
    for length in (0, 10, 16 * 256 - 1):
        assert features.estimate_tempo(np.full(length, 0.1, np.float32), 12000) == 120.0


def test_mel_image_shape_and_standardisation():
    cfg = get_config("small").features
    mono = features.to_model_audio(pulse_song(seconds=4.0), cfg.sample_rate)
    chunked = features.chunks(mono, int(cfg.chunk_seconds * cfg.sample_rate))
    assert chunked.shape == (1, 30 * cfg.sample_rate)
    assert np.all(chunked[0, mono.shape[0]:] == 0.0)
    image = features.mel_image(chunked[0], cfg)
    assert image.shape == (1, cfg.n_mels, cfg.frames)
    assert abs(float(image.mean())) < 1e-3 and abs(float(image.std()) - 1.0) < 1e-2


def test_mel_image_values_match_a_double_precision_reference():
    """The image is part of every trained model's contract: pin its values, computed here independently in
    float64 (periodic Hann, centred zero-padded frames, Slaney filters, 80 dB floor, time bins, standardised)."""
    from musicsim_gui.audio.spectral import mel_filterbank

    cfg = get_config("small").features
    mono = features.to_model_audio(pulse_song(seconds=4.0), cfg.sample_rate)
    chunk = features.chunks(mono, int(cfg.chunk_seconds * cfg.sample_rate))[0].astype(np.float64)
    padded = np.pad(chunk, cfg.n_fft // 2)
    starts = np.arange(1 + chunk.size // cfg.hop_length) * cfg.hop_length
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(cfg.n_fft) / cfg.n_fft)
    power = np.abs(np.fft.rfft(padded[starts[:, None] + np.arange(cfg.n_fft)] * window, axis=1)) ** 2
    mel = np.asarray(mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels), np.float64) @ power.T
    db = 10 * np.log10(np.maximum(mel, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    edges = (np.arange(cfg.frames + 1) * db.shape[1]) // cfg.frames
    binned = np.stack([db[:, a:b].mean(axis=1) for a, b in zip(edges[:-1], edges[1:], strict=True)], axis=1)
    expected = (binned - binned.mean()) / binned.std()
    np.testing.assert_allclose(features.mel_image(chunk.astype(np.float32), cfg)[0], expected, atol=1e-3)


def test_loop_is_power_of_two_beats_and_tiles_without_seams():
    assert loops.loop_beats(16384, 16000, 120.0) == 2  # 2 beats of 0.5 s fit 1.024 s
    assert loops.loop_beats(16384, 16000, 60.0) == 1
    assert loops.loop_beats(4096, 16000, 60.0) == 0  # window shorter than a beat: used whole
    loop = np.ones(1000, dtype=np.float32)
    tiled = loops.tile(loop, 5000, fade=100)
    assert tiled.shape == (5000,)
    assert np.all(tiled[100:4800] > 0.99) and np.all(tiled[100:4800] < 1.42)  # equal-power seam, no dropout


def test_tiling_with_a_fractional_period_keeps_the_beat():
    loop = np.zeros(400, dtype=np.float32)
    loop[50] = 1.0
    tiled = loops.tile(loop, 120_000, fade=20, period=367.5)
    hits = np.flatnonzero(tiled > 0.5)
    expected = np.round(np.arange(hits.size) * 367.5).astype(int) + 50
    assert hits.size == 327 and np.array_equal(hits, expected)  # no drift after hundreds of copies


@pytest.mark.parametrize("first_beat", [0.0, 0.3])
def test_stem_at_the_output_rate_keeps_the_reference_tempo_and_beat(first_beat):
    """A loop made at 12 kHz and rendered at 44.1 kHz: every click lands a whole number of beats at the asked
    tempo after the first beat (the seams' crossfades do not shorten the period), before it too."""
    rate, out_rate, bpm = 12000, 44100, 97.0
    window = np.zeros(24576, dtype=np.float32)
    window[600] = 1.0
    beats = loops.loop_beats(window.size, rate, bpm)
    assert beats == 2
    stem = loops.render_stem(window, rate, bpm, 60.0, out_rate, channels=1, phrase_start_seconds=first_beat)[0]
    period = beats * 60.0 / bpm * out_rate
    found = []
    for k in range(-1, int(stem.size / period)):
        centre = int(round((first_beat + 600 / rate) * out_rate + k * period))
        if centre < 40 or centre + 40 > stem.size:
            continue
        near = stem[centre - 40: centre + 40]
        found.append(int(np.argmax(np.abs(near))) - 40)
    assert len(found) > 20 and max(abs(f) for f in found) <= 1
    quiet = np.abs(stem) < 0.02 * np.abs(stem).max()
    assert quiet.mean() > 0.95  # nothing but the clicks: no transients at the seams or the ends


def test_loop_leaves_room_for_its_crossfade():
    """At 117.19 BPM two beats fill a 1.024 s window exactly: the loop falls back to one beat, so the copy
    still has the window's own continuation to fade out over."""
    assert loops.loop_beats(16384, 16000, 117.1875) == 1
    assert loops.loop_beats(16384, 16000, 125.0) == 2
    assert loops.loop_beats(16384, 16000, 10.0) == 0


def test_tiling_from_an_offset_starts_the_pattern_there():
    loop = np.stack([np.full(100, value, np.float32) for value in (1.0, 2.0, 3.0)])
    tiled = loops.tile(loop, 400, fade=0, period=100.0, pattern=(0, 1, 2), offset=30.0)
    assert np.all(tiled[:30] == 3.0) and np.all(tiled[30:130] == 1.0) and np.all(tiled[130:230] == 2.0)
    assert np.array_equal(loops.tile(loop, 400, fade=0, period=100.0, pattern=(0, 1, 2), offset=130.0), tiled)


def test_debug_generator_takes_are_reproducible_per_instrument():
    generator = get_generator("vit-wavegan-debug")
    assert isinstance(generator, Generator)
    ref = pulse_song()
    calls = []
    takes = generator.generate(GenerationRequest(ref, ("bass", "drums"), (3, 4), 2, {"seconds": 2.0}),
                               progress=lambda f, m: calls.append(f))
    assert [(t.instrument, t.seed) for t in takes] == [("bass", 3), ("bass", 4), ("drums", 3), ("drums", 4)]
    assert all(t.clip.samples.shape == (2, 88200) and t.clip.sample_rate == 44100 for t in takes)
    assert calls[0] == 0.0 and calls[-1] == pytest.approx(1.0)
    assert np.abs(takes[0].clip.samples - takes[1].clip.samples).max() > 1e-3  # seeds differ
    alone = generator.generate(GenerationRequest(ref, ("drums",), (4,), 1, {"seconds": 2.0}))
    np.testing.assert_allclose(alone[0].clip.samples, takes[3].clip.samples, atol=1e-6)
    assert takes[0].params["tempo_bpm"] == pytest.approx(120.0, rel=0.04)


def test_cancel_stops_generation():
    generator = get_generator("vit-wavegan-debug")
    with pytest.raises(CancelledError):
        generator.generate(GenerationRequest(pulse_song(), ("bass",)), cancel=lambda: True)


def test_generate_cli_writes_takes_and_manifest(tmp_path):
    ref = tmp_path / "ref.wav"
    song = pulse_song(seconds=3.0)
    sf.write(ref, song.samples.T, song.sample_rate)
    out = tmp_path / "takes"
    png = tmp_path / "spec.png"
    result = subprocess.run([sys.executable, "-m", "musicsim_gui", "generate", str(ref), "--model",
                             "vit-wavegan-debug", "--instruments", "bass,piano", "--takes", "2", "--seed", "7",
                             "-o", str(out), "--spectrogram", str(png)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    listing = json.loads((out / "takes.json").read_text())
    assert [(t["instrument"], t["seed"]) for t in listing["takes"]] == [
        ("bass", 7), ("bass", 8), ("piano", 7), ("piano", 8)]
    data, rate = sf.read(out / listing["takes"][0]["file"])
    assert rate == 44100 and data.shape == (3 * 44100, 2)
    assert png.stat().st_size > 10_000
    assert listing["takes"][0]["params"]["arrangement"] == "phrase"
    looped = subprocess.run([sys.executable, "-m", "musicsim_gui", "generate", str(ref), "--model",
                             "vit-wavegan-debug", "--instruments", "bass", "--arrangement", "loop",
                             "-o", str(tmp_path / "looped")], capture_output=True, text=True, timeout=120)
    assert looped.returncode == 0, looped.stderr
    assert json.loads((tmp_path / "looped" / "takes.json").read_text())["takes"][0]["params"]["arrangement"] == "loop"


def generate_silence(tmp_path, *options: str) -> subprocess.CompletedProcess:
    """`musicsim generate` with the debug model on 0.1 s of silence, writing to `tmp_path/o`."""
    ref = tmp_path / "ref.wav"
    sf.write(ref, np.zeros((4410, 2), np.float32), 44100)
    return subprocess.run([sys.executable, "-m", "musicsim_gui", "generate", str(ref), "--model",
                           "vit-wavegan-debug", *options, "-o", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)


def test_generate_cli_reports_bad_instrument(tmp_path):
    result = generate_silence(tmp_path, "--instruments", "kazoo")
    assert result.returncode == 2
    assert "kazoo" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_generate_cli_on_cuda_without_a_gpu_names_the_problem(tmp_path):
    result = generate_silence(tmp_path, "--device", "cuda")
    assert result.returncode == 2
    assert "'cuda' requested" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()
