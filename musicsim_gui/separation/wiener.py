"""Multichannel Wiener post-filter: refines per-channel mask estimates with each stem's spatial image.

A mask network estimates each stem channel by channel, so it can tell stems apart by where they sit in the
stereo field only as far as its input cue allows. The Wiener filter models each stem j at frequency f as a
zero-mean Gaussian with a power `v_j(f, t)` and a spatial covariance `R_j(f)` (`[2, 2]`, the same for every
frame of the chunk), and re-estimates every stem from the mix `x` as

    y_j(f, t) = v_j R_j (Σ_k v_k R_k)^-1 x(f, t).

The model is fitted to the masked estimates `m_j x`:
- `v_j = mean over channels of m_j |x|²`: the share of the mix power the masks give the stem (or of
  `m_j^e_j |x|²`, with an exponent per stem from the model's manifest: below 1 it flattens the stem's power,
  more where its masks are low and less where they are high, above 1 sharpens it);
- `R_j = Σ_t y_j y_jᴴ / Σ_t v_j`: the stem's stereo image. Besides its direction (a stem panned left has a
  different `R_j` from one in the middle, even where their spectra overlap), its scale is the stem's mean
  mask where it plays at that frequency, so a stem the network isolates confidently gains weight over one
  whose masks it spreads thinly.
On the synthetic validation songs this one pass raised the mean SDR of the bundled network by 0.25 dB
("other" most); further passes (re-fitting the model to the filtered stems), the plain power estimate
`|m_j x|²` and a unit-scale `R_j` each scored lower, so the filter is this single pass, computed from the
masks directly (`|y_j| = m_j |x|`: no complex magnitudes, one cross-spectrum shared by all stems).

The gains sum to the identity up to the regulariser, whose share goes to the last stem, so the stems still
add up to the mix. Input that is not stereo keeps the masked estimates (the masks are already the
single-channel form of this filter). Everything is closed-form elementwise arithmetic on the 2×2 matrices.

`R_j` is fitted to one chunk unless the caller has the masks of the whole song first (a song-wide separator,
`masking.separate_song`): then `SpatialImages` sums the fit's numerators and denominators over every chunk and
each chunk is filtered with the song's images. A stem's place in the stereo field rarely moves within a
song, and the longer sums estimate it better.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MAX_WORKERS = 4
BLOCK_BINS = 128
"""Frequencies per block: a block's working arrays stay in the CPU cache (2.4x faster than one block of all)."""
EPS = 1e-10
"""Floor of powers and the regulariser added to the mix covariance, relative to the mix's mean power (and
never below 1e-15, so digital silence stays finite)."""


class SpatialImages:
    """Each stem's spatial image `R_j` fitted over many chunks: `add` each chunk's stereo mix `[2, F, T]` and
    masks `[S, 2, F, T]`, then `images()` gives `(r00, r11, r01)`, `[S, F]` each, for `wiener_refine` (given
    the same power `exponents`)."""

    def __init__(self, exponents: tuple[float, ...] | None = None) -> None:
        self.exponents = exponents
        self.sums: np.ndarray | None = None
        """`[4, S, F]` complex128: Σ_t v_j, Σ_t m0² |x0|², Σ_t m1² |x1|², Σ_t m0 m1 x0 x1* per stem and bin."""

    def add(self, mix: np.ndarray, masks: np.ndarray, workers: int | None = None) -> None:
        if mix.shape[0] != 2:
            return
        mix, masks = np.asarray(mix, dtype=np.complex64), np.asarray(masks, dtype=np.float32)
        floor = _floor(mix)
        sums = np.zeros((4, masks.shape[0], mix.shape[1]), dtype=np.complex128)

        def run(block: tuple[int, int]) -> None:
            low, high = block
            part = mix[:, low:high]
            powers = _channel_powers(part)
            for j, (m0, m1) in enumerate(masks[:, :, low:high]):
                power = _stem_power(m0, m1, powers, floor, _exponent(self.exponents, j))
                sums[:, j, low:high] = _image_sums(m0, m1, power, powers)

        _over_blocks(mix.shape[1], run, workers)
        self.sums = sums if self.sums is None else self.sums + sums

    def images(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """`(r00, r11, r01)` `[S, F]` (float32, float32, complex64), or None before any stereo chunk."""
        if self.sums is None:
            return None
        power, s00, s11, s01 = self.sums
        return ((s00.real / power.real).astype(np.float32), (s11.real / power.real).astype(np.float32),
                (s01 / power.real).astype(np.complex64))


def wiener_refine(mix: np.ndarray, masks: np.ndarray, workers: int | None = None,
                  images: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                  exponents: tuple[float, ...] | None = None) -> np.ndarray:
    """Stems `[S, C, F, T]` (complex64) from `mix [C, F, T]` and per-channel `masks [S, C, F, T]` (≥ 0).

    The stems' spatial images are fitted to this mix and these masks, or taken from `images` (`[S, F]` each,
    from `SpatialImages`). `exponents` (one per stem; None: all 1) shape each stem's power estimate,
    `v_j = mean over channels of m_j^e_j |x|²`. A mix that is not stereo gets the masked estimates `masks · mix`
    unchanged.
    Frequencies are independent of each other, so blocks of `BLOCK_BINS` of them are filtered on `workers`
    threads (default: one per CPU core, at most `MAX_WORKERS`; numpy releases the interpreter lock inside
    each operation).
    """
    masks = np.asarray(masks, dtype=np.float32)
    if mix.shape[0] != 2:
        return (masks * mix[np.newaxis]).astype(np.complex64, copy=False)
    mix = np.asarray(mix, dtype=np.complex64)
    floor = _floor(mix)
    refined = np.empty(masks.shape, dtype=np.complex64)

    def run(block: tuple[int, int]) -> None:
        low, high = block
        given = None if images is None else tuple(image[:, low:high] for image in images)
        refined[:, :, low:high] = _refine_block(mix[:, low:high], masks[:, :, low:high], floor, given, exponents)

    _over_blocks(mix.shape[1], run, workers)
    return refined


def _floor(mix: np.ndarray) -> np.float32:
    """The power floor and regulariser of a stereo chunk (see `EPS`)."""
    return np.float32(max(EPS * float(np.mean(mix.real ** 2 + mix.imag ** 2)) * 2.0, 1e-15))


def _over_blocks(bins: int, run, workers: int | None) -> None:
    """`run((low, high))` for every block of `BLOCK_BINS` frequencies, on up to `workers` threads."""
    workers = max(1, min(workers or os.cpu_count() or 1, MAX_WORKERS, bins))
    blocks = [(low, min(low + BLOCK_BINS, bins)) for low in range(0, bins, BLOCK_BINS)]
    if workers == 1:
        for block in blocks:
            run(block)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, blocks))


def _channel_powers(mix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """|x0|², |x1|² and x0 x1* (the cross-spectrum shared by every stem's image) of a stereo block."""
    x0, x1 = mix[0], mix[1]
    return x0.real ** 2 + x0.imag ** 2, x1.real ** 2 + x1.imag ** 2, x0 * x1.conj()


def _exponent(exponents: tuple[float, ...] | None, stem: int) -> float:
    return 1.0 if exponents is None else exponents[stem]


def _stem_power(m0: np.ndarray, m1: np.ndarray, powers, floor: np.float32, exponent: float = 1.0) -> np.ndarray:
    """v_j = mean over channels of m^e |x|², floored  `[F, T]`."""
    if exponent != 1.0:
        m0, m1 = np.power(m0, np.float32(exponent)), np.power(m1, np.float32(exponent))
    power = m0 * powers[0]
    power += m1 * powers[1]
    power *= 0.5
    return np.maximum(power, floor, out=power)


def _image_sums(m0: np.ndarray, m1: np.ndarray, power: np.ndarray, powers) -> np.ndarray:
    """`[4, F]` complex128: Σ_t v_j, Σ_t m0² |x0|², Σ_t m1² |x1|², Σ_t m0 m1 x0 x1* (R_j's fit)."""
    both = m0 * m1
    cross = powers[2]
    return np.stack([power.sum(axis=1, dtype=np.float64),
                     np.einsum("ft,ft->f", m0 * m0, powers[0]),
                     np.einsum("ft,ft->f", m1 * m1, powers[1]),
                     np.einsum("ft,ft->f", both, cross.real) + 1j * np.einsum("ft,ft->f", both, cross.imag)])


def _refine_block(mix: np.ndarray, masks: np.ndarray, floor: np.float32, images=None,
                  exponents: tuple[float, ...] | None = None) -> np.ndarray:
    """`wiener_refine` for one block of frequencies (stereo `mix [2, F, T]`, `masks [S, 2, F, T]`, and the
    block's slice of `images` when given)."""
    x0, x1 = mix[0], mix[1]
    powers = _channel_powers(mix)
    s00 = np.full(x0.shape, floor, dtype=np.float32)
    s11 = np.full(x0.shape, floor, dtype=np.float32)
    s01 = np.zeros(x0.shape, dtype=np.complex64)
    models = []
    for j, (m0, m1) in enumerate(masks):
        power = _stem_power(m0, m1, powers, floor, _exponent(exponents, j))
        if images is None:                                     # R_j = Σ_t y yᴴ / Σ_t v_j over this chunk
            sums = _image_sums(m0, m1, power, powers)
            r00 = (sums[1].real / sums[0].real).astype(np.float32)[:, None]
            r11 = (sums[2].real / sums[0].real).astype(np.float32)[:, None]
            r01 = (sums[3] / sums[0].real).astype(np.complex64)[:, None]
        else:
            r00, r11, r01 = (image[j][:, None] for image in images)
        models.append((power, r00, r11, r01))
        s00 += power * r00
        s11 += power * r11
        s01 += power * r01
    inverse_det = 1.0 / (s00 * s11 - (s01.real ** 2 + s01.imag ** 2))
    u0 = (s11 * x0 - s01 * x1) * inverse_det                   # Σ^-1 x
    u1 = (s00 * x1 - s01.conj() * x0) * inverse_det
    refined = np.empty((len(models), 2, *x0.shape), dtype=np.complex64)
    for j, (power, r00, r11, r01) in enumerate(models):
        refined[j, 0] = power * (r00 * u0 + r01 * u1)
        refined[j, 1] = power * (r01.conj() * u0 + r11 * u1)
    refined[-1, 0] += x0 - refined[:, 0].sum(axis=0)
    refined[-1, 1] += x1 - refined[:, 1].sum(axis=0)
    return refined
