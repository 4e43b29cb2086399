"""Compose one LoFi song from a seed: tempo, swing, key, progressions, form, and all four parts.

`compose(seed)` is a pure function of the seed (NumPy PCG64 generator), so a song can always be
recomposed exactly. The form is intro, A/B sections of 8 bars (4 where space is short) and an outro,
sized to a length drawn from 60..150 s unless `duration_s` overrides it (tests use a few seconds).
"""

from __future__ import annotations

import numpy as np

from musicsim_gui.training.corpus.bass import bass_voice
from musicsim_gui.training.corpus.drums import DRUM_KITS, draw_pattern, drum_voice
from musicsim_gui.training.corpus.keys import piano_voice
from musicsim_gui.training.corpus.other import other_voices
from musicsim_gui.training.corpus.song import Grid, Section, Song
from musicsim_gui.training.corpus.theory import vary_progression

MIN_SECONDS, MAX_SECONDS = 60.0, 150.0
TAIL_BARS = 1
"""A final bar with the closing chord after the form; plus `RELEASE_S` for the release and reverb."""
RELEASE_S = 1.5


def _seconds(bars: int, bar_seconds: float) -> float:
    return (bars + TAIL_BARS) * bar_seconds + RELEASE_S


def plan_form(rng: np.random.Generator, total_bars: int, bar_seconds: float,
              limits: tuple[float, float] | None = None) -> list[Section]:
    """Sections of about `total_bars` (≥ 2): intro, A/B sections (multiples of 4 bars), outro; short songs
    get a single A. With `limits` (seconds), the middle grows or shrinks by 4 bars until the song fits."""
    if total_bars < 12:
        return [Section("A", 0, total_bars)]
    intro = int(rng.choice([2, 4]))
    outro = int(rng.choice([2, 4]))
    middle = max(4, int(round((total_bars - intro - outro) / 4)) * 4)
    if limits is not None:
        while _seconds(intro + middle + outro, bar_seconds) < limits[0]:
            middle += 4
        while _seconds(intro + middle + outro, bar_seconds) > limits[1] and middle > 4:
            middle -= 4
    sections = [Section("intro", 0, intro)]
    bar, previous = intro, "B"
    while bar < intro + middle:
        length = 8 if intro + middle - bar >= 8 else 4
        name = "A" if previous == "B" or rng.random() < 0.35 else "B"
        sections.append(Section(name, bar, length))
        bar, previous = bar + length, name
    sections.append(Section("outro", bar, outro))
    return sections


def compose(seed: int, duration_s: float | None = None) -> Song:
    """The song for `seed`; `duration_s` fixes the target length (seconds) instead of drawing 60..150 s."""
    rng = np.random.default_rng(seed)
    grid = Grid(tempo_bpm=round(float(rng.uniform(65.0, 95.0)), 2), swing=round(float(rng.uniform(0.5, 0.64)), 3))
    tonic = int(rng.integers(12))
    mode = "minor" if rng.random() < 0.5 else "major"
    prog_a = vary_progression(rng, mode)
    prog_b = vary_progression(rng, mode)
    for _ in range(5):
        if prog_b != prog_a:
            break
        prog_b = vary_progression(rng, mode)
    target = float(duration_s) if duration_s is not None else float(rng.uniform(MIN_SECONDS, MAX_SECONDS))
    total_bars = max(2, int(round((target - RELEASE_S) / grid.bar_seconds)) - TAIL_BARS)
    limits = None if duration_s is not None else (MIN_SECONDS, MAX_SECONDS)
    sections = plan_form(rng, total_bars, grid.bar_seconds, limits)
    pattern = draw_pattern(rng)
    kit = int(rng.choice(DRUM_KITS))
    song = Song(seed=seed, grid=grid, tonic=tonic, mode=mode, progressions={"A": prog_a, "B": prog_b},
                sections=sections, stems={}, duration=0.0, drum_kit=kit, drum_pattern=pattern.signature())
    song.duration = round(_seconds(song.total_bars, grid.bar_seconds), 3)
    song.stems["drums"] = [drum_voice(grid, sections, pattern, kit, rng)]
    song.stems["bass"] = [bass_voice(song, sections, pattern.kick, rng)]
    song.stems["piano"] = [piano_voice(song, sections, rng)]
    song.stems["other"] = other_voices(song, sections, rng)
    song.stems = {name: song.stems[name] for name in ("bass", "drums", "piano", "other")}
    return song
