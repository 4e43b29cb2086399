"""Reference match: a take's tone and band dynamics moved towards the reference's own part for its instrument.

The model-wide tone match (`tone.py`) gives every take its instrument's *average* spectral shape; the heads'
conditioning on the song is weak, so takes of a dark and of a bright song sound alike. When the reference's own
stems are known (separated in the studio, or by the caller), each take is pulled towards the reference's part:

1. Band statistics of a part (`band_stats`): STFT (`N_FFT` points, hop `HOP`, at the part's rate), power summed
   into `BAND_COUNT` mel-spaced bands, frames quieter than `ACTIVE_DB` below the loudest left out; per band, the
   mean and the standard deviation over frames of the natural log of the band power. The mean is the part's
   tone (its typical spectral shape and level); the deviation is how much each band moves (a punchy drum part
   against a flat one; a held pad against plucked notes).
2. Per band and frame of the take's loops (`ReferenceMatch.apply`), with the instrument's strengths
   (w_mean, w_std), take statistics (μ_t, σ_t) read over all its loop variations together and the reference's
   (μ_r, σ_r): the target log power is μ_t + r·(ℓ − μ_t) + w_mean·(μ_r − μ_t − c), where ℓ is the frame's log
   power, r = clip(σ_r / σ_t, 1/2, 2)^w_std, and c the mean over bands of μ_r − μ_t (a level difference
   between the two, which says nothing about tone; the stem is peak-normalised afterwards anyway). Half the
   log difference, clipped to [`MAX_CUT_DB`, `MAX_BOOST_DB`], is the band's amplitude gain; the gains are
   spread over the STFT bins by the bands' filters and applied to the complex spectrum (phases kept).
3. Loops are processed circularly (padded with their own end and start, as they are heard tiled), so the
   change wraps around the seam and adds no edge transient.
4. Contour (`ReferenceMatch.follow_contour`, after tiling, on the whole take): a part rises and falls with
   the song (quiet in the intro, brighter in the chorus, resting for a break), while a take tiled from loops
   stays level. The reference part's power in `CONTOUR_EDGES_HZ` bands (`contour_power`), averaged over a
   window of the instrument's smoothing seconds, relative to its mean over the take's span, is its contour
   (dB); the take's own contour is read the same way. Per frame and band the take gets w·(contour_ref −
   contour_take) dB, clipped to [`MAX_CUT_DB`, `CONTOUR_MAX_BOOST_DB`] and interpolated between the bands'
   centres in log frequency; the take follows the reference on the reference's own timeline (takes start at
   its 0 s), so where the reference ends the take is left as it is. The smoothing keeps the notes and
   rhythm the take's own: only the slow rise and fall of the part's bands is followed.
5. Final tone (`ReferenceMatch.tone`, on the loop variations after step 2, circularly as in `tone.py`): the
   model-wide tone match was fitted on takes made without the reference's stems, and steps 2-4 then pull
   every take towards a *separated* part, whose leakage and losses have a tone of their own (matched bass
   takes came out darker above 2 kHz than real bass parts, matched drums brighter). A second
   equaliser of the same kind, fitted on takes made as delivered (the training songs' mixes separated by
   the built-in separator, steps 2-4 applied) against those songs' true stems, removes that systematic
   offset (`training/vit_wavegan/tone_fit.fit_match_tone`). It applies only to takes that follow a stem
   (a request's `params["final_tone"]` False leaves it out; each take records which), and must be fitted
   again when the strengths change (`musicsim export reference-match` drops it).

The strengths are chosen per instrument on the valid split's FAD and stored in the model's manifest
(`config.reference_match`); the separated stems of real songs leak, and a strength of 1 would copy that leakage's
tone too (the bass most: its separated part carries other instruments' highs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from musicsim_gui.audio import spectral
from musicsim_gui.audio.spectral import mel_filterbank
from musicsim_gui.generation.vit_wavegan.setting_text import instrument_numbers
from musicsim_gui.generation.vit_wavegan.tone import ToneMatch

BAND_COUNT = 40
N_FFT, HOP = 2048, 512
ACTIVE_DB = 50.0
"""Frames this far below the part's loudest frame are left out of its statistics."""
MAX_CUT_DB, MAX_BOOST_DB = -40.0, 15.0
RATIO_LIMIT = 2.0
"""The deviation ratio σ_r / σ_t is clipped to [1 / RATIO_LIMIT, RATIO_LIMIT] before its strength applies."""
CONTOUR_EDGES_HZ = (150.0, 400.0, 1000.0, 2500.0, 6000.0)
"""Bands of the contour: bass fundamentals, low mids, mids, presence, brilliance, air."""
CONTOUR_MAX_BOOST_DB = 12.0


@dataclass(frozen=True)
class BandStats:
    """Per-band mean and standard deviation `[BAND_COUNT]` of a part's log band power (see module docstring)."""

    mean: np.ndarray
    std: np.ndarray


def log_band_power(audio: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Mono `audio` → (its complex STFT `[F, T]` (`N_FFT`, hop `HOP`), natural-log power in `BAND_COUNT` mel
    bands `[BAND_COUNT, T]`)."""
    spectrum = spectral.stft(np.asarray(audio, dtype=np.float32), n_fft=N_FFT, hop_length=HOP)
    power = mel_filterbank(rate, N_FFT, BAND_COUNT).astype(np.float64) @ (np.abs(spectrum).astype(np.float64) ** 2)
    return spectrum, np.log(power + 1e-10)


@lru_cache(maxsize=4)
def band_spread(rate: int) -> np.ndarray:
    """`[bins, BAND_COUNT]` float64: how a gain per mel band (of `log_band_power`) reaches each STFT bin at `rate`
    — the bands' filters normalised to sum to one per bin (made once per rate)."""
    filters = mel_filterbank(rate, N_FFT, BAND_COUNT).astype(np.float64)
    spread = (filters / (filters.sum(axis=0, keepdims=True) + 1e-12)).T
    spread.flags.writeable = False  # shared by every take at this rate
    return spread


def _active(log_power: np.ndarray) -> np.ndarray:
    """Frames within `ACTIVE_DB` of the loudest (by total band power)."""
    total = np.exp(log_power).sum(axis=0)
    return total > total.max() * 10.0 ** (-ACTIVE_DB / 10.0)


def band_stats(audio: np.ndarray, rate: int) -> BandStats | None:
    """`BandStats` of mono `audio` at `rate`, or None when it is silent or shorter than one STFT frame."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.shape[0] < N_FFT or not np.any(audio):
        return None
    _, log_power = log_band_power(audio, rate)
    active = _active(log_power)
    return BandStats(log_power[:, active].mean(axis=1), log_power[:, active].std(axis=1))


def contour_power(audio: np.ndarray, rate: int) -> np.ndarray:
    """Power of mono `audio` at `rate` per contour band and STFT frame (`N_FFT`, hop `HOP`), float64
    `[len(CONTOUR_EDGES_HZ) + 1, frames]`."""
    spectrum = spectral.stft(np.asarray(audio, dtype=np.float32), n_fft=N_FFT, hop_length=HOP)
    return _band_sums(spectrum, rate)


def _band_sums(spectrum: np.ndarray, rate: int) -> np.ndarray:
    """Complex STFT `[F, T]` → its power summed per contour band, float64 `[B, T]` (one matrix product)."""
    power = spectrum.real**2 + spectrum.imag**2
    return (_band_membership(rate) @ power).astype(np.float64)


@lru_cache(maxsize=4)
def _band_membership(rate: int) -> np.ndarray:
    """`[B, bins]` float32: 1 where an STFT bin at `rate` lies in a contour band (made once per rate)."""
    band = np.searchsorted(CONTOUR_EDGES_HZ, np.fft.rfftfreq(N_FFT, 1.0 / rate), side="right")
    membership = (band[np.newaxis, :] == np.arange(len(CONTOUR_EDGES_HZ) + 1)[:, np.newaxis]).astype(np.float32)
    membership.flags.writeable = False  # shared by every take at this rate
    return membership


def _relative_contour(power: np.ndarray, frames: int) -> np.ndarray:
    """Band power `[B, T]` averaged over `frames` frames, in dB relative to its mean over all T."""
    from scipy.ndimage import uniform_filter1d

    smooth = uniform_filter1d(power, max(1, frames), axis=1, mode="nearest")
    return 10.0 * np.log10(smooth + 1e-12) - 10.0 * np.log10(power.mean(axis=1, keepdims=True) + 1e-12)


@lru_cache(maxsize=4)
def _contour_bin_weights(rate: int) -> np.ndarray:
    """`[bins, B]` float32 linear interpolation in log frequency between the contour bands' centres (flat beyond
    the first and last centre): a band gain per frame spreads over the bins without steps at the band edges
    (made once per rate)."""
    edges = np.array([40.0, *CONTOUR_EDGES_HZ, rate / 2.0])
    centres = np.log(np.sqrt(edges[:-1] * edges[1:]))
    log_bins = np.log(np.maximum(np.fft.rfftfreq(N_FFT, 1.0 / rate), 1.0))
    weights = np.zeros((log_bins.shape[0], centres.shape[0]))
    for band in range(centres.shape[0]):
        unit = np.zeros(centres.shape[0])
        unit[band] = 1.0
        weights[:, band] = np.interp(log_bins, centres, unit)
    weights = weights.astype(np.float32)
    weights.flags.writeable = False  # shared by every take at this rate
    return weights


@dataclass(frozen=True)
class ReferenceMatch:
    """Strengths `(w_mean, w_std)` in [0, 1] per instrument; an instrument not named passes unchanged.
    `contour`: per instrument, `(strength in [0, 1], smoothing seconds > 0)` of following the reference part's
    rise and fall over the take (step 4 of the module docstring); not named: not followed. `tone`: the final
    equaliser of matched takes (step 5; None: none); `tone_separator`: the separator (model and version) whose
    parts it was fitted on, since it corrects what that separator does to a part ("" when not recorded)."""

    strengths: dict[str, tuple[float, float]]
    contour: dict[str, tuple[float, float]] = field(default_factory=dict)
    tone: ToneMatch | None = None
    tone_separator: str = ""

    def __post_init__(self) -> None:
        wrong = [name for name, pair in self.strengths.items()
                 if len(pair) != 2 or not all(0.0 <= float(w) <= 1.0 for w in pair)]
        if wrong:
            raise ValueError(f"reference match: strengths must be two numbers in [0, 1] ({', '.join(wrong)} are not)")
        wrong = [name for name, pair in self.contour.items()
                 if len(pair) != 2 or not 0.0 <= float(pair[0]) <= 1.0 or not 0.0 < float(pair[1]) <= 60.0]
        if wrong:
            raise ValueError("reference match: a contour is a strength in [0, 1] and a smoothing of 0-60 seconds "
                             f"({', '.join(wrong)} are not)")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"strengths": {name: [round(float(w), 4) for w in pair]
                                              for name, pair in self.strengths.items()}}
        if self.contour:
            data["contour"] = {name: [round(float(w), 4) for w in pair] for name, pair in self.contour.items()}
        if self.tone is not None:
            data["tone"] = self.tone.to_dict()
            if self.tone_separator:
                data["tone_separator"] = self.tone_separator
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReferenceMatch:
        """Raises ValueError (KeyError for a missing field) for strengths that are not pairs in [0, 1]."""
        try:
            tone = ToneMatch.from_dict(data["tone"]) if data.get("tone") else None
            return cls({str(name): tuple(float(w) for w in pair) for name, pair in data["strengths"].items()},
                       {str(name): tuple(float(w) for w in pair) for name, pair in data.get("contour", {}).items()},
                       tone, str(data.get("tone_separator", "")) if tone else "")
        except (AttributeError, TypeError) as error:
            raise ValueError(f"reference match: strengths must map instruments to [mean, std] and contours to "
                             f"[strength, seconds] ({error})") from None

    def applies_to(self, instrument: str) -> bool:
        return any(self.strengths.get(instrument, (0.0, 0.0))) or self.follows_contour(instrument)

    def follows_contour(self, instrument: str) -> bool:
        return self.contour.get(instrument, (0.0, 1.0))[0] > 0.0

    def follow_contour(self, take: np.ndarray, rate: int, instrument: str,
                       reference_power: np.ndarray | None) -> np.ndarray:
        """Mono take `[n]` at `rate`, on the reference's timeline from 0 s, made to rise and fall with the
        reference part whose `contour_power` (at the same rate) is `reference_power` (step 4 of the module
        docstring; float32, unchanged without a contour for `instrument` or reference power)."""
        take = np.asarray(take, dtype=np.float32)
        if reference_power is None or not self.follows_contour(instrument) or take.shape[-1] < N_FFT:
            return take
        strength, seconds = self.contour[instrument]
        spectrum = spectral.stft(take, n_fft=N_FFT, hop_length=HOP)
        frames = spectrum.shape[-1]
        covered = min(frames, reference_power.shape[-1])   # frames where the reference still plays
        if covered < 2 or not np.any(reference_power[:, :covered]):
            return take
        window = int(round(seconds * rate / HOP))
        take_power = _band_sums(spectrum, rate)[:, :covered]
        gain_db = strength * (_relative_contour(reference_power[:, :covered], window)
                              - _relative_contour(take_power, window))
        gain_db = np.clip(gain_db, MAX_CUT_DB, CONTOUR_MAX_BOOST_DB).astype(np.float32)
        gain = np.power(np.float32(10.0), _contour_bin_weights(rate) @ gain_db / np.float32(20.0))
        spectrum[:, :covered] *= gain
        return spectral.istft(spectrum, hop_length=HOP, length=take.shape[-1]).astype(np.float32)

    def apply(self, loops: np.ndarray, rate: int, instrument: str, reference: BandStats | None,
              final_tone: bool = True) -> np.ndarray:
        """Loop variations `[V, L]` (mono, at `rate`) moved towards `reference` and, with `final_tone`, given the
        final tone (steps 2 and 5; float32, same shape; unchanged without reference statistics)."""
        loops = self._move(np.asarray(loops, dtype=np.float32), rate, instrument, reference)
        if not final_tone or reference is None or self.tone is None or instrument not in self.tone.gains_db:
            return loops
        return np.stack([self.tone.apply(loop, rate, instrument) for loop in loops])

    def _move(self, loops: np.ndarray, rate: int, instrument: str, reference: BandStats | None) -> np.ndarray:
        """Step 2 (unchanged without reference statistics, for an instrument without strengths, or for loops
        shorter than a frame)."""
        if reference is None or not any(self.strengths.get(instrument, (0.0, 0.0))) or loops.shape[-1] < N_FFT:
            return loops
        mean_weight, std_weight = self.strengths[instrument]
        length = loops.shape[-1]
        pad = min(length, 2 * N_FFT)
        padded = [np.pad(loop, pad, mode="wrap") for loop in loops]
        analysed = [log_band_power(loop, rate) for loop in padded]
        first, stop = -(-pad // HOP), -(-(pad + length) // HOP)   # frames centred within one period of the loop
        inner = [log_power[:, first:stop] for _, log_power in analysed]
        together = np.concatenate(inner, axis=1)
        active = _active(together)
        if not np.any(active):
            return loops
        take_mean, take_std = together[:, active].mean(axis=1), together[:, active].std(axis=1)
        ratio = np.clip(reference.std / np.maximum(take_std, 1e-6), 1.0 / RATIO_LIMIT, RATIO_LIMIT) ** std_weight
        offset = reference.mean - take_mean
        shift = mean_weight * (offset - offset.mean())
        spread = band_spread(rate)
        low, high = MAX_CUT_DB / 20.0 * np.log(10.0), MAX_BOOST_DB / 20.0 * np.log(10.0)
        out = np.empty_like(loops)
        for row, (spectrum, log_power) in enumerate(analysed):
            target = take_mean[:, None] + ratio[:, None] * (log_power - take_mean[:, None]) + shift[:, None]
            gain = np.exp(spread @ np.clip(0.5 * (target - log_power), low, high))
            audio = spectral.istft(spectrum * gain, hop_length=HOP, length=padded[row].shape[0])
            out[row] = audio[pad: pad + length]
        return out


def parse_strengths(text: str, contour: str = "") -> ReferenceMatch:
    """`"bass=0.3/0,drums=0.75/0.75"` (INSTRUMENT=MEAN/STD) and, optionally, contours `"piano=0.75/0.5"`
    (INSTRUMENT=STRENGTH/SECONDS) → `ReferenceMatch`; ValueError names a bad item."""
    return ReferenceMatch(instrument_numbers(text, 2, "reference match", "INSTRUMENT=MEAN/STD"),
                          instrument_numbers(contour, 2, "reference match", "INSTRUMENT=STRENGTH/SECONDS"))
