"""The floor between a take's partials, per instrument: cleared where a part is clean, filled where it is smooth.

A WaveGAN head draws its partials over a floor of broadband grain, so the valleys between a piano's partials
are filled: read off the evaluation embedding, the piano takes' spectral contrast (peak minus valley per octave)
between 400 Hz and 1.6 kHz was about 3 standard deviations below the real piano stems'. The floor is
estimated in every frame and subtracted, which deepens the valleys and leaves the partials:

1. STFT (`N_FFT` points, hop `HOP`, at the take's rate) of each finished loop variation (`apply_loops`: after
   the tone and the reference match, before tiling), padded with its own end and start as it is heard tiled;
   `apply` cleans any signal the same way.
2. Per frame, the floor is the running minimum of the magnitude over `width_hz` (a window wider than the
   spacing of a low note's partials, so it reaches down between them), averaged over the same width.
3. Each bin's magnitude loses `strength` times the floor (spectral subtraction), never more than down to
   `LOWEST_GAIN_DB`; the phase is kept. A bin at the floor is cut furthest; a partial well above it keeps
   nearly all its level. An instrument with an upper limit (`max_hz`) gets the full strength up to it, less
   and less over the octave above (linearly in log frequency), and none beyond: the bass takes' valleys were
   too shallow only below ~1.6 kHz, and above 3 kHz their spectral contrast was already too high.
4. Above an instrument's fill frequency (`fill_from_hz`) the opposite holds, and the valleys are filled: each
   bin's power (after step 3) is mixed with its average over `fill_width_hz`, with the mix's weight rising
   from 0 at the fill frequency to 1 an octave above (linearly in log frequency), so the band's power stays
   and its spikes spread into the gaps between them. Read off the evaluation embedding on the validation
   songs, the bass takes' spectral contrast was 1.5 standard deviations *above* the real bass stems' at
   3.2-8 kHz: a real bass's upper band is a smooth, dense floor, while the heads leave a few isolated
   partials there (5-13 dB lower on a log average, for a similar power).
5. iSTFT: a loop of the same length. The contour the take follows later only rises and falls slowly, band by
   band, so cleaning the loops before it is the same as cleaning the take after it, at a fraction of the cost.

The strengths and fill frequencies are chosen per instrument on the valid split's FAD and stored in the manifest
(`config.spectral_floor`); an instrument without a strength passes unchanged. The step belongs to the
finishing that `params["smoothing"]` (and the Regenerate dialog's "Smooth sustained sounds") switches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from musicsim_gui.audio import spectral
from musicsim_gui.generation.vit_wavegan.setting_text import instrument_numbers

N_FFT, HOP = 2048, 512
LOWEST_GAIN_DB = -20.0
"""The deepest cut of a bin: subtraction down to nothing would leave isolated, flickering partials."""
MAX_STRENGTH = 4.0
MAX_HZ_RANGE = (200.0, 20000.0)
DEFAULT_WIDTH_HZ = 320.0
DEFAULT_FILL_WIDTH_HZ = 200.0
MAX_FILL_CORRECTION = 2.0
"""The most a filled bin's level is raised again after the overlap-add (step 4), in amplitude."""


@dataclass(frozen=True)
class SpectralFloor:
    """Subtraction strength per instrument (`strengths[instrument]`, 0 to `MAX_STRENGTH`) and the floor's
    width in Hz (step 2 of the module docstring)."""

    strengths: dict[str, float]
    width_hz: float = DEFAULT_WIDTH_HZ
    max_hz: dict[str, float] = field(default_factory=dict)
    """Per instrument, the frequency above which the subtraction fades out over an octave (none: everywhere)."""
    fill_from_hz: dict[str, float] = field(default_factory=dict)
    """Per instrument, the frequency above which the valleys are filled instead (step 4; none: nowhere)."""
    fill_width_hz: float = DEFAULT_FILL_WIDTH_HZ

    def __post_init__(self) -> None:
        wrong = [name for name, value in self.strengths.items() if not 0.0 <= float(value) <= MAX_STRENGTH]
        if wrong:
            raise ValueError(f"spectral floor: strengths must be in [0, {MAX_STRENGTH:g}] ({', '.join(wrong)} are not)")
        if not 20.0 <= float(self.width_hz) <= 2000.0:
            raise ValueError(f"spectral floor: the width must be 20-2000 Hz, not {self.width_hz}")
        low, high = MAX_HZ_RANGE
        wrong = [name for name, value in self.max_hz.items() if not low <= float(value) <= high]
        if wrong:
            raise ValueError(f"spectral floor: upper limits must be {low:g}-{high:g} Hz ({', '.join(wrong)} are not)")
        wrong = [name for name, value in self.fill_from_hz.items() if not low <= float(value) <= high]
        if wrong:
            raise ValueError(f"spectral floor: fill frequencies must be {low:g}-{high:g} Hz ({', '.join(wrong)} are not)")
        stray = [name for name in self.fill_from_hz if name not in self.strengths]
        if stray:
            raise ValueError(f"spectral floor: a fill frequency for {', '.join(stray)}, which has no strength "
                             "(give it one, 0 for none)")
        if not 20.0 <= float(self.fill_width_hz) <= 2000.0:
            raise ValueError(f"spectral floor: the fill width must be 20-2000 Hz, not {self.fill_width_hz}")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"strengths": {name: round(float(value), 4) for name, value in self.strengths.items()},
                                "width_hz": round(float(self.width_hz), 2)}
        if self.max_hz:
            data["max_hz"] = {name: round(float(value), 2) for name, value in self.max_hz.items()}
        if self.fill_from_hz:
            data["fill_from_hz"] = {name: round(float(value), 2) for name, value in self.fill_from_hz.items()}
            data["fill_width_hz"] = round(float(self.fill_width_hz), 2)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpectralFloor:
        """Raises ValueError (KeyError for a missing field) for settings out of range."""
        try:
            return cls({str(name): float(value) for name, value in data["strengths"].items()},
                       float(data.get("width_hz", DEFAULT_WIDTH_HZ)),
                       {str(name): float(value) for name, value in data.get("max_hz", {}).items()},
                       {str(name): float(value) for name, value in data.get("fill_from_hz", {}).items()},
                       float(data.get("fill_width_hz", DEFAULT_FILL_WIDTH_HZ)))
        except (AttributeError, TypeError) as error:
            raise ValueError(f"spectral floor: strengths must map instruments to numbers ({error})") from None

    def applies_to(self, instrument: str) -> bool:
        return self.strengths.get(instrument, 0.0) > 0.0 or instrument in self.fill_from_hz

    def width_bins(self, rate: int, width_hz: float | None = None) -> int:
        """The floor's width (or `width_hz`) in STFT bins at `rate` (odd, at least 3)."""
        count = int(round((self.width_hz if width_hz is None else width_hz) * N_FFT / rate))
        return max(3, count + 1 - count % 2)

    def fill_weights(self, rate: int, instrument: str) -> np.ndarray:
        """The weight of the spread power in each STFT bin at `rate` `[N_FFT // 2 + 1, 1]` (step 4)."""
        freqs = np.fft.rfftfreq(N_FFT, 1.0 / rate)[:, np.newaxis]
        start = self.fill_from_hz.get(instrument)
        if start is None:
            return np.zeros_like(freqs, dtype=np.float32)
        return np.clip(np.log2(np.maximum(freqs, 1.0) / start), 0.0, 1.0).astype(np.float32)

    def band_weights(self, rate: int, instrument: str) -> np.ndarray:
        """The share of the strength each STFT bin at `rate` gets `[N_FFT // 2 + 1, 1]` (step 3)."""
        freqs = np.fft.rfftfreq(N_FFT, 1.0 / rate)[:, np.newaxis]
        limit = self.max_hz.get(instrument)
        if limit is None:
            return np.ones_like(freqs, dtype=np.float32)
        return np.clip(np.log2(2.0 * limit / np.maximum(freqs, 1.0)), 0.0, 1.0).astype(np.float32)

    def apply(self, take: np.ndarray, rate: int, instrument: str) -> np.ndarray:
        """Mono `take [n]` at `rate` with the instrument's floor subtracted (float32, same length; unchanged for
        an instrument without a strength or a take shorter than one frame)."""
        take = np.asarray(take, dtype=np.float32)
        if not self.applies_to(instrument) or take.shape[-1] < N_FFT:
            return take
        from scipy.ndimage import minimum_filter1d, uniform_filter1d

        spectrum = spectral.stft(take, n_fft=N_FFT, hop_length=HOP)
        magnitude = np.abs(spectrum)
        gain = np.ones_like(magnitude)
        if self.strengths.get(instrument, 0.0) > 0.0:
            width = self.width_bins(rate)
            floor = uniform_filter1d(minimum_filter1d(magnitude, width, axis=0, mode="nearest"), width, axis=0,
                                     mode="nearest")
            lowest = np.float32(10.0 ** (LOWEST_GAIN_DB / 20.0))
            strength = np.float32(self.strengths[instrument]) * self.band_weights(rate, instrument)
            gain = np.maximum(1.0 - strength * floor / np.maximum(magnitude, 1e-9), lowest)
        if instrument in self.fill_from_hz:
            power = (magnitude * gain) ** 2
            spread = uniform_filter1d(power, self.width_bins(rate, self.fill_width_hz), axis=0, mode="nearest")
            weight = self.fill_weights(rate, instrument)
            filled = np.sqrt((1.0 - weight) * power + weight * spread)
            gain = filled / np.maximum(magnitude, 1e-9)
        out = spectral.istft(spectrum * gain, hop_length=HOP, length=take.shape[-1])
        if instrument in self.fill_from_hz:
            out = self._restore_power(out, filled, rate, instrument)
        return out.astype(np.float32)

    def _restore_power(self, out: np.ndarray, target: np.ndarray, rate: int, instrument: str) -> np.ndarray:
        """`out` with the filled band's power brought back to `target`'s (magnitudes `[bins, frames]`): bins
        raised with phases that do not follow each other from frame to frame partly cancel in the overlap-add,
        so the filled band comes out quieter than it was made; one more STFT measures by how much (smoothed
        over the fill width), and that is given back (step 4)."""
        from scipy.ndimage import uniform_filter1d

        spectrum = spectral.stft(out.astype(np.float32), n_fft=N_FFT, hop_length=HOP)
        width = self.width_bins(rate, self.fill_width_hz)
        wanted = uniform_filter1d(target**2, width, axis=0, mode="nearest")
        got = uniform_filter1d(np.abs(spectrum) ** 2, width, axis=0, mode="nearest")
        weight = self.fill_weights(rate, instrument)
        correction = np.clip(np.sqrt(wanted / np.maximum(got, 1e-20)), 1.0, MAX_FILL_CORRECTION)
        return spectral.istft(spectrum * (1.0 + weight * (correction - 1.0)), hop_length=HOP, length=out.shape[-1])

    def apply_loops(self, loops: np.ndarray, rate: int, instrument: str) -> np.ndarray:
        """Loop variations `[V, L]` (or one loop `[L]`) at `rate`, each cleaned as it is heard tiled: padded
        with its own end and start (wrapped) before the STFT, so the subtraction adds no edge transient and a
        loop costs a few seconds of STFT instead of the whole take's (float32, same shape)."""
        loops = np.asarray(loops, dtype=np.float32)
        if not self.applies_to(instrument) or loops.shape[-1] < 2:
            return loops
        flat = loops.reshape(-1, loops.shape[-1])
        pad = N_FFT
        cleaned = [self.apply(np.pad(loop, pad, mode="wrap"), rate, instrument)[pad: pad + loop.shape[0]]
                   for loop in flat]
        return np.stack(cleaned).reshape(loops.shape)


def parse_floor(text: str, width_hz: float = DEFAULT_WIDTH_HZ, max_hz: str = "", fill_from: str = "",
                fill_width_hz: float = DEFAULT_FILL_WIDTH_HZ) -> SpectralFloor:
    """`"piano=2,bass=0.5"` (upper limits `"bass=1600"`, fill frequencies `"bass=1500"`) → `SpectralFloor`;
    raises ValueError naming a malformed item, or a limit or fill frequency for an instrument without a strength."""
    values = instrument_numbers(text, 1, "spectral floor", "INSTRUMENT=STRENGTH")
    limits = instrument_numbers(max_hz, 1, "spectral floor", "INSTRUMENT=HZ")
    fills = instrument_numbers(fill_from, 1, "spectral floor", "INSTRUMENT=HZ")
    stray = [name for name in limits if name not in values]
    if stray:
        raise ValueError(f"spectral floor: an upper limit for {', '.join(stray)}, which has no strength")
    return SpectralFloor({name: strength for name, (strength,) in values.items()}, width_hz,
                         {name: hz for name, (hz,) in limits.items()}, {name: hz for name, (hz,) in fills.items()},
                         fill_width_hz)
