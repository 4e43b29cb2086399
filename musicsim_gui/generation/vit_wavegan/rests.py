"""Rests: a take falls silent where the reference's own part for its instrument rests.

A take is tiled from loops from the song's first second to its last, so a drum take plays through an intro
the reference's drums sit out, through a break and past the last hit. The contour of the reference match
(`reference_match.py`, step 4) moves the sustained instruments' level with their part, but a contour moves
every second of a take and the drums lose by it (validation FAD worse at every strength and window tried);
what a drummer does is simpler: stop when the part stops. On the 16 validation songs the true drum stems
rest (more than 40 dB below their typical level over 0.5 s) for 1 to 13 s of each song, mostly intros and
endings; the built-in separator's drum stems lie 41-57 dB (median per song) below their own typical level
there and above −40 dB in 99 % of the half-seconds where the drums play, so a rest can be read off the
separated stem.

1. The part's level per STFT frame (the reference match's `contour_power`, summed over its bands: frames of
   `reference_match.N_FFT` points, hop `reference_match.HOP`, at the take's rate), in dB relative to its
   typical level: the `TYPICAL_PERCENTILE`th percentile of the frames within `reference_match.ACTIVE_DB` of
   the loudest.
2. A rest is a run of at least `min_seconds` of frames all more than `below_db` under that level (shorter
   gaps, between the hits of a sparse groove, are not rests). Each frame spans `N_FFT` samples around its
   centre, so a run of quiet frames means no hit from half a frame before the first centre to half a frame
   after the last. A sounding stretch shorter than half of `min_seconds` between two rests (or before the
   first, or after the last) joins them: in a separated part that is another instrument's attack leaking
   in (on the demo song, the piano's chords in the intro the drums sit out), and a take playing a fragment
   of its loop there sounds like a mistake.
3. The take is muted from the run's first frame centre to its last, with `FADE_SECONDS` raised-cosine fades
   inside the run (out after its start, in before its end), so the take stops after the part's last sound and
   is back at full level about `N_FFT / 2` samples before the part's next one; a rest from the song's start
   is silent from the take's first sample, and one that lasts to the reference's end stays silent to the
   take's end when the take ends there too. The take runs on the reference's timeline from 0 s; past the
   reference's end it is left as it is (as the contour leaves it). A silent stem (a song without the part)
   gives no rests: the musician asked for a part the song lacks.
4. The ending (`ending_db`): a song ends on a last hit that rings out (a crash, a held bass note) over a few
   seconds; the part stays above −40 dB nearly to the end, so step 2 finds no rest there and a take went on
   playing its loop at full level under the ring. Where at least `ENDING_MIN_SECONDS` pass after the part's
   last frame at its typical level, and the part has fallen `ENDING_DROP_DB` under it by the reference's
   last `ENDING_TAIL_SECONDS`, the take fades with it: its gain is the part's level relative to the typical
   level (never a boost), read as the loudest the part is from each frame to the end, so the fade starts
   where the ring falls under the typical level and falls steadily (where a groove fades out, the level dips
   between hits and rises again; the take does not pump with it). Where the fade lies `below_db` under, the
   take is silent, to its end. A reference cut off mid-groove has no such tail and keeps its take at full
   level to the end.

Per instrument the settings (`below_db`, `min_seconds`) are stored in the manifest (`config.rests`; `musicsim
export rests`). Like the reference match they apply only when the takes follow the reference's stems
(`GenerationRequest.follows_stems`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from musicsim_gui.generation.vit_wavegan.reference_match import ACTIVE_DB, HOP
from musicsim_gui.generation.vit_wavegan.setting_text import instrument_numbers

BELOW_DB_RANGE = (10.0, 80.0)
MIN_SECONDS_RANGE = (0.1, 30.0)
TYPICAL_PERCENTILE = 75.0
FADE_SECONDS = 0.02
ENDING_MIN_SECONDS = 2.0
ENDING_DROP_DB = 20.0
"""An ending: after the part's last frame at its typical level at least `ENDING_MIN_SECONDS` pass, and by the
reference's last `ENDING_TAIL_SECONDS` the part has fallen this far under that level."""
ENDING_TAIL_SECONDS = 0.25


@dataclass(frozen=True)
class PartRests:
    """Per instrument `(below_db, min_seconds)`: how far under the part's typical level a rest lies, and how long
    it lasts at least (steps 1-2 of the module docstring); instruments not named play throughout."""

    settings: dict[str, tuple[float, float]]

    def __post_init__(self) -> None:
        wrong = [name for name, pair in self.settings.items()
                 if len(pair) != 2 or not BELOW_DB_RANGE[0] <= float(pair[0]) <= BELOW_DB_RANGE[1]
                 or not MIN_SECONDS_RANGE[0] <= float(pair[1]) <= MIN_SECONDS_RANGE[1]]
        if wrong:
            raise ValueError(f"rests: each is a depth of {BELOW_DB_RANGE[0]:g}-{BELOW_DB_RANGE[1]:g} dB and a "
                             f"length of {MIN_SECONDS_RANGE[0]:g}-{MIN_SECONDS_RANGE[1]:g} s "
                             f"({', '.join(wrong)} are not)")

    def to_dict(self) -> dict[str, Any]:
        return {"settings": {name: [round(float(value), 4) for value in pair] for name, pair in self.settings.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartRests:
        """Raises ValueError (KeyError for a missing field) for settings that are not pairs in range."""
        try:
            return cls({str(name): tuple(float(value) for value in pair) for name, pair in data["settings"].items()})
        except (AttributeError, TypeError) as error:
            raise ValueError(f"rests: settings must map instruments to [below_db, min_seconds] ({error})") from None

    def applies_to(self, instrument: str) -> bool:
        return instrument in self.settings

    def rest_mask(self, reference_power: np.ndarray, instrument: str, rate: int) -> np.ndarray:
        """Per frame of `reference_power` (`[bands, frames]`, the reference match's `contour_power` at `rate`),
        whether the part rests there (steps 1-2; all False for a silent part or an instrument not named)."""
        rests = np.zeros(np.shape(reference_power)[-1], dtype=bool)
        measured = _level_and_typical(reference_power)
        if instrument not in self.settings or measured is None:
            return rests
        level, typical = measured
        below_db, min_seconds = self.settings[instrument]
        quiet = level < typical - below_db
        shortest = max(1, int(np.ceil(min_seconds * rate / HOP)))
        for start, stop in _runs(quiet):
            if stop - start >= shortest:
                rests[start:stop] = True
        if rests.any():     # a blip shorter than half a rest amid rests (or before the first, after the last)
            for start, stop in _runs(~rests):
                if stop - start < shortest / 2:
                    rests[start:stop] = True
        return rests

    def ending_db(self, reference_power: np.ndarray, instrument: str, rate: int) -> np.ndarray | None:
        """Per frame of `reference_power` (at `rate`), the take's gain in dB through the part's ending (step 4):
        0 up to the part's last frame at its typical level, then the fade (−inf where it lies `below_db`
        under); None where the part has no ending (it does not ring out, a silent part, an instrument not
        named)."""
        measured = _level_and_typical(reference_power)
        if instrument not in self.settings or measured is None:
            return None
        level, typical = measured
        below_db, _ = self.settings[instrument]
        last_typical = int(np.flatnonzero(level >= typical)[-1])
        end_frames = max(1, int(round(ENDING_TAIL_SECONDS * rate / HOP)))
        if ((level.shape[0] - 1 - last_typical) * HOP < ENDING_MIN_SECONDS * rate
                or level[-end_frames:].max() > typical - ENDING_DROP_DB):
            return None
        envelope = np.maximum.accumulate(level[::-1])[::-1]            # the loudest from each frame to the end
        gain_db = np.minimum(envelope - typical, 0.0)
        gain_db[gain_db < -below_db] = -np.inf
        return gain_db

    @staticmethod
    def ending_gain(ending_db: np.ndarray | None, length: int) -> np.ndarray | None:
        """Per-sample gain `[length]` float32 of `ending_db` (frames `HOP` samples apart, linear in between; past
        the reference's last frame, its last value), or None for no ending."""
        if ending_db is None:
            return None
        amplitude = np.power(10.0, ending_db / 20.0)                   # −inf dB → 0
        centres = np.arange(amplitude.shape[0]) * HOP
        return np.interp(np.arange(length), centres, amplitude).astype(np.float32)

    def apply(self, take: np.ndarray, rate: int, instrument: str, reference_power: np.ndarray | None) -> np.ndarray:
        """Mono take `[n]` at `rate`, on the reference's timeline from 0 s, muted where the part whose
        `contour_power` (at the same rate) is `reference_power` rests (step 3) and faded with its ending (step
        4; float32, unchanged without either)."""
        take = np.asarray(take, dtype=np.float32)
        if reference_power is None or instrument not in self.settings:
            return take
        gain = self.gain(self.rest_mask(reference_power, instrument, rate), rate, take.shape[-1])
        ending = self.ending_gain(self.ending_db(reference_power, instrument, rate), take.shape[-1])
        if ending is not None:
            gain = ending if gain is None else gain * ending
        return take if gain is None else (take * gain).astype(np.float32)

    @staticmethod
    def gain(rests: np.ndarray, rate: int, length: int) -> np.ndarray | None:
        """Per-sample gain `[length]` float32 muting the frames `rests` marks (step 3), or None when none is."""
        if not np.any(rests):
            return None
        gain = np.ones(length, dtype=np.float32)
        fade = max(1, int(round(FADE_SECONDS * rate)))
        ramp = (0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, fade))).astype(np.float32)  # 1 → 0
        for start, stop in _runs(rests):
            to_end = stop == rests.shape[0]                   # lasts to the reference's last frame
            first, last = start * HOP, min((stop if to_end else stop - 1) * HOP, length)
            if last - first < 2 * fade:
                continue
            gain[first:last] = 0.0
            if start > 0:                 # a rest from the song's first frame is silent from the first sample
                gain[first:first + fade] = ramp
            if last < length:             # one to the reference's end stays silent to the take's end, if there
                gain[last - fade:last] = ramp[::-1]
        return gain


def _level_and_typical(reference_power: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The part's level per frame in dB (its `contour_power` summed over bands) and its typical level (step 1),
    or None for a silent part."""
    level = 10.0 * np.log10(np.asarray(reference_power, dtype=np.float64).sum(axis=0) + 1e-20)
    if not level.size or level.max() <= -190.0:
        return None
    return level, float(np.percentile(level[level > level.max() - ACTIVE_DB], TYPICAL_PERCENTILE))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """`[start, stop)` of every run of True in the boolean `mask`."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def parse_rests(text: str) -> PartRests:
    """`"drums=40/1"` (INSTRUMENT=BELOW_DB/MIN_SECONDS) → `PartRests`; ValueError names a bad item."""
    return PartRests(instrument_numbers(text, 2, "rests", "INSTRUMENT=BELOW_DB/MIN_SECONDS"))
