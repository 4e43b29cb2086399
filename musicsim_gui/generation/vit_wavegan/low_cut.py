"""Low cut of a take's loops, per instrument: the infrasonic rumble a WaveGAN head leaves under its part removed.

The heads' transposed convolutions leave slow drifts under every window; taking away each loop's mean removes
only the constant. Measured on six validation songs (takes as delivered against the true stems, power per band
relative to the whole part): the drum takes carried 13 dB more below 10 Hz than real drum parts and 6 dB more at
20-30 Hz, the bass takes 18 dB more below 10 Hz. Nobody hears it, but it costs headroom (a take's peak level is
set with it in), it moves a mix's limiter, and it flattens the take's lowest octave (its spectral contrast below
200 Hz was the drums' largest single offset from real parts). A mixing engineer's low cut removes it:

1. Per instrument a cutoff (`cutoffs_hz`); instruments without one pass unchanged.
2. The finished loop variations `[V, L]` (after the tone and the reference match, before tiling) are filtered
   in the frequency domain over their whole length, so the filter wraps around the loop as it is heard tiled
   and adds no edge transient: every bin is multiplied by 1 / (1 + (f_c / f)^(2·order)), the magnitude of a
   Butterworth high-pass of `order` applied forwards and backwards (zero phase: the attack of a kick keeps its
   shape), −6 dB at the cutoff and 12·order dB per octave below it; DC is removed.

The cutoffs are chosen per instrument on the valid split's FAD and stored in the manifest (`config.low_cut`;
`musicsim export low-cut`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from musicsim_gui.generation.vit_wavegan.setting_text import instrument_numbers

CUTOFF_RANGE_HZ = (5.0, 300.0)
"""Cutoffs outside this range are refused: below it the cut does nothing, above it removes a bass part's notes."""
ORDER_RANGE = (1, 8)
DEFAULT_ORDER = 4


@dataclass(frozen=True)
class LowCut:
    """Cutoff in Hz per instrument (`cutoffs_hz[instrument]`) and the Butterworth order of the zero-phase
    high-pass (step 2 of the module docstring)."""

    cutoffs_hz: dict[str, float]
    order: int = DEFAULT_ORDER

    def __post_init__(self) -> None:
        low, high = CUTOFF_RANGE_HZ
        wrong = [name for name, value in self.cutoffs_hz.items() if not low <= float(value) <= high]
        if wrong:
            raise ValueError(f"low cut: cutoffs must be {low:g}-{high:g} Hz ({', '.join(wrong)} are not)")
        if not (float(self.order).is_integer() and ORDER_RANGE[0] <= self.order <= ORDER_RANGE[1]):
            raise ValueError(f"low cut: the order must be a whole number {ORDER_RANGE[0]}-{ORDER_RANGE[1]}, "
                             f"not {self.order}")

    def to_dict(self) -> dict[str, Any]:
        return {"cutoffs_hz": {name: round(float(value), 2) for name, value in self.cutoffs_hz.items()},
                "order": int(self.order)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LowCut:
        """Raises ValueError (KeyError for a missing field) for settings out of range."""
        try:
            return cls({str(name): float(value) for name, value in data["cutoffs_hz"].items()},
                       int(data.get("order", DEFAULT_ORDER)))
        except (AttributeError, TypeError) as error:
            raise ValueError(f"low cut: cutoffs must map instruments to numbers ({error})") from None

    def applies_to(self, instrument: str) -> bool:
        return instrument in self.cutoffs_hz

    def gains(self, length: int, rate: int, instrument: str) -> np.ndarray:
        """The zero-phase gain of every rFFT bin of a `length`-sample signal at `rate` `[length // 2 + 1]`."""
        freqs = np.fft.rfftfreq(length, 1.0 / rate)
        ratio = np.divide(self.cutoffs_hz[instrument], freqs, out=np.full_like(freqs, np.inf), where=freqs > 0)
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + ratio ** (2 * self.order))

    def apply_loops(self, loops: np.ndarray, rate: int, instrument: str) -> np.ndarray:
        """`apply`: the filter already treats each loop as one period of a tiled signal."""
        return self.apply(loops, rate, instrument)

    def apply(self, loops: np.ndarray, rate: int, instrument: str) -> np.ndarray:
        """Loop variations `[V, L]` (or one loop `[L]`) at `rate` with the instrument's low cut, each treated as
        one period of a tiled signal (float32, same shape; unchanged for an instrument without a cutoff)."""
        loops = np.asarray(loops, dtype=np.float32)
        if not self.applies_to(instrument) or loops.shape[-1] < 2:
            return loops
        length = loops.shape[-1]
        spectrum = np.fft.rfft(loops, axis=-1) * self.gains(length, rate, instrument)
        return np.fft.irfft(spectrum, n=length, axis=-1).astype(np.float32)


def parse_low_cut(text: str, order: int = DEFAULT_ORDER) -> LowCut:
    """`"drums=30,bass=20"` → `LowCut`; raises ValueError naming a malformed item or a cutoff out of range."""
    values = instrument_numbers(text, 1, "low cut", "INSTRUMENT=HZ")
    return LowCut({name: hz for name, (hz,) in values.items()}, order)
