"""The piano part: voiced chords in a per-song comping rhythm, rolled a little, with an occasional melody.

The comping rhythm is one of a few idiomatic figures (whole-bar pads, Charleston, push on the "and" of 2,
syncopated stabs), chosen per song; voicings are rootless or close, voice-led across chords. In some
sections the right hand plays a melody above the chords instead of doubling them.
"""

from __future__ import annotations

import numpy as np

from musicsim_gui.training.corpus.melody import MelodyWriter, voice_chord
from musicsim_gui.training.corpus.song import Note, Section, Song, Voice

PIANO_PROGRAMS = (0, 0, 1, 2, 4, 4, 5)
"""GM acoustic grand, bright acoustic, electric grand, electric piano 1 (twice as likely) and 2."""

COMPING = (
    ((0, 16),),
    ((0, 8), (8, 8)),
    ((0, 6), (6, 10)),
    ((0, 3), (6, 10)),
    ((0, 4), (10, 6)),
    ((0, 2), (3, 3), (8, 2), (11, 5)),
    ((0, 10), (14, 2)),
    ((2, 6), (10, 6)),
)
"""Comping figures: (start step, length in steps) within a 16-step bar."""


def _chords_in_bar(song: Song, bar: int):
    harmony = song.chord_at(bar)
    if len(harmony) == 1:
        return [(harmony[0], 0, 16)]
    return [(harmony[0], 0, 8), (harmony[1], 8, 16)]


def _comp_bar(song: Song, bar: int, figure, rng: np.random.Generator, state: dict, velocity: int) -> list[Note]:
    notes: list[Note] = []
    grid = song.grid
    for chord, first, last in _chords_in_bar(song, bar):
        pitches = voice_chord(song.tonic, chord, 50, 74, 4, state.get("previous"), state["rootless"])
        state["previous"] = pitches
        hits = [(s, n) for s, n in figure if first <= s < last] or [(first, last - first)]
        for step, length in hits:
            stop = min(step + length, last)
            onset = grid.seconds(bar, step) + float(rng.normal(0, 0.006))
            roll = float(rng.uniform(0.0, state["roll"]))
            for index, pitch in enumerate(pitches):
                start = max(0.0, onset + index * roll)
                end = grid.seconds(bar, stop) - 0.03
                vel = int(np.clip(velocity + rng.normal(0, 7) - 3 * index, 1, 127))
                notes.append(Note(start, max(start + 0.1, end), pitch, vel))
    return notes


def piano_voice(song: Song, sections: list[Section], rng: np.random.Generator) -> Voice:
    """The piano voice over the whole form, with a per-song program and comping figure."""
    figure = COMPING[int(rng.integers(len(COMPING)))]
    state = {"rootless": bool(rng.random() < 0.5), "roll": float(rng.uniform(0.0, 0.03)), "previous": None}
    melody_sections = {name for name in ("A", "B") if rng.random() < 0.3}
    writer = MelodyWriter(song.grid, rng, song.tonic, song.mode, 67, 86, density=float(rng.uniform(0.3, 0.7)))
    velocity = int(rng.integers(55, 80))
    notes: list[Note] = []
    for section in sections:
        for offset in range(section.bars):
            bar = section.start_bar + offset
            notes += _comp_bar(song, bar, figure, rng, state, velocity - (10 if section.name in melody_sections else 0))
            if section.name in melody_sections:
                notes += writer.bar(bar, song.chord_at(bar)[0], velocity + 12, rest_bar=offset % 4 == 3)
    final = voice_chord(song.tonic, song.chord_at(0)[0], 50, 74, 4, state["previous"], state["rootless"])
    start = song.grid.seconds(song.total_bars, 0)
    notes += [Note(start, start + song.grid.bar_seconds, pitch, velocity) for pitch in final]
    song.features["piano_figure"] = COMPING.index(figure)
    song.features["piano_melody_sections"] = sorted(melody_sections)
    return Voice("piano", program=int(rng.choice(PIANO_PROGRAMS)), notes=notes,
                 volume=int(rng.integers(90, 110)), pan=int(rng.integers(52, 76)), reverb=int(rng.integers(30, 80)),
                 chorus=int(rng.integers(0, 30)))
