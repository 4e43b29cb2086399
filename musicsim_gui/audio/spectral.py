"""Short-time Fourier transforms and mel spectrograms in NumPy/SciPy, numerically compatible with librosa.

Defaults and conventions follow librosa (periodic Hann window, `center=True` with zero padding of
`n_fft // 2`, Slaney mel scale and area normalisation, `power_to_db` clipping), so features computed here
match `librosa.feature.melspectrogram` and models trained on either agree.

Architecture:
1. Windows and mel filterbanks are built once per parameter set (`functools.lru_cache`) as read-only
   float32 arrays.
2. `stft` frames the padded signal as a strided view and transforms blocks of frames with `scipy.fft.rfft`
   (float32 in, complex64 out), so the windowed copy of a block stays in cache. Long signals are cut into
   one span of frames per core, transformed on a shared thread pool.
3. `melspectrogram` never stores the complex STFT: per block it forms the power spectrum and applies the
   filterbank as a few small matrix products (BLAS), one per group of adjacent bands over only the bins
   that group touches (the triangles are sparse), writing straight into the result.
4. `istft` inverts by inverse FFT, windowing and overlap-add normalised by the summed squared window.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import scipy.fft

from musicsim_gui.audio.dsp import cores, thread_pool

_BLOCK_FRAMES = 128
_PARALLEL_MIN_FRAMES = 1024  # shorter signals are transformed on the calling thread
_GROUP_BUDGET = 2048  # bins x bands per mel product: 128 x 2048 multiply-adds per frame block at most
_F_SP = 200.0 / 3.0  # Slaney: Hz per mel below 1 kHz
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(frequencies, htk: bool = False):
    """Hz to mels: Slaney's scale (linear below 1 kHz, logarithmic above), or HTK's when `htk`."""
    hz = np.asanyarray(frequencies, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    linear = hz / _F_SP
    logarithmic = _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOG_STEP
    return np.where(hz >= _MIN_LOG_HZ, logarithmic, linear)


def mel_to_hz(mels, htk: bool = False):
    """Mels to Hz, the inverse of `hz_to_mel`."""
    mel = np.asanyarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    linear = _F_SP * mel
    logarithmic = _MIN_LOG_HZ * np.exp(_LOG_STEP * (np.maximum(mel, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(mel >= _MIN_LOG_MEL, logarithmic, linear)


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@functools.lru_cache(maxsize=32)
def hann_window(n_fft: int, win_length: int | None = None) -> np.ndarray:
    """Periodic Hann window of `win_length` (default `n_fft`), zero-padded to `n_fft` about its centre; float32."""
    length = n_fft if win_length is None else int(win_length)
    if not 0 < length <= n_fft:
        raise ValueError(f"win_length must be in [1, n_fft={n_fft}], got {length}")
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(length) / length)
    padded = np.zeros(n_fft, dtype=np.float64)
    start = (n_fft - length) // 2
    padded[start:start + length] = window
    return _readonly(padded.astype(np.float32))


@functools.lru_cache(maxsize=32)
def mel_filterbank(sr: float, n_fft: int, n_mels: int = 128, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular Slaney-normalised mel filters, float32 `[n_mels, 1 + n_fft // 2]` (as `librosa.filters.mel`)."""
    fmax = float(sr) / 2.0 if fmax is None else float(fmax)
    fft_hz = np.fft.rfftfreq(n_fft, d=1.0 / float(sr))
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return _readonly(weights.astype(np.float32))


@functools.lru_cache(maxsize=32)
def _mel_bands(sr: float, n_fft: int, n_mels: int, fmin: float,
               fmax: float | None) -> tuple[tuple[int, int, int, int, np.ndarray], ...]:
    """The filterbank cut into groups of adjacent bands, each with the range of bins it touches.

    Returns `(band_lo, band_hi, bin_lo, bin_hi, weights [bin_hi - bin_lo, band_hi - band_lo])` per group.
    A mel filter is non-zero on a narrow range of bins, so these small products skip the zeros of the full
    one; groups are grown until bins x bands reaches `_GROUP_BUDGET`, which keeps every product of a
    `_BLOCK_FRAMES` block small enough for BLAS to run it on the calling thread (no oversubscription).
    """
    basis = mel_filterbank(sr, n_fft, n_mels, fmin, fmax)
    support = [np.flatnonzero(band) for band in basis]
    spans = [(int(s[0]), int(s[-1]) + 1) if s.size else (0, 1) for s in support]
    groups = []
    band_lo = 0
    while band_lo < n_mels:
        band_hi = band_lo + 1
        while band_hi < n_mels and _group_cost(spans, band_lo, band_hi + 1) <= _GROUP_BUDGET:
            band_hi += 1
        bin_lo = min(span[0] for span in spans[band_lo:band_hi])
        bin_hi = max(span[1] for span in spans[band_lo:band_hi])
        weights = np.ascontiguousarray(basis[band_lo:band_hi, bin_lo:bin_hi].T)
        groups.append((band_lo, band_hi, bin_lo, bin_hi, _readonly(weights)))
        band_lo = band_hi
    return tuple(groups)


def _group_cost(spans: list[tuple[int, int]], band_lo: int, band_hi: int) -> int:
    """Multiply-adds per frame of one product covering bands `[band_lo, band_hi)` (their bins x their count)."""
    return (spans[band_hi - 1][1] - spans[band_lo][0]) * (band_hi - band_lo)


def frame_count(samples: int, n_fft: int = 2048, hop_length: int = 512, center: bool = True) -> int:
    """The number of STFT frames for a signal of `samples` samples."""
    padded = samples + 2 * (n_fft // 2) if center else samples
    if padded < n_fft:
        raise ValueError(f"signal of {samples} samples is shorter than n_fft={n_fft}")
    return 1 + (padded - n_fft) // hop_length


def _frames_view(signal: np.ndarray, n_fft: int, hop_length: int, center: bool, pad_mode: str) -> np.ndarray:
    """A strided, read-only `[frames, n_fft]` view of a 1-D float32 signal (padded when `center`)."""
    if center:
        signal = np.pad(signal, n_fft // 2, mode=pad_mode)
    count = frame_count(signal.shape[0], n_fft, hop_length, center=False)
    step = signal.strides[0]
    return np.lib.stride_tricks.as_strided(signal, shape=(count, n_fft), strides=(hop_length * step, step),
                                           writeable=False)


def _blocks(start: int, stop: int):
    for first in range(start, stop, _BLOCK_FRAMES):
        yield first, min(first + _BLOCK_FRAMES, stop)


def _in_spans(work: Callable[[int, int], None], count: int) -> None:
    """Run `work(start, stop)` over frames `[0, count)`: one contiguous span per core, inline when short.

    NumPy, BLAS (small products) and pocketfft release the GIL, so the spans run in parallel.
    """
    spans = cores()
    if spans == 1 or count < _PARALLEL_MIN_FRAMES:
        work(0, count)
        return
    edges = [round(count * part / spans) for part in range(spans + 1)]
    for future in [thread_pool().submit(work, a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]:
        future.result()


def _spectra(frames: np.ndarray, window: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Windowed real FFTs of frames[start:stop]: complex64 `[stop - start, 1 + n_fft // 2]`."""
    windowed = frames[start:stop] * window
    return scipy.fft.rfft(windowed, axis=-1, workers=1, overwrite_x=True)


def _rows(y: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    signal = np.asarray(y, dtype=np.float32)
    if signal.ndim == 0:
        raise ValueError("audio must have at least one dimension (time last)")
    return signal.reshape(math.prod(signal.shape[:-1]), signal.shape[-1]), signal.shape[:-1]


def stft(y: np.ndarray, n_fft: int = 2048, hop_length: int = 512, win_length: int | None = None,
         center: bool = True, pad_mode: str = "constant") -> np.ndarray:
    """Short-time Fourier transform with a periodic Hann window.

    Args:
        y: float audio `[..., T]`.
    Returns:
        complex64 `[..., 1 + n_fft // 2, frames]`, frames = `1 + T // hop_length` when `center`.
    """
    rows, leading = _rows(y)
    window = hann_window(n_fft, win_length)
    count = frame_count(rows.shape[-1], n_fft, hop_length, center)
    result = np.empty((rows.shape[0], n_fft // 2 + 1, count), dtype=np.complex64)
    for index, row in enumerate(rows):
        frames = _frames_view(row, n_fft, hop_length, center, pad_mode)

        def work(first: int, last: int, frames=frames, out=result[index]) -> None:
            for start, stop in _blocks(first, last):
                out[:, start:stop] = _spectra(frames, window, start, stop).T

        _in_spans(work, count)
    return result.reshape(*leading, n_fft // 2 + 1, count)


def _power(spectra: np.ndarray, power: float) -> np.ndarray:
    """|X| ** power as float32, without a square root when power is 2."""
    pairs = spectra.view(np.float32)
    np.square(pairs, out=pairs)
    energy = pairs[..., 0::2] + pairs[..., 1::2]
    if power != 2.0:
        np.power(energy, power / 2.0, out=energy)
    return energy


def melspectrogram(y: np.ndarray, sr: float, n_fft: int = 2048, hop_length: int = 512, n_mels: int = 128,
                   fmin: float = 0.0, fmax: float | None = None, power: float = 2.0,
                   win_length: int | None = None, center: bool = True, pad_mode: str = "constant") -> np.ndarray:
    """Mel spectrogram: |STFT| ** power through the Slaney mel filterbank (as `librosa.feature.melspectrogram`).

    Args:
        y: float audio `[..., T]` at `sr` Hz.
    Returns:
        float32 `[..., n_mels, frames]` (power units when `power` is 2).
    """
    rows, leading = _rows(y)
    window = hann_window(n_fft, win_length)
    bands = _mel_bands(float(sr), n_fft, n_mels, float(fmin), None if fmax is None else float(fmax))
    count = frame_count(rows.shape[-1], n_fft, hop_length, center)
    result = np.empty((rows.shape[0], count, n_mels), dtype=np.float32)
    for index, row in enumerate(rows):
        frames = _frames_view(row, n_fft, hop_length, center, pad_mode)

        def work(first: int, last: int, frames=frames, out=result[index]) -> None:
            for start, stop in _blocks(first, last):
                energy = _power(_spectra(frames, window, start, stop), power)
                for band_lo, band_hi, bin_lo, bin_hi, weights in bands:
                    np.matmul(energy[:, bin_lo:bin_hi], weights, out=out[start:stop, band_lo:band_hi])

        _in_spans(work, count)
    return np.ascontiguousarray(result.transpose(0, 2, 1)).reshape(*leading, n_mels, count)


def _overlap_add(frames: np.ndarray, hop_length: int) -> np.ndarray:
    """Sum `[count, n_fft]` frames placed every `hop_length` samples into one signal."""
    count, n_fft = frames.shape
    out = np.zeros(n_fft + hop_length * (count - 1), dtype=np.float32)
    if n_fft % hop_length == 0:
        for part in range(n_fft // hop_length):
            segment = frames[:, part * hop_length:(part + 1) * hop_length].reshape(-1)
            out[part * hop_length:part * hop_length + segment.shape[0]] += segment
        return out
    for index in range(count):
        out[index * hop_length:index * hop_length + n_fft] += frames[index]
    return out


def istft(stft_matrix: np.ndarray, hop_length: int = 512, win_length: int | None = None,
          n_fft: int | None = None, center: bool = True, length: int | None = None) -> np.ndarray:
    """Inverse STFT by windowed overlap-add (as `librosa.istft`).

    Args:
        stft_matrix: complex `[..., 1 + n_fft // 2, frames]`.
        length: trim or zero-pad the output to this many samples.
    Returns:
        float32 `[..., T]`.
    """
    matrix = np.asarray(stft_matrix)
    n_fft = 2 * (matrix.shape[-2] - 1) if n_fft is None else int(n_fft)
    window = hann_window(n_fft, win_length).astype(np.float32)
    leading = matrix.shape[:-2]
    count = matrix.shape[-1]
    norm = _overlap_add(np.broadcast_to(window * window, (count, n_fft)), hop_length)
    norm = np.where(norm > np.finfo(np.float32).tiny, norm, 1.0).astype(np.float32)
    out = np.empty((int(np.prod(leading, dtype=np.int64)), norm.shape[0]), dtype=np.float32)
    indices = list(np.ndindex(*leading))
    spans = min(cores(), len(indices)) if count >= _PARALLEL_MIN_FRAMES else 1

    def work(first: int, last: int) -> None:  # row by row: no copy of the whole (often strided) input
        for row in range(first, last):
            frames = scipy.fft.irfft(matrix[indices[row]].T, n=n_fft, axis=-1,
                                     workers=-1 if spans == 1 else 1).astype(np.float32, copy=False)
            frames *= window
            np.divide(_overlap_add(frames, hop_length), norm, out=out[row])

    if spans == 1:  # one signal, or a short one: the FFTs alone use the cores
        work(0, len(indices))
    else:  # several: whole rows per core, so the windowing and overlap-add run in parallel too
        edges = [round(len(indices) * part / spans) for part in range(spans + 1)]
        for future in [thread_pool().submit(work, a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]:
            future.result()
    if center:
        out = out[:, n_fft // 2:]
    if length is not None:
        out = _fit(out, int(length))
    elif center:
        out = out[:, :out.shape[-1] - n_fft // 2]
    return out.reshape(*leading, out.shape[-1])


def _fit(signals: np.ndarray, length: int) -> np.ndarray:
    if signals.shape[-1] >= length:
        return signals[:, :length]
    return np.pad(signals, ((0, 0), (0, length - signals.shape[-1])))


def power_to_db(S: np.ndarray, ref: float | Callable[[np.ndarray], float] = 1.0, amin: float = 1e-10,
                top_db: float | None = 80.0) -> np.ndarray:
    """Power to decibels: `10 log10(max(S, amin) / ref)`, floored at `max - top_db` (as `librosa.power_to_db`).

    Args:
        S: non-negative power values (any shape).
        ref: the 0 dB reference, or a function of S giving it (e.g. `np.max`).
    Returns:
        float32 dB values, same shape.
    """
    power = np.asarray(S, dtype=np.float32)
    if amin <= 0:
        raise ValueError("amin must be strictly positive")
    reference = ref(power) if callable(ref) else ref
    decibels = 10.0 * np.log10(np.maximum(amin, power))
    decibels -= np.float32(10.0 * np.log10(max(amin, float(np.abs(reference)))))
    if top_db is not None:
        if top_db < 0:
            raise ValueError("top_db must be non-negative")
        np.maximum(decibels, decibels.max() - top_db, out=decibels)
    return decibels
