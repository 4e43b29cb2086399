"""Temporal smoothing of a loop's magnitude spectrum, per instrument: the heads' frame-to-frame grain evened out.

A WaveGAN head draws every stretch of its output with its own grain: the level of each frequency wanders from
one analysis frame to the next where a played pad or bass note holds steady. In the evaluation embedding this
shows as too much spectral flux and too wide a spread of band levels within each second. For the instruments
whose stems sustain, the loop's magnitude is averaged over a short window:

1. STFT of the loop at the model rate (`N_FFT` points, hop `HOP`), the loop padded circularly with its own
   end and start (it is heard tiled, so the average wraps around the seam and adds no edge transient).
2. Each bin's magnitude becomes its mean over `seconds` (an odd number of frames, at least 3); the phase of
   every frame is kept, so onsets stay where they were and only their flicker is averaged. Changes faster
   than one analysis window (85 ms at 12 kHz) lie inside a frame and are not touched.
3. iSTFT, the padding cut off: a loop of the same length.

The windows are chosen per instrument on the valid split's FAD (`musicsim export onnx --smoothing`) and stored
in the manifest; an instrument without a window passes unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from musicsim_gui.audio import spectral
from musicsim_gui.generation.vit_wavegan.setting_text import instrument_numbers

N_FFT, HOP = 1024, 256
MAX_SECONDS = 1.0
"""Longer windows would average whole notes away; the setting is refused beyond this."""


@dataclass(frozen=True)
class TemporalSmoothing:
    """Averaging window in seconds per instrument (`seconds[instrument]`)."""

    seconds: dict[str, float]

    def __post_init__(self) -> None:
        wrong = [name for name, value in self.seconds.items() if not 0.0 < float(value) <= MAX_SECONDS]
        if wrong:
            raise ValueError(f"temporal smoothing: windows must be in (0, {MAX_SECONDS}] s "
                             f"({', '.join(wrong)} are not)")

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": {name: round(float(value), 4) for name, value in self.seconds.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TemporalSmoothing:
        """Raises ValueError (KeyError for a missing field) for windows out of range."""
        return cls({str(name): float(value) for name, value in data["seconds"].items()})

    def frames(self, instrument: str, rate: int) -> int:
        """The window in STFT frames at `rate` (odd, ≥ 3), or 0 for an instrument left unchanged."""
        seconds = self.seconds.get(instrument)
        if not seconds:
            return 0
        count = int(round(seconds * rate / HOP))
        return max(3, count + 1 - count % 2)

    def apply(self, loop: np.ndarray, rate: int, instrument: str) -> np.ndarray:
        """`loop [L]` at `rate` with the instrument's magnitude averaged over its window (float32, same length;
        see module docstring)."""
        frames = self.frames(instrument, rate)
        if not frames or loop.shape[0] < N_FFT:
            return loop.astype(np.float32, copy=False)
        from scipy.ndimage import uniform_filter1d

        length = loop.shape[0]
        pad = N_FFT + HOP * (frames // 2 + 1)
        padded = np.pad(loop.astype(np.float32), pad, mode="wrap")
        spectrum = spectral.stft(padded, n_fft=N_FFT, hop_length=HOP)
        magnitude = np.abs(spectrum)
        smoothed = uniform_filter1d(magnitude, frames, axis=1, mode="nearest")
        gain = np.divide(smoothed, magnitude, out=np.zeros_like(magnitude), where=magnitude > 1e-12)
        audio = spectral.istft(spectrum * gain, hop_length=HOP, length=padded.shape[0])
        return audio[pad: pad + length].astype(np.float32)


def parse_smoothing(text: str) -> TemporalSmoothing:
    """`"other=0.27,bass=0.11"` → `TemporalSmoothing`; raises ValueError naming a malformed item."""
    values = instrument_numbers(text, 1, "temporal smoothing", "INSTRUMENT=SECONDS")
    return TemporalSmoothing({name: seconds for name, (seconds,) in values.items()})
