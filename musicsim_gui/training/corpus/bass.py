"""The bass part: roots and fifths locked to the kick, chromatic approach notes, or a walking line.

Styles (one per song, B sections may switch to walking): "locked" plays on the kick steps, "walking"
plays quarter notes that step through chord tones and approach the next root by a semitone,
"sustained" holds roots in half notes. Pitches stay in A1..Ab2 (MIDI 33..44) with octave jumps up.
"""

from __future__ import annotations

import numpy as np

from musicsim_gui.training.corpus.song import Grid, Note, Section, Song, Voice
from musicsim_gui.training.corpus.theory import QUALITIES, Chord

BASS_PROGRAMS = (32, 33, 34, 35, 38, 39)
"""GM acoustic, finger, pick, fretless, synth bass 1 and 2."""

_LOW = 33


def bass_root(tonic: int, chord: Chord) -> int:
    """MIDI pitch of the chord root in the bass register."""
    return _LOW + (tonic + chord.root - _LOW) % 12


def _chord_spans(song: Song, bar: int) -> list[tuple[Chord, float, float]]:
    """(chord, first step, last step) for each chord in `bar` (two chords split the bar at step 8)."""
    harmony = song.chord_at(bar)
    if len(harmony) == 1:
        return [(harmony[0], 0.0, 16.0)]
    return [(harmony[0], 0.0, 8.0), (harmony[1], 8.0, 16.0)]


def _next_root(song: Song, bar: int, tonic: int) -> int | None:
    if bar + 1 >= song.total_bars:
        return None
    return bass_root(tonic, song.chord_at(bar + 1)[0])


class _Line:
    def __init__(self, grid: Grid, rng: np.random.Generator) -> None:
        self.grid, self.rng = grid, rng
        self.notes: list[Note] = []

    def add(self, bar: int, step: float, length: float, pitch: int, velocity: float) -> None:
        start = self.grid.seconds(bar, step) + float(self.rng.normal(0.0, 0.006))
        end = self.grid.seconds(bar, step + length) - 0.02
        vel = int(np.clip(velocity + self.rng.normal(0, 6), 1, 127))
        self.notes.append(Note(max(0.0, start), max(start + 0.05, end), pitch, vel))


def _locked_bar(line: _Line, song: Song, bar: int, kick: tuple[int, ...], approach: bool) -> None:
    rng = line.rng
    for chord, first, last in _chord_spans(song, bar):
        root = bass_root(song.tonic, chord)
        steps = sorted({int(first), *[s for s in kick if first <= s < last]})
        for index, step in enumerate(steps):
            nxt = steps[index + 1] if index + 1 < len(steps) else last
            pitch = root
            if index > 0:
                fifth = root + QUALITIES[chord.quality][2]
                pitch = int(rng.choice([root, fifth, root + 12, fifth - 12 if fifth - 12 >= 28 else fifth]))
            line.add(bar, step, nxt - step, pitch, 96 if step == first else 82)
    target = _next_root(song, bar, song.tonic)
    early = line.notes and line.notes[-1].start < line.grid.seconds(bar, 13)
    if approach and early and target is not None and rng.random() < 0.5:
        line.notes[-1] = Note(line.notes[-1].start, min(line.notes[-1].end, line.grid.seconds(bar, 14) - 0.02),
                              line.notes[-1].pitch, line.notes[-1].velocity)
        line.add(bar, 14, 2, target + int(rng.choice([-1, 1, -2])), 76)


def _walking_bar(line: _Line, song: Song, bar: int) -> None:
    rng = line.rng
    target = _next_root(song, bar, song.tonic)
    for chord, first, last in _chord_spans(song, bar):
        root = bass_root(song.tonic, chord)
        tones = [root + step for step in QUALITIES[chord.quality] if step < 12]
        steps = np.arange(first, last, 4.0)
        for index, step in enumerate(steps):
            if index == 0:
                pitch = root
            elif index == len(steps) - 1 and target is not None and last == 16.0:
                pitch = target + int(rng.choice([-1, 1]))
            else:
                pitch = int(rng.choice(tones))
            line.add(bar, float(step), 4.0, pitch, 90 if index == 0 else 80)


def _sustained_bar(line: _Line, song: Song, bar: int) -> None:
    for chord, first, last in _chord_spans(song, bar):
        root = bass_root(song.tonic, chord)
        half = (last - first) / 2 if last - first > 8 else last - first
        step = first
        while step < last:
            line.add(bar, step, half, root, 92)
            step += half


def bass_voice(song: Song, sections: list[Section], kick: tuple[int, ...], rng: np.random.Generator) -> Voice:
    """The bass voice over the whole form; returns it with a per-song GM program."""
    style = str(rng.choice(["locked", "locked", "walking", "sustained"]))
    walk_in_b = bool(rng.random() < 0.35)
    line = _Line(song.grid, rng)
    for section in sections:
        section_style = "walking" if (section.name == "B" and walk_in_b) else style
        if section.name == "intro" and rng.random() < 0.6:
            continue
        for bar in range(section.start_bar, section.start_bar + section.bars):
            if section_style == "locked":
                _locked_bar(line, song, bar, kick, approach=True)
            elif section_style == "walking":
                _walking_bar(line, song, bar)
            else:
                _sustained_bar(line, song, bar)
    end = song.total_bars
    line.add(end, 0, 8, bass_root(song.tonic, song.chord_at(0)[0]), 90)
    song.features["bass_style"] = style
    program = int(rng.choice(BASS_PROGRAMS))
    return Voice("bass", program=program, notes=line.notes, volume=int(rng.integers(95, 115)),
                 reverb=int(rng.integers(0, 20)))
