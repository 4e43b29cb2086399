"""Harmony for the corpus composer: keys, chord qualities, and idiomatic LoFi/jazz progressions.

A chord is a root (semitones above the tonic, 0..11) and a quality name; `chord_tones` turns it into pitch
classes. Progressions are four-bar templates in Roman numerals relative to the tonic, varied per song by
`vary_progression` (extension changes, tritone substitution, borrowed iv, split bars), so a few dozen
templates become hundreds of distinct progressions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PITCH_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")

QUALITIES: dict[str, tuple[int, ...]] = {
    "maj7": (0, 4, 7, 11),
    "maj9": (0, 4, 7, 11, 14),
    "6": (0, 4, 7, 9),
    "69": (0, 4, 7, 9, 14),
    "m7": (0, 3, 7, 10),
    "m9": (0, 3, 7, 10, 14),
    "m11": (0, 3, 7, 10, 14, 17),
    "m6": (0, 3, 7, 9),
    "7": (0, 4, 7, 10),
    "9": (0, 4, 7, 10, 14),
    "13": (0, 4, 10, 14, 21),
    "7b9": (0, 4, 7, 10, 13),
    "m7b5": (0, 3, 6, 10),
    "sus": (0, 5, 7, 10, 14),
}
"""Chord quality -> intervals in semitones above the chord root."""

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 9, 10),  # dorian colour: the natural 6 suits minor LoFi
}

_EXTEND = {"maj7": ("maj7", "maj9", "6", "69"), "m7": ("m7", "m9", "m11"), "7": ("7", "9", "13"),
           "m7b5": ("m7b5",), "m6": ("m6", "m9"), "sus": ("sus",), "7b9": ("7b9",)}


@dataclass(frozen=True)
class Chord:
    """A chord relative to the song's tonic: `root` in semitones (0..11), `quality` a key of QUALITIES."""

    root: int
    quality: str

    def label(self) -> str:
        return f"{self.root}:{self.quality}"


# Four-bar templates: each bar is one chord or two (a tuple splits the bar in halves).
_MAJOR = [
    [(2, "m7"), (7, "7"), (0, "maj7"), (0, "maj7")],          # ii-V-I
    [(0, "maj7"), (9, "m7"), (2, "m7"), (7, "7")],            # I-vi-ii-V
    [(5, "maj7"), (4, "m7"), (2, "m7"), (0, "maj7")],         # IV-iii-ii-I
    [(0, "maj7"), (5, "maj7"), (4, "m7"), (9, "m7")],         # I-IV-iii-vi
    [(5, "maj7"), (7, "7"), (4, "m7"), (9, "m7")],            # IV-V-iii-vi (royal road)
    [(0, "maj7"), (4, "7"), (9, "m7"), (7, "m7")],            # I-III7-vi-v
    [(2, "m7"), (4, "m7"), (5, "maj7"), (7, "7")],            # ii-iii-IV-V
    [(5, "maj7"), (5, "m6"), (4, "m7"), (9, "7")],            # IV-iv-iii-VI7 (borrowed iv)
    [(0, "maj7"), (2, "m7"), (4, "m7"), (5, "maj7")],
    [(9, "m7"), (2, "m7"), (7, "7"), (0, "maj7")],            # vi-ii-V-I
    [(0, "maj7"), (10, "7"), (5, "maj7"), (5, "m6")],         # I-bVII-IV-iv
    [(4, "m7"), (9, "7"), (2, "m7"), (7, "7")],               # iii-VI-ii-V
    [(5, "maj7"), (4, "7"), (9, "m7"), (0, "7")],
    [(0, "maj7"), (8, "maj7"), (10, "7"), (0, "maj7")],       # I-bVI-bVII-I
]
_MINOR = [
    [(0, "m7"), (5, "7"), (0, "m7"), (5, "7")],               # i-IV (dorian vamp)
    [(2, "m7b5"), (7, "7b9"), (0, "m7"), (0, "m7")],          # minor ii-V-i
    [(0, "m7"), (8, "maj7"), (3, "maj7"), (10, "7")],         # i-bVI-bIII-bVII
    [(0, "m7"), (10, "m7"), (8, "maj7"), (7, "7")],           # i-bvii-bVI-V
    [(5, "m7"), (10, "7"), (3, "maj7"), (8, "maj7")],         # iv-bVII-bIII-bVI
    [(0, "m9"), (3, "maj7"), (5, "m7"), (7, "m7")],
    [(8, "maj7"), (7, "m7"), (5, "m7"), (0, "m7")],
    [(0, "m7"), (5, "m7"), (10, "7"), (3, "maj7")],           # i-iv-bVII-bIII
    [(3, "maj7"), (2, "m7b5"), (7, "7"), (0, "m7")],
    [(0, "m7"), (0, "m6"), (8, "maj7"), (7, "sus")],
    [(5, "m7"), (7, "m7"), (0, "m7"), (0, "m7")],
    [(0, "m9"), (5, "9"), (10, "m7"), (3, "7")],
]
PROGRESSIONS: dict[str, list[list[tuple[int, str]]]] = {"major": _MAJOR, "minor": _MINOR}

Bar = tuple[Chord, ...]
"""One bar of harmony: one chord, or two chords splitting the bar in halves."""


def chord_tones(chord: Chord) -> tuple[int, ...]:
    """The chord's intervals above the song tonic (may exceed 12 for extensions)."""
    return tuple(chord.root + step for step in QUALITIES[chord.quality])


def _extend(rng: np.random.Generator, quality: str) -> str:
    choices = _EXTEND.get(quality, (quality,))
    return str(choices[int(rng.integers(len(choices)))])


def vary_progression(rng: np.random.Generator, mode: str) -> list[Bar]:
    """Draw a template for `mode` and vary it; returns four bars."""
    templates = PROGRESSIONS[mode]
    template = templates[int(rng.integers(len(templates)))]
    bars: list[Bar] = []
    for root, quality in template:
        chord = Chord(root, _extend(rng, quality))
        if quality == "7" and rng.random() < 0.2:  # tritone substitution
            chord = Chord((root + 6) % 12, _extend(rng, "7"))
        bars.append((chord,))
    if rng.random() < 0.35:  # turnaround: split the last bar with a dominant leading back to the first chord
        target = bars[0][0].root
        bars[3] = (bars[3][0], Chord((target + 7) % 12, _extend(rng, "7")))
    if rng.random() < 0.2:  # rotate the loop so it starts elsewhere
        shift = int(rng.integers(1, 4))
        bars = bars[shift:] + bars[:shift]
    return bars


def progression_signature(bars: list[Bar]) -> str:
    """A key-independent text signature of a progression, for counting distinct progressions."""
    return " | ".join(" ".join(chord.label() for chord in bar) for bar in bars)


def scale_pitches(tonic: int, mode: str, low: int, high: int) -> list[int]:
    """MIDI pitches of the scale on `tonic` (pitch class) within [low, high]."""
    classes = {(tonic + step) % 12 for step in SCALES[mode]}
    return [pitch for pitch in range(low, high + 1) if pitch % 12 in classes]
