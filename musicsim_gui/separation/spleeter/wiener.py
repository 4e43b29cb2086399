"""Spleeter's optional multichannel Wiener filter ("MWF"): one EM step over the whole track, in two passes.

Spleeter hands the network's magnitude estimates and the mixture STFT of the *whole* track to a Wiener
filter (the norbert formulation, one iteration). The spatial covariance of each source is a sum over all
frames, so we stream the track twice, one segment at a time:
1. Pass 1: soft-mask initial estimates `y_j = v_j / (eps + Σ v) · x` (v: magnitude estimates, zero above
   bin F); accumulate per bin Σ_t y_j y_jᴴ and Σ_t mean_c |y_j|², and the largest |x| of the track.
2. Between passes: with the track scaled by m = max(1, max|x| / 10), each source's covariance is
   R_j = (Σ y yᴴ / m²) / (eps + Σ |y|² / m²).
3. Pass 2: per frame and bin, v_j = mean_c |y_j / m|², C = Σ_j v_j R_j + √eps·I, and the source is
   m · v_j R_j C⁻¹ (x / m). eps is float32's machine epsilon, as for Spleeter's complex64 STFT.
The network runs in both passes (memory stays at one segment), so the filter costs about twice the time.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from musicsim_gui.core.errors import CancelledError
from musicsim_gui.separation.spleeter.config import SpleeterConfig
from musicsim_gui.separation.spleeter.spectral import (
    WINDOW_COMPENSATION,
    frame_count,
    overlap_add,
    padded_signal,
    spectrum,
)

EPS = float(np.finfo(np.float32).eps)
EstimateFn = Callable[[np.ndarray], np.ndarray]
"""magnitude float32 `[1, 2, T, F]` → magnitude estimates float32 `[1, S, 2, T, F]`."""


def softmask(estimates: np.ndarray, spec: np.ndarray) -> np.ndarray:
    """Initial estimates `[S, C, n, bins]` (complex) from magnitudes `[S, C, n, bins]` and the mix `[C, n, bins]`."""
    return estimates / (EPS + estimates.sum(axis=0)) * spec[None]


def _outer(y: np.ndarray) -> np.ndarray:
    """Per-bin Σ over frames of y yᴴ: `[S, C, n, bins]` → `[S, bins, C, C]`."""
    return np.einsum("scnf,sdnf->sfcd", y, y.conj())


def covariances(sum_outer: np.ndarray, sum_power: np.ndarray, scale: float) -> np.ndarray:
    """Spatial covariances `[S, bins, C, C]` of the track scaled by 1/scale."""
    return (sum_outer / scale**2) / (EPS + sum_power / scale**2)[..., None, None]


def _inverse_2x2(m: np.ndarray) -> np.ndarray:
    det = m[..., 0, 0] * m[..., 1, 1] - m[..., 0, 1] * m[..., 1, 0]
    inv = np.empty_like(m)
    inv[..., 0, 0], inv[..., 1, 1] = m[..., 1, 1] / det, m[..., 0, 0] / det
    inv[..., 0, 1], inv[..., 1, 0] = -m[..., 0, 1] / det, -m[..., 1, 0] / det
    return inv


def filter_segment(y: np.ndarray, spec: np.ndarray, cov: np.ndarray, scale: float) -> np.ndarray:
    """Wiener-filtered sources `[S, C, n, bins]` for one segment (stereo only)."""
    x = np.moveaxis(spec, 0, -1) / scale                                 # [n, bins, C]
    power = np.mean(np.abs(y / scale) ** 2, axis=1)                       # [S, n, bins]
    mix = np.einsum("snf,sfcd->nfcd", power, cov) + np.sqrt(EPS) * np.eye(2)
    inv = _inverse_2x2(mix)
    gains = power[..., None, None] * np.einsum("sfcd,nfde->snfce", cov, inv)
    out = np.einsum("snfce,nfe->scnf", gains, x)
    return out * scale


def _segments(x: np.ndarray, estimate_fn: EstimateFn, config: SpleeterConfig, padded: np.ndarray):
    """Yield (first frame, mix spectrum `[C, n, bins]`, soft-mask estimates `[S, C, n, bins]`) per segment."""
    frames = frame_count(x.shape[-1], config)
    for first in range(0, frames, config.T):
        count = min(config.T, frames - first)
        spec = spectrum(padded, first, count, config).astype(np.complex128)
        magnitude = np.zeros((1, x.shape[0], config.T, config.F), dtype=np.float32)
        magnitude[0, :, :count] = np.abs(spec[:, :, :config.F])
        estimates = np.zeros((len(config.instruments), *spec.shape), dtype=np.float64)
        estimates[..., :config.F] = estimate_fn(magnitude)[0, :, :, :count]
        yield first, spec, softmask(estimates, spec)


def separate_waveform_wiener(x: np.ndarray, estimate_fn: EstimateFn, config: SpleeterConfig,
                             progress: Callable[[float, str], None] | None = None,
                             cancel: Callable[[], bool] | None = None) -> dict[str, np.ndarray]:
    """Separate stereo `x [2, N]` with Spleeter's multichannel Wiener filter → `{instrument: [2, N]}`."""
    padded = padded_signal(np.asarray(x, dtype=np.float32), config)
    segments = -(-frame_count(x.shape[-1], config) // config.T)
    sources = len(config.instruments)
    sum_outer = np.zeros((sources, config.bins, 2, 2), dtype=np.complex128)
    sum_power = np.zeros((sources, config.bins))
    peak = 0.0
    for step, (_, spec, y) in enumerate(_segments(x, estimate_fn, config, padded)):
        if cancel is not None and cancel():
            raise CancelledError("the separation")
        sum_outer += _outer(y)
        sum_power += np.mean(np.abs(y) ** 2, axis=1).sum(axis=1)
        peak = max(peak, float(np.abs(spec).max()))
        if progress is not None:
            progress(0.5 * (step + 1) / segments, f"Wiener statistics, segment {step + 1} of {segments}")
    scale = max(1.0, peak / 10.0)
    cov = covariances(sum_outer, sum_power, scale)
    outputs = {name: np.zeros_like(padded) for name in config.instruments}
    for step, (first, spec, y) in enumerate(_segments(x, estimate_fn, config, padded)):
        if cancel is not None and cancel():
            raise CancelledError("the separation")
        filtered = filter_segment(y, spec, cov, scale).astype(np.complex64)
        for index, name in enumerate(config.instruments):
            overlap_add(outputs[name], filtered[index], first, config)
        if progress is not None:
            progress(0.5 + 0.5 * (step + 1) / segments, f"Wiener filter, segment {step + 1} of {segments}")
    start, stop = config.frame_length, config.frame_length + x.shape[-1]
    for out in outputs.values():
        out *= np.float32(WINDOW_COMPENSATION)
    return {name: out[:, start:stop] for name, out in outputs.items()}
