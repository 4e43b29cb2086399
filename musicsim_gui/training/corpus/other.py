"""The "other" stem: one or two of pad, guitar, vibraphone, lead (flute/sax-like) and strings.

Each role has a small set of GM programs and a way of playing: pads and strings hold upper chord tones,
the guitar arpeggiates 8ths, the vibraphone plays sparse chord tones, the lead plays melodic phrases.
Roles enter per section, so the texture changes across the form.
"""

from __future__ import annotations

import numpy as np

from musicsim_gui.training.corpus.melody import MelodyWriter, voice_chord
from musicsim_gui.training.corpus.song import Note, Section, Song, Voice

ROLES: dict[str, tuple[int, ...]] = {
    "pad": (88, 89, 91, 94, 95),
    "guitar": (24, 25, 26, 27),
    "vibes": (11, 12, 8),
    "lead": (73, 65, 66, 71, 75),
    "strings": (48, 49, 50),
}
"""Role -> GM programs it may use."""

_REGISTER = {"pad": (55, 79), "guitar": (52, 76), "vibes": (60, 84), "lead": (62, 86), "strings": (55, 81)}


def _held(song: Song, bar: int, pitches_state: dict, rng, velocity: int, size: int, role: str) -> list[Note]:
    low, high = _REGISTER[role]
    notes = []
    harmony = song.chord_at(bar)
    spans = [(harmony[0], 0, 16)] if len(harmony) == 1 else [(harmony[0], 0, 8), (harmony[1], 8, 16)]
    for chord, first, last in spans:
        pitches = voice_chord(song.tonic, chord, low, high, size, pitches_state.get("p"), rootless=True)
        pitches_state["p"] = pitches
        start = song.grid.seconds(bar, first) + float(rng.uniform(0.0, 0.02))
        end = song.grid.seconds(bar, last) - 0.01
        notes += [Note(start, end, p, int(np.clip(velocity + rng.normal(0, 4), 1, 127))) for p in pitches]
    return notes


def _arpeggio(song: Song, bar: int, state: dict, rng, velocity: int, role: str, every: int) -> list[Note]:
    low, high = _REGISTER[role]
    notes = []
    chord = song.chord_at(bar)[0]
    pitches = voice_chord(song.tonic, chord, low, high, 4, state.get("p"), rootless=False)
    state["p"] = pitches
    order = pitches + pitches[-2:0:-1] if state["updown"] else pitches
    for index, step in enumerate(range(0, 16, every)):
        if role == "vibes" and rng.random() < 0.45:
            continue
        chord_now = song.chord_at(bar)[1 if step >= 8 and len(song.chord_at(bar)) > 1 else 0]
        if chord_now is not chord:
            chord = chord_now
            pitches = voice_chord(song.tonic, chord, low, high, 4, pitches, rootless=False)
            order = pitches + pitches[-2:0:-1] if state["updown"] else pitches
        start = song.grid.seconds(bar, step) + float(rng.normal(0, 0.007))
        end = song.grid.seconds(bar, step + every * (2 if role == "vibes" else 1)) - 0.02
        vel = int(np.clip(velocity + rng.normal(0, 7), 1, 127))
        notes.append(Note(max(0.0, start), end, order[index % len(order)], vel))
    return notes


def _role_sections(rng: np.random.Generator, sections: list[Section]) -> set[str]:
    names = sorted({section.name for section in sections})  # sorted: str set order varies per process
    chosen = {name for name in names if rng.random() < 0.7} or {"A"}
    return chosen


def other_voices(song: Song, sections: list[Section], rng: np.random.Generator) -> list[Voice]:
    """One or two voices for the "other" stem, each with its own role, program, pan and active sections."""
    count = 1 if rng.random() < 0.5 else 2
    roles = [str(r) for r in rng.choice(list(ROLES), size=count, replace=False)]
    voices = []
    for index, role in enumerate(roles):
        program = int(rng.choice(ROLES[role]))
        active = _role_sections(rng, sections)
        velocity = int(rng.integers(50, 75)) if role in ("pad", "strings") else int(rng.integers(60, 90))
        state = {"updown": bool(rng.random() < 0.5)}
        writer = MelodyWriter(song.grid, rng, song.tonic, song.mode, *_REGISTER[role],
                              density=float(rng.uniform(0.35, 0.75)))
        notes: list[Note] = []
        for section in sections:
            if section.name not in active:
                continue
            for offset in range(section.bars):
                bar = section.start_bar + offset
                if role in ("pad", "strings"):
                    notes += _held(song, bar, state, rng, velocity, 3 if role == "pad" else 2 + offset % 2, role)
                elif role == "guitar":
                    notes += _arpeggio(song, bar, state, rng, velocity, role, every=2)
                elif role == "vibes":
                    notes += _arpeggio(song, bar, state, rng, velocity, role, every=4)
                else:
                    notes += writer.bar(bar, song.chord_at(bar)[0], velocity, rest_bar=offset % 4 == 3)
        pan = 64 + (-1) ** index * int(rng.integers(8, 30))
        voices.append(Voice(f"other:{role}", program=program, notes=notes, volume=int(rng.integers(80, 105)),
                            pan=pan, reverb=int(rng.integers(40, 100)), chorus=int(rng.integers(0, 50))))
    song.features["other_roles"] = roles
    return voices
