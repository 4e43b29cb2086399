"""Following the reference part's chords: each loop copy of a take transposed to the harmony under it.

A take tiles a loop of a few beats. The heads make that loop in one key, so a tiled bass or piano loop plays
the same notes through every chord change of the song, and every second of the take sounds like every other
(the takes' segment-to-segment spread was a fraction of a real part's). With the reference's separated part
known, each copy of the loop is transposed to the harmony the part plays where the copy sounds:

1. Pitch-class profiles (`pitch_classes`): mono audio brought to 8 kHz, magnitude STFT of 4096 points (1.95 Hz
   bins, fine enough to tell a low E from an F) every 1024 samples (0.128 s); the bins from 40 Hz to 2 kHz are
   spread onto the 12 pitch classes (each bin shared between the two nearest semitones, triangular in
   semitones) and their magnitudes summed.
2. The plan (`HarmonyFollow.plan`): for every copy, the reference part's profile over the copy's span and its
   loop variation's own profile are centred and scaled to unit length; the copy's shift is the one of
   −`max_shift`..+`max_shift` semitones (the smaller move where ±6 tie) whose rotated loop profile correlates
   best with the reference's, less `change_cost` for any shift other than the previous copy's, so a take
   changes its transposition where the harmony clearly moves, not on every wobble. Where the part is silent
   (below `SILENCE_DB` of its loudest copy span) or before it starts, a copy keeps the previous shift.
3. Transposition (`transpose`): the loop's band below 3-5 kHz (`SPLIT_HZ`, a raised-cosine crossover; the
   band above, noise more than notes, is kept as it is) is circularly padded and brought to 11,025 Hz; a
   phase vocoder stretches it by 2^(shift/12) (1024 points, hop 128: 93 ms and 12 ms; each spectral peak's
   phase advanced by its measured frequency, the bins around it locked to it as they were in the input, so a
   partial's bins stay coherent and a transposed copy keeps its level), and the stretch is resampled back to
   the loop's rate and length, so a transposed copy keeps its period and its place on the beat. Each (variation,
   shift) pair is made once; the copies then index them (`loops.tile`'s `sequence`).

Only pitched instruments are named (`shifts` per instrument; drums never); the settings are stored in the
manifest (`config.harmony`; `musicsim export harmony`) and apply where the reference match does (the
request carries the part and `params["reference_match"]` is not False).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from musicsim_gui.audio import spectral
from musicsim_gui.generation.vit_wavegan.setting_text import instrument_numbers

PROFILE_RATE = 8000
PROFILE_FFT = 4096
PROFILE_HOP = 1024
PROFILE_RANGE_HZ = (40.0, 2000.0)
PITCH_CLASSES = 12

SHIFT_RATE = 11025
"""The band that is transposed is brought to this rate first (it ends below its Nyquist frequency), so the
phase vocoder handles a quarter of the samples of a 44.1 kHz loop."""
SHIFT_FFT = 1024
SHIFT_HOP = 128
SPLIT_HZ = (3000.0, 5000.0)
"""Only the band below is transposed (a raised-cosine crossover between the two): it carries the notes, while
a phase vocoder turns the noisy band above (hiss, breath, the rebuilt top octaves) metallic."""

SILENCE_DB = -40.0
"""A copy span whose reference profile is this far below the loudest span's is silent: the shift carries on."""

MAX_SHIFT_RANGE = (1, 6)
DEFAULT_CHANGE_COST = 0.1


def _profile_weights() -> np.ndarray:
    """`[bins, 12]`: each STFT bin's share of each pitch class (triangular in semitones, 0 outside the range)."""
    freqs = np.fft.rfftfreq(PROFILE_FFT, 1.0 / PROFILE_RATE)
    weights = np.zeros((freqs.shape[0], PITCH_CLASSES), dtype=np.float32)
    low, high = PROFILE_RANGE_HZ
    inside = np.flatnonzero((freqs >= low) & (freqs <= high))
    semitones = 69.0 + 12.0 * np.log2(freqs[inside] / 440.0)
    below = np.floor(semitones)
    upper_share = semitones - below
    weights[inside, below.astype(np.int64) % PITCH_CLASSES] += (1.0 - upper_share).astype(np.float32)
    weights[inside, (below.astype(np.int64) + 1) % PITCH_CLASSES] += upper_share.astype(np.float32)
    return weights


_WEIGHTS = _profile_weights()


def pitch_classes(audio: np.ndarray, rate: int) -> np.ndarray:
    """Mono audio `[n]` at `rate` → its pitch-class profile per frame `[frames, 12]` float32, frame f centred at
    f × `PROFILE_HOP` / `PROFILE_RATE` seconds (step 1 of the module docstring)."""
    import soxr

    audio = np.asarray(audio, dtype=np.float32)
    if rate != PROFILE_RATE:
        audio = soxr.resample(audio, rate, PROFILE_RATE, quality="HQ").astype(np.float32)
    if audio.shape[-1] == 0:
        return np.zeros((0, PITCH_CLASSES), dtype=np.float32)
    magnitude = np.abs(spectral.stft(audio, n_fft=PROFILE_FFT, hop_length=PROFILE_HOP))
    return (magnitude.T @ _WEIGHTS).astype(np.float32)


def loop_profile(loop: np.ndarray, rate: int) -> np.ndarray:
    """The pitch-class profile `[12]` of one loop as heard tiled (circularly padded)."""
    pad = min(loop.shape[-1], int(PROFILE_FFT * rate / PROFILE_RATE))
    frames = pitch_classes(np.pad(np.asarray(loop, dtype=np.float32), pad, mode="wrap"), rate)
    return frames.sum(axis=0)


def _unit(profile: np.ndarray) -> np.ndarray | None:
    centred = profile - profile.mean()
    norm = float(np.linalg.norm(centred))
    return centred / norm if norm > 1e-9 else None


def _low_band(loop: np.ndarray, rate: int) -> np.ndarray:
    """The part of a loop below the transposition's crossover (circular, zero phase): bins below
    `SPLIT_HZ[0]` whole, none above `SPLIT_HZ[1]`, a raised-cosine crossover between."""
    freqs = np.fft.rfftfreq(loop.shape[-1], 1.0 / rate)
    low, high = SPLIT_HZ
    gain = 0.5 + 0.5 * np.cos(np.pi * np.clip((freqs - low) / (high - low), 0.0, 1.0))
    return np.fft.irfft(np.fft.rfft(loop) * gain, n=loop.shape[-1]).astype(np.float32)


def _lock_to_peaks(magnitude: np.ndarray, peak_phase: np.ndarray, input_phase: np.ndarray) -> np.ndarray:
    """Identity phase locking `[F, T]`: every bin keeps its offset from the nearest spectral peak's phase in the
    input frame, the peak carrying the vocoder's accumulated phase, so a partial's bins stay coherent."""
    out = np.empty_like(peak_phase)
    bins = np.arange(magnitude.shape[0])
    for frame in range(magnitude.shape[1]):
        column = magnitude[:, frame]
        peaks = np.flatnonzero((column[1:-1] > column[:-2]) & (column[1:-1] >= column[2:])) + 1
        if peaks.size == 0:
            out[:, frame] = peak_phase[:, frame]
            continue
        edges = (peaks[:-1] + peaks[1:]) / 2.0
        nearest = peaks[np.searchsorted(edges, bins)]
        out[:, frame] = peak_phase[nearest, frame] + input_phase[:, frame] - input_phase[nearest, frame]
    return out


def transpose(loop: np.ndarray, rate: int, semitones: int) -> np.ndarray:
    """One loop `[L]` at `rate` transposed by `semitones`, same length and period (step 3; float32)."""
    loop = np.asarray(loop, dtype=np.float32)
    if semitones == 0 or loop.shape[-1] < 4:
        return loop.copy()
    import soxr

    low_band = _low_band(loop, rate)
    ratio = 2.0 ** (semitones / 12.0)
    length = loop.shape[-1]
    pad = min(length, int(2 * SHIFT_FFT * rate / SHIFT_RATE))
    padded = soxr.resample(np.pad(low_band, pad, mode="wrap"), rate, SHIFT_RATE, quality="HQ")
    spectrum = spectral.stft(padded, n_fft=SHIFT_FFT, hop_length=SHIFT_HOP)
    frames = spectrum.shape[-1]
    positions = np.arange(0.0, frames - 1, 1.0 / ratio)        # input frame read by every output frame
    index = positions.astype(np.int64)
    fraction = (positions - index).astype(np.float32)[np.newaxis]
    magnitude = np.abs(spectrum)
    stretched_magnitude = (1.0 - fraction) * magnitude[:, index] + fraction * magnitude[:, index + 1]
    expected = 2.0 * np.pi * SHIFT_HOP * np.arange(spectrum.shape[0]) / SHIFT_FFT
    phase = np.angle(spectrum)
    deviation = phase[:, 1:] - phase[:, :-1] - expected[:, np.newaxis]
    deviation -= 2.0 * np.pi * np.round(deviation / (2.0 * np.pi))
    advance = expected[:, np.newaxis] + deviation[:, index]
    accumulated = phase[:, :1] + np.concatenate([np.zeros((spectrum.shape[0], 1)), np.cumsum(advance[:, :-1], axis=1)],
                                                axis=1)
    accumulated = _lock_to_peaks(stretched_magnitude, accumulated, phase[:, index])
    stretched = spectral.istft((stretched_magnitude * np.exp(1j * accumulated)).astype(np.complex64),
                               hop_length=SHIFT_HOP, length=int(round(padded.shape[0] * ratio)))
    back = soxr.resample(stretched, SHIFT_RATE * ratio, rate, quality="HQ").astype(np.float32)
    moved = back[pad: pad + length] if back.shape[0] >= pad + length else np.pad(
        back[pad:], (0, pad + length - back.shape[0]))
    return (moved + loop - low_band).astype(np.float32)


@dataclass(frozen=True)
class HarmonyFollow:
    """Largest transposition in semitones per pitched instrument (`shifts[instrument]`, 1-6) and the cost of
    changing the transposition from one copy to the next (a correlation, 0-2; step 2 of the module docstring)."""

    shifts: dict[str, int]
    change_cost: float = DEFAULT_CHANGE_COST

    def __post_init__(self) -> None:
        low, high = MAX_SHIFT_RANGE
        wrong = [name for name, value in self.shifts.items()
                 if not (float(value).is_integer() and low <= value <= high)]
        if wrong:
            raise ValueError(f"harmony: the largest shift must be a whole number of semitones {low}-{high} "
                             f"({', '.join(wrong)} is not)")
        if "drums" in self.shifts:
            raise ValueError("harmony: drums have no pitch to transpose")
        if not 0.0 <= self.change_cost <= 2.0:
            raise ValueError(f"harmony: the change cost must be 0-2, not {self.change_cost}")

    def to_dict(self) -> dict[str, Any]:
        return {"shifts": {name: int(value) for name, value in self.shifts.items()},
                "change_cost": round(float(self.change_cost), 4)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HarmonyFollow:
        """Raises ValueError (KeyError for a missing field) for settings out of range."""
        try:
            return cls({str(name): int(value) for name, value in data["shifts"].items()},
                       float(data.get("change_cost", DEFAULT_CHANGE_COST)))
        except (AttributeError, TypeError) as error:
            raise ValueError(f"harmony: shifts must map instruments to numbers ({error})") from None

    def applies_to(self, instrument: str) -> bool:
        return instrument in self.shifts

    def plan(self, loop_profiles: np.ndarray, copy_variations: tuple[int, ...], spans: np.ndarray,
             reference: np.ndarray, instrument: str) -> np.ndarray:
        """The shift of every copy `[copies]` int: `loop_profiles` `[V, 12]` of the variations, the variation each
        copy plays, each copy's span `[copies, 2]` in reference profile frames (start, stop), and the reference
        part's profile frames `[frames, 12]`."""
        largest = int(self.shifts[instrument])
        candidates = np.array([s for s in range(-largest, largest + 1) if not (abs(s) == 6 and s > 0)])
        units = [_unit(profile) for profile in loop_profiles]
        rotated = {v: np.stack([np.roll(unit, s) for s in candidates]) for v, unit in enumerate(units)
                   if unit is not None}
        spans = np.clip(np.asarray(spans, dtype=np.int64), 0, reference.shape[0])
        sums = [reference[a:b].sum(axis=0) if b > a else np.zeros(PITCH_CLASSES, np.float32) for a, b in spans]
        levels = np.array([float(np.sum(s)) for s in sums])
        loud = levels.max() if levels.size else 0.0
        audible = levels > loud * 10.0 ** (SILENCE_DB / 20.0) if loud > 0 else np.zeros(levels.shape, bool)
        shifts = np.zeros(len(spans), dtype=np.int64)
        previous = 0
        for copy, (variation, total) in enumerate(zip(copy_variations, sums, strict=True)):
            target = _unit(total) if audible[copy] else None
            if target is not None and variation in rotated:
                score = rotated[variation] @ target - self.change_cost * (candidates != previous)
                score -= 1e-6 * np.abs(candidates)        # ties: the smaller move
                previous = int(candidates[int(np.argmax(score))])
            shifts[copy] = previous
        return shifts


def parse_harmony(text: str, change_cost: float = DEFAULT_CHANGE_COST) -> HarmonyFollow:
    """`"bass=6,piano=6"` → `HarmonyFollow`; raises ValueError naming a malformed item or a shift out of range."""
    values = instrument_numbers(text, 1, "harmony", "INSTRUMENT=SEMITONES")
    wrong = [name for name, (value,) in values.items() if not float(value).is_integer()]
    if wrong:
        raise ValueError(f"harmony: the largest shift must be a whole number of semitones ({', '.join(wrong)})")
    return HarmonyFollow({name: int(value) for name, (value,) in values.items()}, change_cost)


def follow_harmony(setting: HarmonyFollow, variations: np.ndarray, rate: int, instrument: str,
                   reference: np.ndarray, starts: np.ndarray, played: tuple[int, ...],
                   period: float) -> tuple[np.ndarray, tuple[int, ...]]:
    """The loop variations `[V, L]` at `rate` made to follow the reference part whose profile frames
    (`pitch_classes`) are `reference`, for a take whose copies start at `starts` (samples, the take on the
    reference's timeline from 0) and play the variations `played`, each `period` samples long → (every
    (variation, shift) the take needs `[R, L]` float32, the row each copy plays)."""
    profiles = np.stack([loop_profile(loop, rate) for loop in variations])
    frames_per_sample = PROFILE_RATE / (PROFILE_HOP * rate)
    spans = np.stack([np.ceil(np.asarray(starts) * frames_per_sample),
                      np.floor((np.asarray(starts) + period) * frames_per_sample) + 1], axis=1)
    shifts = setting.plan(profiles, played, spans, reference, instrument)
    rows: dict[tuple[int, int], int] = {}
    for pair in zip(played, shifts.tolist(), strict=True):
        rows.setdefault(pair, len(rows))
    made = np.stack([transpose(variations[variation], rate, shift) for variation, shift in rows])
    return made, tuple(rows[pair] for pair in zip(played, shifts.tolist(), strict=True))
