"""The drum part: a per-song boom-bap pattern on a 16-step grid, ghost notes, fills and humanized playing.

Architecture:
1. `draw_pattern` picks the song's groove: kick steps (a downbeat plus one to three syncopations), snare
   backbeat (or half-time), ghost-note candidates and the cymbal grid (8ths, 16ths, quarters) and sound.
2. `drum_voice` plays it over the form: the intro thins out, B sections may switch hats for the ride,
   the last bar of each section ends with a fill, and a crash may mark the next downbeat.
3. Every hit is humanized: timing jitter (a few ms), a laid-back snare, velocity accents and jitter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musicsim_gui.training.corpus.song import Grid, Note, Section, Voice

KICK, SIDE_STICK, SNARE, CLAP = 36, 37, 38, 39
CLOSED_HAT, PEDAL_HAT, OPEN_HAT, CRASH, RIDE, RIDE_BELL = 42, 44, 46, 49, 51, 53
TOMS = (41, 45, 48, 50)
SHAKER = 70

DRUM_KITS = (0, 8, 16, 24, 25, 32, 40)
"""GM drum kits (bank 128 presets): standard, room, power, electronic, TR-808, jazz, brush."""

_KICK_OPTIONS = (3, 6, 7, 8, 10, 11, 14, 15)
_GHOST_OPTIONS = (2, 6, 7, 9, 11, 14)


@dataclass(frozen=True)
class DrumPattern:
    """One song's groove on a 16-step bar; `hat_steps` carries the cymbal rhythm."""

    kick: tuple[int, ...]
    snare: tuple[int, ...]
    snare_note: int
    ghosts: tuple[int, ...]
    hat_steps: tuple[int, ...]
    hat_note: int
    open_hat_step: int | None
    shaker: bool

    def signature(self) -> str:
        """Text identifying the groove, for counting distinct patterns."""
        return (f"K{self.kick} S{self.snare}:{self.snare_note} H{self.hat_steps}:{self.hat_note} "
                f"O{self.open_hat_step} G{len(self.ghosts)}")


def draw_pattern(rng: np.random.Generator) -> DrumPattern:
    """A random LoFi groove."""
    count = int(rng.integers(1, 4))
    kick = (0, *sorted(int(s) for s in rng.choice(_KICK_OPTIONS, size=count, replace=False)))
    snare = (8,) if rng.random() < 0.12 else (4, 12)
    if rng.random() < 0.15:
        snare = (*snare, 15)
    snare_note = int(rng.choice([SNARE, SNARE, SNARE, SIDE_STICK, CLAP]))
    ghosts = tuple(sorted(int(s) for s in rng.choice(_GHOST_OPTIONS, size=int(rng.integers(0, 4)), replace=False)))
    grid = rng.choice(["8ths", "8ths", "16ths", "quarters", "8ths-skip"])
    hat_steps = {"8ths": tuple(range(0, 16, 2)), "16ths": tuple(range(16)), "quarters": (0, 4, 8, 12),
                 "8ths-skip": (0, 2, 4, 6, 8, 10, 12)}[str(grid)]
    hat_note = int(rng.choice([CLOSED_HAT, CLOSED_HAT, PEDAL_HAT, RIDE]))
    open_hat = int(rng.choice([6, 14])) if rng.random() < 0.3 else None
    return DrumPattern(kick, snare, snare_note, ghosts, hat_steps, hat_note, open_hat, bool(rng.random() < 0.25))


class _Player:
    """Places humanized hits on the grid."""

    def __init__(self, grid: Grid, rng: np.random.Generator, jitter_s: float, snare_lag_s: float) -> None:
        self.grid, self.rng, self.jitter, self.snare_lag = grid, rng, jitter_s, snare_lag_s
        self.notes: list[Note] = []

    def hit(self, bar: int, step: float, pitch: int, velocity: float) -> None:
        start = self.grid.seconds(bar, step) + float(self.rng.normal(0.0, self.jitter))
        if pitch in (SNARE, SIDE_STICK, CLAP) and velocity > 60:
            start += self.snare_lag
        vel = int(np.clip(velocity + self.rng.normal(0.0, 6.0), 1, 127))
        self.notes.append(Note(max(0.0, start), max(0.0, start) + 0.12, pitch, vel))


def _play_bar(player: _Player, pattern: DrumPattern, bar: int, cymbal: int, density: float,
              fill: bool) -> None:
    rng = player.rng
    last = 12 if fill else 16
    for step in pattern.kick:
        if step < last and (step == 0 or rng.random() < density):
            player.hit(bar, step, KICK, 100 if step == 0 else 88)
    for step in pattern.snare:
        if step < last:
            player.hit(bar, step, pattern.snare_note, 96)
    for step in pattern.ghosts:
        if step < last and rng.random() < 0.6 * density:
            player.hit(bar, step, SNARE, 28)
    for step in pattern.hat_steps:
        if step >= last:
            continue
        accent = 78 if step % 4 == 0 else (64 if step % 2 == 0 else 48)
        note = OPEN_HAT if step == pattern.open_hat_step and cymbal != RIDE else cymbal
        player.hit(bar, step, note, accent * (0.9 if cymbal == RIDE else 1.0))
    if pattern.shaker:
        for step in range(2, last, 4):
            player.hit(bar, step, SHAKER, 50)
    if fill:
        _fill(player, bar)


def _fill(player: _Player, bar: int) -> None:
    rng = player.rng
    kind = rng.integers(3)
    steps = [12, 13, 14, 15] if kind != 2 else [12, 14, 15]
    for index, step in enumerate(steps):
        pitch = SNARE if kind == 0 else int(TOMS[min(len(TOMS) - 1, 3 - index)])
        player.hit(bar, step, pitch, 70 + 8 * index)
    player.hit(bar, 12, KICK, 90)


def drum_voice(grid: Grid, sections: list[Section], pattern: DrumPattern, kit: int,
               rng: np.random.Generator) -> Voice:
    """The drum voice (GM kit `kit`) over the whole form."""
    player = _Player(grid, rng, jitter_s=float(rng.uniform(0.003, 0.008)),
                     snare_lag_s=float(rng.uniform(0.0, 0.015)))
    ride_in_b = bool(rng.random() < 0.4)
    intro_style = rng.choice(["none", "hats", "full"])
    for index, section in enumerate(sections):
        cymbal = RIDE if (section.name == "B" and ride_in_b) else pattern.hat_note
        for offset in range(section.bars):
            bar = section.start_bar + offset
            last_bar = offset == section.bars - 1 and index < len(sections) - 1
            if section.name == "intro":
                if intro_style == "hats":
                    for step in pattern.hat_steps:
                        player.hit(bar, step, CLOSED_HAT, 50)
                elif intro_style == "full":
                    _play_bar(player, pattern, bar, cymbal, 0.5, fill=last_bar)
                continue
            density = 0.6 if section.name == "outro" else 0.9
            _play_bar(player, pattern, bar, cymbal, density, fill=last_bar and rng.random() < 0.8)
        next_start = section.start_bar + section.bars
        if index < len(sections) - 1 and section.name != "intro" and rng.random() < 0.5:
            player.hit(next_start, 0, CRASH, 70)
    end = sections[-1].start_bar + sections[-1].bars
    player.hit(end, 0, KICK, 90)
    player.hit(end, 0, CRASH, 72)
    player.notes.sort(key=lambda note: (note.start, note.pitch))
    return Voice("drums", program=kit, is_drum=True, notes=player.notes, volume=110,
                 reverb=int(rng.integers(15, 50)))
