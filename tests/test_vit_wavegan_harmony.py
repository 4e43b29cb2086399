"""Harmony following: pitch-class profiles, the transposition plan, the phase-vocoder transposition, tiling
with a copy sequence, and the installed setting in a generator."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from vit_support import debug_folder_with_card, export_command

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.io import load_audio
from musicsim_gui.generation.base import GenerationRequest
from musicsim_gui.generation.vit_wavegan.harmony import (
    HarmonyFollow,
    follow_harmony,
    loop_profile,
    parse_harmony,
    pitch_classes,
    transpose,
)
from musicsim_gui.generation.vit_wavegan.loading import load_folder
from musicsim_gui.generation.vit_wavegan.loops import copy_layout, tile
from musicsim_gui.runtime.manifest import load_manifest
from musicsim_gui.runtime.paths import bundled_models_dir
from musicsim_gui.training.vit_wavegan.reference_stems import wants_reference_stems

RATE = 44100
C, D, E, F, G, A = 0, 2, 4, 5, 7, 9


def _note(midi: float, seconds: float, rate: int = RATE, harmonics: int = 4) -> np.ndarray:
    time = np.arange(int(seconds * rate)) / rate
    f0 = 440.0 * 2.0 ** ((midi - 69) / 12.0)
    tone = sum(np.sin(2 * np.pi * f0 * k * time) / k for k in range(1, harmonics + 1))
    return (0.3 * tone).astype(np.float32)


def _chord(midis, seconds: float) -> np.ndarray:
    return np.sum([_note(m, seconds) for m in midis], axis=0).astype(np.float32)


def _fundamental(audio: np.ndarray, low: float = 40.0, high: float = 400.0) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.shape[-1]), n=8 * audio.shape[-1]))
    freqs = np.fft.rfftfreq(8 * audio.shape[-1], 1.0 / RATE)
    inside = (freqs >= low) & (freqs <= high)
    return float(freqs[inside][np.argmax(spectrum[inside])])


def test_pitch_class_profiles_name_the_notes_played():
    profile = pitch_classes(_note(57, 1.0), RATE).sum(axis=0)          # A3
    assert int(np.argmax(profile)) == A
    triad = loop_profile(_chord((48, 52, 55), 1.0), RATE)                # C major
    assert set(np.argsort(triad)[-3:].tolist()) == {C, E, G}
    low_e = pitch_classes(_note(28, 2.0, harmonics=1), RATE).sum(axis=0)  # E1, 41 Hz: bins fine enough
    assert int(np.argmax(low_e)) == E
    assert pitch_classes(np.zeros(0, np.float32), RATE).shape == (0, 12)


def test_transposing_keeps_length_and_period_and_moves_only_the_notes():
    rng = np.random.default_rng(0)
    hiss = np.fft.irfft(np.fft.rfft(rng.standard_normal(RATE)) * (np.fft.rfftfreq(RATE, 1 / RATE) > 6000), n=RATE)
    loop = _note(45, 1.0) + 0.05 * hiss.astype(np.float32)                 # A2 (110 Hz) over hiss above 6 kHz
    for semitones in (-5, -1, 3, 6):
        moved = transpose(loop, RATE, semitones)
        assert moved.shape == loop.shape and moved.dtype == np.float32
        assert _fundamental(moved) == pytest.approx(110.0 * 2.0 ** (semitones / 12.0), rel=0.01)
        above = np.fft.rfftfreq(RATE, 1 / RATE) > 6000                   # the hiss is not transposed
        error = np.linalg.norm(np.fft.rfft(moved)[above] - np.fft.rfft(loop)[above])
        assert error < 0.1 * np.linalg.norm(np.fft.rfft(loop)[above])
    np.testing.assert_array_equal(transpose(loop, RATE, 0), loop)


def test_transposed_notes_keep_their_level():
    time = np.arange(int(1.5 * RATE)) / RATE
    plucked = (_note(45, 1.5, harmonics=2) * np.exp(-(time % 0.375) * 6.0)).astype(np.float32)  # a note per beat
    for semitones in (-5, 3, 6):
        moved = transpose(plucked, RATE, semitones)
        level_db = 20 * np.log10(np.sqrt(np.mean(moved ** 2)) / np.sqrt(np.mean(plucked ** 2)))
        assert abs(level_db) < 0.5                      # the bins of each partial stay coherent


def test_the_plan_follows_the_chords_keeps_its_shift_through_silence_and_resists_wobbles():
    loop = loop_profile(_chord((48, 52, 55), 1.0), RATE)[np.newaxis]       # the loop plays C major
    part = np.concatenate([_chord((53, 57, 60), 2.0), _chord((55, 59, 62), 2.0), np.zeros(2 * RATE, np.float32),
                           _chord((48, 52, 55), 2.0)])                      # F, G, rest, C
    frames = pitch_classes(part, RATE)
    per_second = 8000 / 1024
    spans = np.array([[int(s * per_second), int((s + 1) * per_second)] for s in range(8)])
    shifts = HarmonyFollow({"piano": 6}, change_cost=0.1).plan(loop, (0,) * 8, spans, frames, "piano")
    assert shifts.tolist() == [F, F, G - 12, G - 12, G - 12, G - 12, 0, 0]   # F +5, G −5 (the smaller move)
    assert HarmonyFollow({"piano": 2}).plan(loop, (0,) * 8, spans, frames, "piano").max() <= 2
    stubborn = HarmonyFollow({"piano": 6}, change_cost=2.0).plan(loop, (0,) * 8, spans, frames, "piano")
    assert stubborn.tolist() == [0] * 8


def test_tiling_with_a_sequence_plays_the_named_rows_where_the_layout_says():
    loops = np.stack([np.full(1000, value, np.float32) for value in (1.0, 2.0, 3.0)])
    starts, played, fade = copy_layout(1000, 4500, 100, 900.0, (0, 1), offset=300.0)
    assert starts[0] < 0 and played[:3] == (1, 0, 1) and fade == 100
    plain = tile(loops[:2], 4500, 100, 900.0, (0, 1), offset=300.0)
    np.testing.assert_allclose(tile(loops, 4500, 100, 900.0, (0, 1), offset=300.0, sequence=played), plain)
    third = tile(loops, 4500, 100, 900.0, (0, 1), offset=300.0, sequence=(2,) * len(starts))
    middle = int(starts[2]) + 500
    assert third[middle] == pytest.approx(3.0)
    with pytest.raises(ValueError, match="copies"):
        tile(loops, 4500, 100, 900.0, (0, 1), offset=300.0, sequence=(0, 1))


def test_follow_harmony_transposes_each_copy_to_the_part_under_it():
    loop = _note(45, 0.52)                                                 # A2 loop, 0.5 s period + fade
    part = np.concatenate([_note(50, 2.0), _note(52, 2.0)])                # D3 for 2 s, then E3
    starts, played, _ = copy_layout(loop.shape[0], 4 * RATE, 882, 0.5 * RATE)
    rows, sequence = follow_harmony(HarmonyFollow({"bass": 6}), loop[np.newaxis], RATE, "bass",
                                    pitch_classes(part, RATE), starts, played, 0.5 * RATE)
    assert rows.shape[0] == 2 and len(sequence) == len(starts)
    pitches = [_fundamental(rows[row]) for row in sequence]
    assert all(p == pytest.approx(110.0 * 2 ** (5 / 12), rel=0.01) for p in pitches[1:3])   # D: +5
    assert all(p == pytest.approx(110.0 * 2 ** (-5 / 12), rel=0.01) for p in pitches[5:7])  # E: −5


def test_settings_round_trip_and_bad_ones_are_named():
    harmony = parse_harmony("bass=6, piano=3", change_cost=0.2)
    assert harmony == HarmonyFollow({"bass": 6, "piano": 3}, 0.2)
    assert HarmonyFollow.from_dict(harmony.to_dict()) == harmony
    assert harmony.applies_to("piano") and not harmony.applies_to("other")
    for bad, message in (("bass", "harmony"), ("bass=9", "1-6"), ("bass=2.5", "whole number"),
                         ("drums=3", "no pitch")):
        with pytest.raises(ValueError, match=message):
            parse_harmony(bad)
    with pytest.raises(ValueError, match="change cost"):
        HarmonyFollow({"bass": 6}, change_cost=5.0)


def test_installed_harmony_makes_stem_following_takes_play_the_parts_chords(tmp_path):
    folder = debug_folder_with_card(tmp_path / "vit-debug", "# vit-debug\n- Low cut: none.\n")
    plain_generator = load_folder(folder, backend="onnx", device="cpu")
    done = export_command("harmony", str(folder), "--shifts", "bass=6")
    assert done.returncode == 0, done.stderr
    assert load_manifest(folder, verify=True).config["harmony"] == {"shifts": {"bass": 6}, "change_cost": 0.1}
    card = (folder / "MODEL_CARD.md").read_text().splitlines()
    assert card[card.index("- Low cut: none.") + 1].startswith("- Harmony:")
    generator = load_folder(folder, backend="onnx", device="cpu")
    assert wants_reference_stems(generator) and not wants_reference_stems(plain_generator)  # no reference match
    noise = np.random.default_rng(1).standard_normal((2, 4 * RATE)).astype(np.float32) * 0.1
    reference = AudioClip(noise, RATE)
    parts = {name: AudioClip(np.tile(np.concatenate([_note(50, 2.0), _note(55, 2.0)]), (2, 1)), RATE)
             for name in ("bass", "drums")}
    request = GenerationRequest(reference, ("bass", "drums"), (5,), 1, {"seconds": 3.0, "tempo_bpm": 480.0}, parts)
    plain, followed = plain_generator.generate(request), generator.generate(request)
    assert followed[0].params["harmony"] is True and followed[1].params["harmony"] is False
    assert not np.allclose(followed[0].clip.samples, plain[0].clip.samples, atol=1e-3)   # bass transposed
    np.testing.assert_allclose(followed[1].clip.samples, plain[1].clip.samples, atol=1e-6)  # drums: never
    off = GenerationRequest(reference, ("bass",), (5,), 1, {"seconds": 3.0, "tempo_bpm": 480.0,
                                                            "reference_match": False}, parts)
    np.testing.assert_allclose(generator.generate(off)[0].clip.samples, plain[0].clip.samples, atol=1e-6)
    wrong = export_command("harmony", str(folder), "--shifts", "drums=3")
    assert wrong.returncode == 2 and "no pitch" in wrong.stderr
    assert load_manifest(folder, verify=True).config["harmony"]["shifts"] == {"bass": 6}


DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"


@pytest.mark.skipif(not (bundled_models_dir() / "vit-wavegan-lofi" / "manifest.json").is_file()
                    or not (DEMO / "stems" / "bass.flac").is_file(), reason="the bundled model or demo is absent")
def test_the_bundled_models_bass_plays_the_demo_bass_parts_notes():
    generator = load_folder(bundled_models_dir() / "vit-wavegan-lofi", backend="onnx", device="cpu")
    assert generator.finishing.harmony is not None and generator.finishing.harmony.applies_to("bass")
    reference = load_audio(DEMO / "reference.flac")
    stems = {name: load_audio(DEMO / "stems" / f"{name}.flac") for name in ("bass", "drums", "piano", "other")}
    request = GenerationRequest(reference, ("bass",), (0,), 1, {"seconds": 30.0}, stems)
    part = pitch_classes(stems["bass"].samples.mean(axis=0)[: 30 * stems["bass"].sample_rate], stems["bass"].sample_rate)

    def agreement(take) -> float:
        """Mean centred cosine of the take's and the part's pitch-class profiles over each second."""
        profile = pitch_classes(take.clip.samples.mean(axis=0), take.clip.sample_rate)
        frames = min(len(profile), len(part)) // 8 * 8
        ours, theirs = (p[:frames].reshape(-1, 8, 12).sum(axis=1) for p in (profile, part))
        ours, theirs = (p - p.mean(axis=1, keepdims=True) for p in (ours, theirs))
        cosine = (ours * theirs).sum(axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1) + 1e-9)
        return float(cosine[theirs.any(axis=1)].mean())

    following = agreement(generator.generate(request)[0])
    generator.finishing = replace(generator.finishing, harmony=None)
    fixed_key = agreement(generator.generate(request)[0])
    assert following > 0.6 and fixed_key < 0.2, (following, fixed_key)
