"""The LoFi chain: how rendered stems become the ground-truth stems and the mix, with sum(stems) == mix.

Architecture (the order matters for the invariant):
1. Per stem: a balance gain and tape-style soft saturation `tanh(d·x)/d`. Saturation is nonlinear, so it
   runs on each stem separately (like a saturator on every bus) and never on the mix.
2. Shared, linear, identical for every stem: tape wow and flutter as a time-varying fractional delay
   (linear interpolation at the same warped read positions), then a gentle Butterworth low-pass and a
   rumble high-pass (`sosfilt`). Linear operations commute with summation, so applying them to each stem
   is the same as applying them to the mix.
3. Vinyl crackle and hiss are added to the "other" stem (there is no separate noise stem).
4. One gain for all stems sets the level (mix and stem peaks ≤ -1 dBFS), then the mix is *defined* as the float32
   sum of the final stems. So sum(stems) == mix exactly in float32; after writing 16- or 24-bit files
   the difference is bounded by the quantisation of five files (≤ 2.5 LSB).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import signal

STEM_GAINS_DB = {"bass": -1.0, "drums": 3.0, "piano": 0.0, "other": -1.0}
"""Nominal balance before the per-song random offsets (±3 dB)."""


@dataclass(frozen=True)
class LofiSettings:
    """One song's chain parameters (all drawn from the song seed; stored in meta.json)."""

    stem_gain_db: dict[str, float]
    drive: dict[str, float]
    wow_hz: float
    wow_ms: float
    flutter_hz: float
    flutter_ms: float
    lowpass_hz: float
    highpass_hz: float
    crackle_per_s: float
    noise_db: float
    peak_dbfs: float = -1.0

    def to_dict(self) -> dict:
        return asdict(self)


def draw_settings(rng: np.random.Generator, stems: tuple[str, ...]) -> LofiSettings:
    """Random chain parameters for one song."""
    return LofiSettings(
        stem_gain_db={s: round(STEM_GAINS_DB.get(s, 0.0) + float(rng.uniform(-3, 3)), 2) for s in stems},
        drive={s: round(float(rng.uniform(1.0, 2.5)), 3) for s in stems},
        wow_hz=round(float(rng.uniform(0.3, 0.9)), 3), wow_ms=round(float(rng.uniform(0.3, 1.5)), 3),
        flutter_hz=round(float(rng.uniform(5.0, 9.0)), 3), flutter_ms=round(float(rng.uniform(0.02, 0.08)), 4),
        lowpass_hz=round(float(rng.uniform(4500.0, 11000.0)), 1), highpass_hz=round(float(rng.uniform(25, 45)), 1),
        crackle_per_s=round(float(rng.uniform(0.0, 6.0)), 2), noise_db=round(float(rng.uniform(-72, -60)), 1),
    )


def saturate(x: np.ndarray, drive: float) -> np.ndarray:
    """Soft tape saturation, unity gain for small signals: tanh(drive·x)/drive. float32 in, float32 out."""
    return (np.tanh(x * drive) / drive).astype(np.float32, copy=False)


def warp_positions(frames: int, sample_rate: int, s: LofiSettings, phase: float) -> np.ndarray:
    """Read positions (fractional frames, float64 [T]) for wow and flutter; their mean offset is ~0 ms.

    The delay curve (below 10 Hz) is computed every 32 frames and linearly interpolated."""
    step = 32
    coarse = np.arange(0, frames + step, step, dtype=np.float64) / sample_rate
    delay_s = (s.wow_ms * np.sin(2 * np.pi * s.wow_hz * coarse + phase)
               + s.flutter_ms * np.sin(2 * np.pi * s.flutter_hz * coarse + 2.1 * phase)) / 1000.0
    frame = np.arange(frames, dtype=np.float64)
    delay = np.interp(frame, coarse * sample_rate, delay_s * sample_rate)
    return np.clip(frame - delay, 0.0, frames - 1.0)


def apply_warp(x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear-interpolation resampling of `x` [C, T] at `positions` [T]; linear in `x`. float32 out."""
    index = positions.astype(np.int64)
    frac = (positions - index).astype(np.float32)
    upper = np.minimum(index + 1, x.shape[-1] - 1)
    out = np.empty(x.shape, dtype=np.float32)
    for channel in range(x.shape[0]):
        row = x[channel]
        low, high = row.take(index), row.take(upper)
        high -= low
        high *= frac
        low += high
        out[channel] = low
    return out


def crackle(frames: int, sample_rate: int, s: LofiSettings, rng: np.random.Generator) -> np.ndarray:
    """Vinyl clicks (decaying impulses at Poisson times) plus band-limited hiss, float32 [2, T]."""
    out = np.zeros((2, frames), dtype=np.float32)
    count = rng.poisson(s.crackle_per_s * frames / sample_rate)
    where = rng.integers(0, max(1, frames - 64), size=count)
    amps = (rng.uniform(0.002, 0.012, size=count) * rng.choice([-1.0, 1.0], size=count)).astype(np.float32)
    shape = (np.exp(-np.arange(24) / 4.0) * np.cos(np.arange(24) * 1.7)).astype(np.float32)
    stereo = np.array([[1.0], [0.8]], dtype=np.float32) * shape
    for start, amp in zip(where, amps, strict=True):
        out[:, start:start + 24] += amp * stereo
    hiss = rng.standard_normal((2, frames), dtype=np.float32) * np.float32(10 ** (s.noise_db / 20))
    sos = signal.butter(2, [800.0, 7000.0], btype="bandpass", fs=sample_rate, output="sos").astype(np.float32)
    return out + signal.sosfilt(sos, hiss)


def apply_chain(stems: dict[str, np.ndarray], sample_rate: int, s: LofiSettings,
                rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Process rendered stems {name: float32 [2, T]}; returns (final stems, mix) with mix == sum(stems)."""
    frames = next(iter(stems.values())).shape[-1]
    positions = warp_positions(frames, sample_rate, s, phase=float(rng.uniform(0, 2 * np.pi)))
    sos = np.concatenate([signal.butter(2, s.lowpass_hz, btype="lowpass", fs=sample_rate, output="sos"),
                          signal.butter(1, s.highpass_hz, btype="highpass", fs=sample_rate, output="sos")]
                         ).astype(np.float32)
    names = list(stems)
    driven = [saturate(stems[n] * np.float32(10 ** (s.stem_gain_db[n] / 20) * 2.0), s.drive[n]) for n in names]
    channels = driven[0].shape[0]
    warped = signal.sosfilt(sos, apply_warp(np.concatenate(driven), positions), axis=-1)
    out = {name: warped[i * channels:(i + 1) * channels] for i, name in enumerate(names)}
    if "other" in out:
        out["other"] = out["other"] + crackle(frames, sample_rate, s, rng)
    peak = max(float(np.abs(sum(out.values())).max()), *(float(np.abs(a).max()) for a in out.values()))
    gain = np.float32(10 ** (s.peak_dbfs / 20) / peak) if peak > 0 else np.float32(1.0)
    for name in out:
        out[name] = (out[name] * gain).astype(np.float32, copy=False)
    mix = np.zeros_like(next(iter(out.values())))
    for audio in out.values():
        mix += audio
    return out, mix
