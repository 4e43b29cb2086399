"""Melodies and chord voicings shared by the piano and the "other" instruments.

`melody_bar` writes a phrase fragment on the 8th-note grid: a bounded random walk over the scale that lands
on chord tones on strong beats and leaves rests. `voice_chord` spreads chord tones into a close voicing
inside a register, choosing the inversion nearest the previous voicing (simple voice leading).
"""

from __future__ import annotations

import numpy as np

from musicsim_gui.training.corpus.song import Grid, Note
from musicsim_gui.training.corpus.theory import Chord, chord_tones, scale_pitches


def voice_chord(tonic: int, chord: Chord, low: int, high: int, size: int, previous: list[int] | None,
                rootless: bool) -> list[int]:
    """`size` MIDI pitches of `chord` within [low, high], close to `previous` (if any)."""
    tones = list(chord_tones(chord))
    if rootless and len(tones) > 3:
        tones = tones[1:]
    classes = [(tonic + tone) % 12 for tone in tones][:size]
    centre = float(np.mean(previous)) if previous else (low + high) / 2
    best: list[int] = []
    best_cost = float("inf")
    for bottom in range(low, high - 6):
        pitches, cursor = [], bottom
        for pitch_class in sorted(classes, key=lambda c: (c - bottom) % 12):
            pitch = cursor + (pitch_class - cursor) % 12
            pitches.append(pitch)
            cursor = pitch + 1
        if pitches[-1] > high:
            continue
        cost = abs(float(np.mean(pitches)) - centre) + 0.1 * (pitches[-1] - pitches[0])
        if cost < best_cost:
            best, best_cost = pitches, cost
    return sorted(best)


class MelodyWriter:
    """Stateful phrase writer for one instrument in the register [low, high]."""

    def __init__(self, grid: Grid, rng: np.random.Generator, tonic: int, mode: str, low: int, high: int,
                 density: float) -> None:
        self.grid, self.rng, self.density = grid, rng, density
        self.scale = scale_pitches(tonic, mode, low, high)
        self.index = len(self.scale) // 2
        self.tonic = tonic

    def _snap_to_chord(self, chord: Chord) -> None:
        classes = {(self.tonic + tone) % 12 for tone in chord_tones(chord)}
        for delta in (0, 1, -1, 2, -2):
            candidate = self.index + delta
            if 0 <= candidate < len(self.scale) and self.scale[candidate] % 12 in classes:
                self.index = candidate
                return

    def bar(self, bar: int, chord: Chord, velocity: int, rest_bar: bool) -> list[Note]:
        """Notes for one bar over `chord`; `rest_bar` ends a phrase with a held note then silence."""
        notes: list[Note] = []
        steps = [0, 2, 4, 6, 8, 10, 12, 14]
        step_i = 0
        while step_i < len(steps):
            step = steps[step_i]
            if rest_bar and step >= 8:
                break
            if self.rng.random() > self.density and step % 4 != 0:
                step_i += 1
                continue
            move = int(self.rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]))
            self.index = int(np.clip(self.index + move, 0, len(self.scale) - 1))
            if step % 8 == 0:
                self._snap_to_chord(chord)
            length = int(self.rng.choice([1, 1, 2, 3])) if not rest_bar else 4
            end_step = steps[min(step_i + length, len(steps) - 1)] if step_i + length < len(steps) else 16
            start = self.grid.seconds(bar, step) + float(self.rng.normal(0, 0.008))
            end = self.grid.seconds(bar, end_step) - 0.03
            vel = int(np.clip(velocity + self.rng.normal(0, 8) + (6 if step % 8 == 0 else 0), 1, 127))
            notes.append(Note(max(0.0, start), max(start + 0.08, end), self.scale[self.index], vel))
            step_i += length
        return notes
