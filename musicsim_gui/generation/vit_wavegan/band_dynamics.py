"""Band dynamics of a take's loops, per instrument: how far each band's level moves, widened or narrowed.

A real part's bands do not all move alike: a plucked bass's upper partials flare at every note and die
between notes, while its fundamental holds. The heads' bass loops move the other way: read off the evaluation
embedding on the validation songs, the spread of the log-mel bands within each second was too small above
about 1.2 kHz (0.3-0.7 standard deviations below the real bass stems') and too large at the bottom. The
reference match (`reference_match.py`) moves a band's spread towards the separated part's, but a separated
bass carries the other instruments' highs, so following it there teaches the take the wrong movement. This
step widens (or narrows) the movement by a fixed ratio per instrument instead (the drums, the other way,
move slightly less above 2 kHz in the shipped model):

1. STFT of each finished loop variation, padded with its own end and start as it is heard tiled
   (`apply_loops`; after the spectral floor and the low cut, before tiling); power summed into the reference
   match's mel bands (`reference_match.log_band_power`: the same STFT and bands).
2. Per band whose centre is at or above the instrument's `from_hz`, the frame's log power ℓ becomes
   μ + ratio·(ℓ − μ), μ the band's mean over the loop: a ratio above 1 makes loud moments louder and quiet
   ones quieter in that band, one below 1 evens them out. The change is clipped to ±`MAX_GAIN_DB`, spread
   over the STFT bins as the reference match spreads its gains (`reference_match.band_spread`) and applied
   to the complex spectrum (phases kept); bands below `from_hz` are left as they are.
3. iSTFT: a loop of the same length.

The ratios and lower edges are chosen per instrument on the valid split's FAD and stored in the manifest
(`config.band_dynamics`; `musicsim export band-dynamics`); an instrument without a ratio passes unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from musicsim_gui.audio import spectral
from musicsim_gui.audio.spectral import mel_filterbank
from musicsim_gui.generation.vit_wavegan.reference_match import (
    BAND_COUNT,
    HOP,
    N_FFT,
    band_spread,
    log_band_power,
)
from musicsim_gui.generation.vit_wavegan.setting_text import instrument_numbers

MAX_GAIN_DB = 12.0
"""The most a band's level is raised or lowered in one frame."""
RATIO_RANGE = (0.25, 4.0)
FROM_HZ_RANGE = (0.0, 20000.0)


@lru_cache(maxsize=4)
def band_centres(rate: int) -> np.ndarray:
    """The centre (filter-weighted mean frequency) of each of the `BAND_COUNT` mel bands at `rate`, Hz."""
    filters = mel_filterbank(rate, N_FFT, BAND_COUNT).astype(np.float64)
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / rate)
    return (filters * freqs).sum(axis=1) / np.maximum(filters.sum(axis=1), 1e-12)


@dataclass(frozen=True)
class BandDynamics:
    """Ratio per instrument (`ratios[instrument]`) by which its bands' movement about their mean is scaled,
    from `from_hz[instrument]` up (0 Hz when not named; step 2 of the module docstring)."""

    ratios: dict[str, float]
    from_hz: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        low, high = RATIO_RANGE
        wrong = [name for name, value in self.ratios.items() if not low <= float(value) <= high]
        if wrong:
            raise ValueError(f"band dynamics: ratios must be {low:g}-{high:g} ({', '.join(wrong)} are not)")
        low, high = FROM_HZ_RANGE
        wrong = [name for name, value in self.from_hz.items() if not low <= float(value) <= high]
        if wrong:
            raise ValueError(f"band dynamics: lower edges must be {low:g}-{high:g} Hz ({', '.join(wrong)} are not)")
        stray = [name for name in self.from_hz if name not in self.ratios]
        if stray:
            raise ValueError(f"band dynamics: a lower edge for {', '.join(stray)}, which has no ratio")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ratios": {name: round(float(value), 4) for name, value in self.ratios.items()}}
        if self.from_hz:
            data["from_hz"] = {name: round(float(value), 2) for name, value in self.from_hz.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BandDynamics:
        """Raises ValueError (KeyError for a missing field) for settings out of range."""
        try:
            return cls({str(name): float(value) for name, value in data["ratios"].items()},
                       {str(name): float(value) for name, value in data.get("from_hz", {}).items()})
        except (AttributeError, TypeError) as error:
            raise ValueError(f"band dynamics: ratios must map instruments to numbers ({error})") from None

    def applies_to(self, instrument: str) -> bool:
        return instrument in self.ratios and float(self.ratios[instrument]) != 1.0

    def band_mask(self, rate: int, instrument: str) -> np.ndarray:
        """Which of the `BAND_COUNT` bands at `rate` are scaled `[bands]` bool."""
        return band_centres(rate) >= self.from_hz.get(instrument, 0.0)

    def apply(self, take: np.ndarray, rate: int, instrument: str) -> np.ndarray:
        """Mono `take [n]` at `rate` with the instrument's band movement scaled about each band's mean over the
        whole signal (float32, same length; unchanged for an instrument without a ratio or a take shorter than
        one frame)."""
        take = np.asarray(take, dtype=np.float32)
        if not self.applies_to(instrument) or take.shape[-1] < N_FFT:
            return take
        return self._scaled(take, rate, instrument, slice(None))

    def _scaled(self, signal: np.ndarray, rate: int, instrument: str, counted: slice) -> np.ndarray:
        """`signal` with its bands' movement scaled, each band's mean taken over the frames `counted`."""
        spectrum, log_power = log_band_power(signal, rate)
        mean = log_power[:, counted].mean(axis=1, keepdims=True)
        change_db = (float(self.ratios[instrument]) - 1.0) * (log_power - mean) * (10.0 / np.log(10.0))
        change_db = np.clip(change_db, -MAX_GAIN_DB, MAX_GAIN_DB) * self.band_mask(rate, instrument)[:, np.newaxis]
        gain = 10.0 ** ((band_spread(rate) @ change_db) / 20.0)
        return spectral.istft(spectrum * gain, hop_length=HOP, length=signal.shape[-1]).astype(np.float32)

    def apply_loops(self, loops: np.ndarray, rate: int, instrument: str) -> np.ndarray:
        """Loop variations `[V, L]` (or one loop `[L]`) at `rate`, each treated as it is heard tiled: padded with
        its own end and start (wrapped), each band's mean taken over the loop's own frames (float32, same
        shape)."""
        loops = np.asarray(loops, dtype=np.float32)
        if not self.applies_to(instrument) or loops.shape[-1] < 2:
            return loops
        flat = loops.reshape(-1, loops.shape[-1])
        pad = N_FFT
        counted = slice(pad // HOP, -(pad // HOP))
        scaled = [self._scaled(np.pad(loop, pad, mode="wrap"), rate, instrument, counted)[pad: pad + loop.shape[0]]
                  for loop in flat]
        return np.stack(scaled).reshape(loops.shape)


def parse_band_dynamics(text: str, from_hz: str = "") -> BandDynamics:
    """`"bass=1.3"` (and lower edges `"bass=1600"`) → `BandDynamics`; raises ValueError naming a malformed item,
    or a lower edge for an instrument without a ratio."""
    ratios = instrument_numbers(text, 1, "band dynamics", "INSTRUMENT=RATIO")
    edges = instrument_numbers(from_hz, 1, "band dynamics", "INSTRUMENT=HZ")
    return BandDynamics({name: ratio for name, (ratio,) in ratios.items()}, {name: hz for name, (hz,) in edges.items()})
