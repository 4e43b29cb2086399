"""Tone matching of finished loops: a per-instrument equaliser fitted so takes have the real stems' spectral shape.

The heads and the bandwidth extension get each instrument's average power spectrum right (the post-filter and
the band ratios are fitted in power), but a power average is set by the loud frames. What a listener hears as
an instrument's tone is its typical frame: a real bass stem has almost nothing above a few kHz in most frames,
while a generated bass keeps a steady floor there, and sounds brighter and noisier for it. The equaliser
matches the typical frame instead:

1. Spectral shape of a stem: STFT (2048 points, hop 512, at the output rate), power summed into `BAND_COUNT`
   mel-spaced bands from 0 to the output's Nyquist frequency, each frame divided by its total power (the shape,
   free of level), frames quieter than `ACTIVE_DB` below the stem's loudest left out (silence has no shape),
   then the mean over frames of the log band powers (a geometric mean: the typical frame).
2. Fit (`fit_tone`): per instrument, gain_k = mean over songs of (real shape - take shape) in dB, for takes the
   model made from the songs' own mixes; clipped to [`MAX_CUT_DB`, `MAX_BOOST_DB`] (no band is boosted out of
   nothing) and smoothed across neighbouring bands.
3. Apply (`ToneMatch.apply`): the gains, interpolated between band centres in dB over frequency, make a
   linear-phase FIR. A loop is tiled, so it is filtered circularly (padded with its own end and start, the
   filter's delay removed): the filter wraps around the seam exactly as the tiled loop is heard, adding no
   edge transient and no delay. (One FFT of the whole loop would be exact too, but loop lengths are
   arbitrary and such FFTs cost ten times more.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from musicsim_gui.audio import spectral
from musicsim_gui.audio.spectral import mel_filterbank

BAND_COUNT = 40
N_FFT, HOP = 2048, 512
ACTIVE_DB = 50.0
"""Frames this far below the stem's loudest frame are left out of its shape."""
MAX_CUT_DB, MAX_BOOST_DB = -40.0, 6.0
FIR_TAPS, FIR_GRID = 2047, 8192
"""The applied filter: 2047 taps (46 ms at 44.1 kHz, finer than the lowest bands) sampled from an 8192-point
grid of the interpolated response."""
SMOOTHING = (0.25, 0.5, 0.25)
"""Weights of the neighbouring bands in the smoothing of fitted gains."""


def band_centres(rate: int, bands: int = BAND_COUNT) -> np.ndarray:
    """Centre frequencies (Hz) of the mel-spaced bands at `rate`: the peak of each band's filter."""
    filters = mel_filterbank(rate, N_FFT, bands)
    freqs = np.linspace(0.0, rate / 2.0, filters.shape[1])
    return freqs[np.argmax(filters, axis=1)]


def spectral_shape(audio: np.ndarray, rate: int, bands: int = BAND_COUNT) -> np.ndarray | None:
    """Mean log10 band shape `[bands]` of mono `audio` (see module docstring); None when nothing is active."""
    magnitude = np.abs(spectral.stft(np.asarray(audio, dtype=np.float32), n_fft=N_FFT, hop_length=HOP))
    power = mel_filterbank(rate, N_FFT, bands) @ (magnitude.astype(np.float64) ** 2)   # [bands, frames]
    total = power.sum(axis=0)
    if not np.any(total > 0):
        return None
    active = total > total.max() * 10.0 ** (-ACTIVE_DB / 10.0)
    shape = power[:, active] / total[active]
    return np.log10(shape + 1e-12).mean(axis=1)


@dataclass(frozen=True)
class ToneMatch:
    """Fitted band gains: `gains_db[instrument][k]` at the centre frequency `centres_hz[k]`."""

    centres_hz: tuple[float, ...]
    gains_db: dict[str, tuple[float, ...]]
    _firs: dict[tuple[int, str], np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"centres_hz": [round(c, 2) for c in self.centres_hz],
                "gains_db": {name: [round(g, 2) for g in values] for name, values in self.gains_db.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToneMatch:
        """Raises ValueError (KeyError for a missing field) when the stored gains do not fit the bands."""
        match = cls(tuple(float(c) for c in data["centres_hz"]),
                    {name: tuple(float(g) for g in values) for name, values in data["gains_db"].items()})
        if list(match.centres_hz) != sorted(match.centres_hz):
            raise ValueError("tone match: band centres must increase")
        wrong = [name for name, values in match.gains_db.items() if len(values) != len(match.centres_hz)]
        if wrong:
            raise ValueError(f"tone match: {', '.join(wrong)} need {len(match.centres_hz)} gains")
        return match

    def response(self, freqs: np.ndarray, instrument: str) -> np.ndarray:
        """Linear amplitude gain at `freqs` (Hz) for `instrument` (ones for an instrument it has no gains for)."""
        if instrument not in self.gains_db:
            return np.ones_like(freqs, dtype=np.float64)
        gains = np.interp(freqs, self.centres_hz, self.gains_db[instrument])
        return 10.0 ** (gains / 20.0)

    def fir(self, rate: int, instrument: str) -> np.ndarray:
        """The instrument's response as a linear-phase FIR of `FIR_TAPS` taps at `rate` (cached per rate)."""
        key = (rate, instrument)
        if key not in self._firs:
            grid = np.fft.rfftfreq(FIR_GRID, 1.0 / rate)
            impulse = np.roll(np.fft.irfft(self.response(grid, instrument), n=FIR_GRID), FIR_TAPS // 2)[:FIR_TAPS]
            self._firs[key] = (impulse * np.hanning(FIR_TAPS + 2)[1:-1]).astype(np.float64)
        return self._firs[key]

    def apply(self, loop: np.ndarray, rate: int, instrument: str) -> np.ndarray:
        """`loop [L]` at `rate` filtered circularly by the instrument's response (float32, same length): the
        loop padded with its own end and start, convolved with `fir`; loops shorter than the filter get the
        exact circular filter (one FFT of the loop)."""
        if instrument not in self.gains_db or loop.size == 0:
            return loop.astype(np.float32, copy=False)
        length = loop.shape[0]
        if length <= FIR_TAPS:
            spectrum = np.fft.rfft(loop.astype(np.float64))
            freqs = np.fft.rfftfreq(length, 1.0 / rate)
            return np.fft.irfft(spectrum * self.response(freqs, instrument), n=length).astype(np.float32)
        from scipy.signal import oaconvolve

        half = FIR_TAPS // 2
        padded = np.concatenate([loop[length - half:], loop, loop[:half]]).astype(np.float64)
        return oaconvolve(padded, self.fir(rate, instrument), mode="valid").astype(np.float32)


def fit_tone(real: dict[str, Iterable[np.ndarray]], takes: dict[str, Iterable[np.ndarray]],
             rate: int) -> ToneMatch:
    """A `ToneMatch` from real stems and takes (mono, at `rate`), listed per instrument for the same songs.

    Raises:
        ValueError: an instrument without a single song where both its stem and its take are audible.
    """
    gains = {}
    for instrument, stems in real.items():
        differences = []
        for stem, take in zip(stems, takes[instrument], strict=True):
            real_shape, take_shape = spectral_shape(stem, rate), spectral_shape(take, rate)
            if real_shape is not None and take_shape is not None:
                differences.append(10.0 * (real_shape - take_shape))
        if not differences:
            raise ValueError(f"tone match: no song where both the {instrument} stem and take are audible")
        gain = np.clip(np.mean(differences, axis=0), MAX_CUT_DB, MAX_BOOST_DB)
        padded = np.pad(gain, 1, mode="edge")
        gain = np.convolve(padded, np.asarray(SMOOTHING), mode="valid")
        gains[instrument] = tuple(float(g) for g in gain)
    return ToneMatch(tuple(float(c) for c in band_centres(rate)), gains)
