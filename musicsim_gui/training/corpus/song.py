"""The composed song as data: notes per voice, voices per stem, the form, and the swung time grid.

Times are in seconds from the start of the song. A `Grid` maps musical positions (bars and 16th steps) to
seconds: 16 steps per 4/4 bar, with swing delaying every off-beat 8th (and the 16ths between) by a
piecewise-linear warp of each beat, so straight patterns become laid back without changing the beat times.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from musicsim_gui.training.corpus.theory import Bar


@dataclass(frozen=True)
class Note:
    """One note: `start`/`end` in seconds, MIDI `pitch` 0..127, MIDI `velocity` 1..127."""

    start: float
    end: float
    pitch: int
    velocity: int


@dataclass
class Voice:
    """One MIDI instrument inside a stem. `program` is the GM program (0..127); drum kits use `is_drum`
    with `program` the kit number in bank 128. `reverb`/`chorus`/`volume`/`pan` are MIDI CC values."""

    name: str
    program: int
    is_drum: bool = False
    notes: list[Note] = field(default_factory=list)
    volume: int = 100
    pan: int = 64
    reverb: int = 40
    chorus: int = 0


@dataclass(frozen=True)
class Section:
    """A part of the form: `name` (intro, A, B, outro), first bar and bar count."""

    name: str
    start_bar: int
    bars: int


@dataclass(frozen=True)
class Grid:
    """Tempo and swing: converts (bar, 16th step) to seconds. `swing` is where the off-beat 8th falls
    inside a beat, as a fraction (0.5 straight, 0.66 triplet feel)."""

    tempo_bpm: float
    swing: float

    @property
    def beat_seconds(self) -> float:
        return 60.0 / self.tempo_bpm

    @property
    def bar_seconds(self) -> float:
        return 4.0 * self.beat_seconds

    def seconds(self, bar: int, step: float) -> float:
        """Seconds at `step` 16ths (may be fractional, may exceed 16) after the start of `bar`."""
        beats = bar * 4 + step / 4.0
        whole = int(beats // 1)
        frac = beats - whole
        if frac <= 0.5:
            warped = frac / 0.5 * self.swing
        else:
            warped = self.swing + (frac - 0.5) / 0.5 * (1.0 - self.swing)
        return (whole + warped) * self.beat_seconds


@dataclass
class Song:
    """A complete composed song: everything the renderer, the MIDI writer and meta.json need."""

    seed: int
    grid: Grid
    tonic: int
    mode: str
    progressions: dict[str, list[Bar]]
    sections: list[Section]
    stems: dict[str, list[Voice]]
    duration: float
    drum_kit: int
    drum_pattern: str
    features: dict[str, object] = field(default_factory=dict)

    @property
    def total_bars(self) -> int:
        last = self.sections[-1]
        return last.start_bar + last.bars

    def beat_times(self) -> list[float]:
        """Seconds of every beat of the form (unswung downbeats of each quarter note)."""
        return [round(beat * self.grid.beat_seconds, 6) for beat in range(self.total_bars * 4)]

    def chord_at(self, bar: int) -> Bar:
        """The harmony of `bar` (its section's progression, looped every four bars)."""
        for section in self.sections:
            if section.start_bar <= bar < section.start_bar + section.bars:
                return self.progressions[_progression_key(section.name)][(bar - section.start_bar) % 4]
        raise IndexError(bar)


def _progression_key(section_name: str) -> str:
    return "B" if section_name == "B" else "A"
