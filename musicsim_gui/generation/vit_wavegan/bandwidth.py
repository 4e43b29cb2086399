"""Bandwidth extension of a head's output: the band above the model's Nyquist frequency, rebuilt per instrument.

The heads write audio at the model rate (12 kHz for `vit-wavegan-lofi`), so a take resampled to 44.1 kHz has
nothing above 6 kHz: hi-hats, cymbals and the air of every instrument are missing. Real drum stems cut to
that band score almost as far from full-band ones in the evaluation embedding as our drum takes do, so
the missing band, not the head, dominates the drums' FAD. The band is rebuilt by spectral band replication, as
audio codecs do, with the envelope side information replaced by statistics of the training stems:

1. STFT at the output rate with ~12 ms windows (`n_fft` the power of two nearest 12 ms, hop n_fft / 4), so
   transients stay sharp.
2. Excitation: the top octave the model does produce (`source_hz`: Nyquist / 2 … Nyquist) is copied
   upward, patch after patch, bin by bin with its phase, to the output's Nyquist frequency; each shift is a
   whole number of turns of phase per hop (`patch_sources`), so overlapping frames add up. Hits in the
   source octave therefore appear in the new band at the same moments.
3. Envelope: for each target band k (`edges_hz`), per frame, the excitation is scaled so that the band's
   mean power spectral density is `ratio_k` × the source octave's. `ratio_k` is fitted per instrument as
   Σ power(band k) / Σ power(source octave) over the frames of the training stems (`fit`): energy-weighted,
   level-free, the same at every output rate (densities are normalised per Hz). Gains are interpolated
   between band centres in log power, so there are no steps at band edges.
4. The rebuilt band is added to the resampled take, which holds nothing above the model's Nyquist frequency.
Output rates at or below twice the model's Nyquist frequency are returned unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from musicsim_gui.audio import spectral

BAND_EDGES_HZ = (8000.0, 11000.0, 16000.0)
"""Inner target band edges above the model's Nyquist frequency (the outer ones are it and the output's)."""

WINDOW_SECONDS = 0.012


@dataclass(frozen=True)
class BandwidthExtension:
    """Fitted high-band ratios: `ratios[instrument][k]` for band k of `edges_hz` (len(edges) - 1 bands)."""

    source_hz: tuple[float, float]
    edges_hz: tuple[float, ...]
    ratios: dict[str, tuple[float, ...]]

    def to_dict(self) -> dict[str, Any]:
        return {"source_hz": list(self.source_hz), "edges_hz": list(self.edges_hz),
                "ratios_db": {name: [round(10 * np.log10(max(r, 1e-12)), 3) for r in values]
                              for name, values in self.ratios.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BandwidthExtension:
        """Raises ValueError (KeyError for a missing field) when the stored extension is inconsistent."""
        extension = cls(tuple(float(x) for x in data["source_hz"]), tuple(float(x) for x in data["edges_hz"]),
                        {name: tuple(10.0 ** (float(db) / 10.0) for db in values)
                         for name, values in data["ratios_db"].items()})
        bands = len(extension.edges_hz) - 1
        wrong = [name for name, values in extension.ratios.items() if len(values) != bands]
        if len(extension.source_hz) != 2 or bands < 1 or wrong:
            raise ValueError(f"bandwidth extension: {bands} bands but ratios for {', '.join(wrong) or 'none'} "
                             f"do not match, or the source band is not (low, high)")
        return extension

    def extend(self, audio: np.ndarray, rate: int, instrument: str) -> np.ndarray:
        """`audio [T]` at `rate` (band-limited to `source_hz[1]`) with the band above rebuilt; see the module."""
        if instrument not in self.ratios or rate / 2 <= self.source_hz[1] * 1.01 or audio.size == 0:
            return audio
        n_fft, hop = stft_sizes(rate)
        spec = spectral.stft(audio.astype(np.float32), n_fft=n_fft, hop_length=hop)     # [F, frames]
        freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
        low, high = self.source_hz
        source = np.flatnonzero((freqs >= low) & (freqs < high))
        target = np.flatnonzero(freqs >= high)
        if source.size == 0 or target.size == 0:
            return audio
        excitation = spec[patch_sources(source, target, n_fft // hop)]                 # patches of the source
        source_power = np.mean(np.abs(spec[source]) ** 2, axis=0)                      # [frames]
        gains = self._gains(freqs[target], np.abs(excitation) ** 2, source_power, instrument)
        high_band = np.zeros_like(spec)
        high_band[target] = excitation * gains
        extension = spectral.istft(high_band, hop_length=hop, n_fft=n_fft, length=audio.shape[0])
        return (audio + extension).astype(np.float32)

    def _gains(self, freqs: np.ndarray, excitation_power: np.ndarray, source_power: np.ndarray,
               instrument: str) -> np.ndarray:
        """Amplitude gains `[bins, frames]`: band k's density becomes ratio_k × the source density."""
        edges = np.asarray(self.edges_hz)
        ratios = np.asarray(self.ratios[instrument])
        centres, log_gain_rows = [], []
        for k in range(len(ratios)):
            inside = (freqs >= edges[k]) & (freqs < edges[k + 1])
            if not inside.any():
                continue
            power = excitation_power[inside].mean(axis=0)
            centres.append(freqs[inside].mean())
            log_gain_rows.append(0.5 * (np.log(ratios[k] * source_power + 1e-20) - np.log(power + 1e-20)))
        if not centres:
            return np.zeros_like(excitation_power)
        log_gains = np.stack(log_gain_rows)                                               # [bands, frames]
        # Linear interpolation in log gain between band centres (constant beyond the outer ones).
        position = np.interp(freqs, centres, np.arange(len(centres), dtype=np.float64))
        lower = np.floor(position).astype(int)
        upper = np.minimum(lower + 1, len(centres) - 1)
        weight = (position - lower)[:, None]
        per_bin = (1.0 - weight) * log_gains[lower] + weight * log_gains[upper]
        return np.exp(per_bin).astype(np.float32)


def patch_sources(source: np.ndarray, target: np.ndarray, frames_per_window: int) -> np.ndarray:
    """Source bin for each target bin: the source octave copied upward patch by patch, every shift a
    multiple of n_fft / hop bins, so a shifted bin's phase advances by whole turns more per hop and the
    overlapping frames add up coherently (any other shift makes neighbouring frames cancel in part)."""
    step = frames_per_window
    shift = -(-(int(target[0]) - int(source[0])) // step) * step    # smallest multiple of step ≥ the gap
    start = int(target[0]) - shift
    width = (int(source[-1]) + 1 - start) // step * step
    if width <= 0:
        start, width = int(source[0]), max(1, source.size)
    return start + (target - target[0]) % width


def stft_sizes(rate: int) -> tuple[int, int]:
    """(n_fft, hop) of the extension at `rate`: the power of two nearest `WINDOW_SECONDS`, hop a quarter."""
    n_fft = int(2 ** round(np.log2(WINDOW_SECONDS * rate)))
    return n_fft, n_fft // 4


def band_powers(audio: np.ndarray, rate: int, bands: Iterable[tuple[float, float]]) -> np.ndarray:
    """Summed power spectral density per band `[bands]` over all frames of `audio [T]` (per-Hz normalised)."""
    n_fft, hop = stft_sizes(rate)
    power = np.abs(spectral.stft(audio.astype(np.float32), n_fft=n_fft, hop_length=hop)) ** 2
    power /= np.sum(spectral.hann_window(n_fft) ** 2) * rate / 2
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    return np.array([power[(freqs >= lo) & (freqs < hi)].mean(axis=0).sum() if ((freqs >= lo) & (freqs < hi)).any()
                     else 0.0 for lo, hi in bands])


def fit(stems: dict[str, list[np.ndarray]], rate: int, model_rate: int) -> BandwidthExtension:
    """Ratios for each instrument from its training stems (`[T]` mono each, at `rate`, full band)."""
    nyquist = model_rate / 2
    edges = (nyquist, *(edge for edge in BAND_EDGES_HZ if nyquist < edge < rate / 2), rate / 2)
    source = (nyquist / 2, nyquist)
    bands = [source, *zip(edges[:-1], edges[1:], strict=True)]
    ratios = {}
    for instrument, clips in stems.items():
        totals = sum((band_powers(clip, rate, bands) for clip in clips), np.zeros(len(bands)))
        ratios[instrument] = tuple(float(v / totals[0]) if totals[0] > 0 else 0.0 for v in totals[1:])
    return BandwidthExtension(source, tuple(float(e) for e in edges), ratios)
