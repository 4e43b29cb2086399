"""Mask-based separation shared by every spectrogram-mask separator (the built-in network and DSP).

Architecture (per clip):
1. Resample to the separator's rate, keeping all channels (masks are estimated per channel).
2. Cut into overlapping chunks (`chunking.overlap_add`); per chunk: STFT → magnitude → `mask_fn` →
   masked complex spectra (with `wiener`, refined by the multichannel Wiener filter, `wiener.py`) →
   iSTFT. Masks that sum to 1 over stems give stems that sum to the mix.
3. Resample each stem back to the clip's rate and exact length; the resampling residual goes to the
   last stem, so the stems always sum to the input.

A separator whose masks depend on the whole song (`SongMasks`) is run by `separate_song` in passes over the
same chunks: it first hears every chunk's magnitude (the network's one pass); with `wiener`, a second pass
fits each stem's spatial image to the whole song's masks (`wiener.SpatialImages`); the last pass filters
each chunk (with those images) and inverts it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import CancelledError
from musicsim_gui.separation.chunking import CancelFn, ProgressFn, chunk_spans, overlap_add
from musicsim_gui.separation.resample import resample_samples
from musicsim_gui.separation.stft import istft, stft
from musicsim_gui.separation.wiener import SpatialImages, wiener_refine

MaskFn = Callable[[np.ndarray], np.ndarray]
"""magnitude float32 `[C, F, T]` → masks float32 `[C, S, F, T]`."""
PASS_SHARES = {"listening": 0.6, "stereo images": 0.15, "filtering": 0.25}
"""Parts of the progress bar `separate_song`'s passes take (the first runs the network)."""


class SongMasks(Protocol):
    """Masks that depend on the whole song. `hear` is given every chunk's magnitude float32 `[C, F, T]`, in
    order, before any masks are asked for; `masks(index)` then gives chunk `index`'s masks `[C, S, F, T]`, and
    may be asked for them more than once."""

    def hear(self, magnitude: np.ndarray) -> None: ...

    def masks(self, index: int) -> np.ndarray: ...


@dataclass(frozen=True)
class MaskSettings:
    """STFT and chunking of a mask separator: rate in Hz, STFT sizes in samples, chunks in seconds."""

    sample_rate: int
    n_fft: int
    hop: int
    stems: tuple[str, ...]
    chunk_seconds: float = 20.0
    overlap_seconds: float = 1.0
    wiener: bool = False
    power_exponents: tuple[float, ...] | None = None
    """With `wiener`: each stem's exponent of its power estimate (`wiener.wiener_refine`); None: all 1."""


def apply_masks(samples: np.ndarray, mask_fn: MaskFn, settings: MaskSettings) -> dict[str, np.ndarray]:
    """One chunk: `[C, n]` at the model rate → `{stem: [C, n]}`."""
    spec = stft(samples, settings.n_fft, settings.hop)                    # [C, F, T]
    return _masked_stems(samples.shape[-1], spec, mask_fn(np.abs(spec)), settings)


def _masked_stems(length: int, spec: np.ndarray, masks: np.ndarray, settings: MaskSettings,
                  images: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Stems `{stem: [C, length]}` of one chunk's spectrum `[C, F, T]` and masks `[C, S, F, T]` (Wiener-filtered
    with the song's spatial `images` when given, else with the chunk's own)."""
    if settings.wiener:
        estimates = wiener_refine(spec, masks.transpose(1, 0, 2, 3), images=images,
                                  exponents=settings.power_exponents).transpose(1, 0, 2, 3)
    else:
        estimates = masks * spec[:, None]                                  # [C, S, F, T]
    stems = istft(estimates, length, settings.n_fft, settings.hop)         # [C, S, n]
    return {name: stems[:, index] for index, name in enumerate(settings.stems)}


def hear_song(clip: AudioClip, song: SongMasks, settings: MaskSettings) -> int:
    """Let `song` hear every chunk of `clip` (the first pass of `separate_song`); returns the number of chunks."""
    samples = resample_samples(clip.samples, clip.sample_rate, settings.sample_rate)
    spans = _spans(samples, settings)
    for _index, spec in _chunk_spectra(samples, spans, settings):
        song.hear(np.abs(spec))
    return len(spans)


def separate_song(clip: AudioClip, song: SongMasks, settings: MaskSettings, progress: ProgressFn | None = None,
                  cancel: CancelFn | None = None) -> dict[str, AudioClip]:
    """Separate `clip` with masks that depend on the whole song (module docstring); as `separate_with_masks`.
    CancelledError if `cancel()` turns true between chunks of any pass."""
    samples = resample_samples(clip.samples, clip.sample_rate, settings.sample_rate)
    spans = _spans(samples, settings)
    for _index, spec in _chunk_spectra(samples, spans, settings, "listening", 0.0, progress, cancel):
        song.hear(np.abs(spec))
    done = PASS_SHARES["listening"]
    images = None
    if settings.wiener and samples.shape[0] == 2:
        spatial = SpatialImages(settings.power_exponents)
        for index, spec in _chunk_spectra(samples, spans, settings, "stereo images", done, progress, cancel):
            spatial.add(spec, song.masks(index).transpose(1, 0, 2, 3))
        images = spatial.images()
    done += PASS_SHARES["stereo images"]
    order = iter(range(len(spans)))

    def filtered(part: np.ndarray) -> dict[str, np.ndarray]:
        spec = stft(part, settings.n_fft, settings.hop)
        return _masked_stems(part.shape[-1], spec, song.masks(next(order)), settings, images)

    def report(fraction: float, message: str) -> None:
        progress(done + (1.0 - done) * fraction, f"filtering: {message}")

    overlap = int(settings.overlap_seconds * settings.sample_rate)
    outputs = overlap_add(samples, filtered, int(settings.chunk_seconds * settings.sample_rate), overlap,
                          report if progress is not None else None, cancel)
    return _to_clip(clip, outputs, settings)


def _spans(samples: np.ndarray, settings: MaskSettings) -> list[tuple[int, int]]:
    """The chunks of `samples` `[C, n]` (model rate), as `overlap_add` cuts them."""
    return chunk_spans(samples.shape[-1], int(settings.chunk_seconds * settings.sample_rate),
                       int(settings.overlap_seconds * settings.sample_rate))


def _chunk_spectra(samples: np.ndarray, spans: list[tuple[int, int]], settings: MaskSettings, name: str = "",
                   done: float = 0.0, progress: ProgressFn | None = None, cancel: CancelFn | None = None):
    """Each chunk's (index, spectrum `[C, F, T]`); checks `cancel` before and reports pass `name`'s progress
    (after `done` of the bar) after each."""
    for index, (start, stop) in enumerate(spans):
        if cancel is not None and cancel():
            raise CancelledError("the separation")
        yield index, stft(samples[:, start:stop], settings.n_fft, settings.hop)
        if progress is not None:
            progress(done + PASS_SHARES[name] * (index + 1) / len(spans), f"{name}: chunk {index + 1} of {len(spans)}")


def separate_with_masks(clip: AudioClip, mask_fn: MaskFn, settings: MaskSettings,
                        progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> dict[str, AudioClip]:
    """Separate `clip` with `mask_fn` chunk by chunk; stems at the clip's rate, channels and length."""
    samples = resample_samples(clip.samples, clip.sample_rate, settings.sample_rate)
    chunk = int(settings.chunk_seconds * settings.sample_rate)
    overlap = int(settings.overlap_seconds * settings.sample_rate)
    outputs = overlap_add(samples, lambda part: apply_masks(part, mask_fn, settings), chunk, overlap,
                          progress, cancel)
    return _to_clip(clip, outputs, settings)


def _to_clip(clip: AudioClip, outputs: dict[str, np.ndarray], settings: MaskSettings) -> dict[str, AudioClip]:
    """Stems at the model rate `{stem: [C, n]}` → clips at `clip`'s rate and exact length, summing to it."""
    back = {name: resample_samples(outputs[name], settings.sample_rate, clip.sample_rate, clip.frames)
            for name in settings.stems}
    if clip.sample_rate != settings.sample_rate:
        # What resampling could not carry (e.g. above the model's Nyquist) goes to the last stem ("other"),
        # so the stems still add up to the input.
        back[settings.stems[-1]] += clip.samples - sum(back.values())
    source = f"{clip.source} ({{}})" if clip.source else "{}"
    return {name: AudioClip(back[name], clip.sample_rate, source.format(name)) for name in settings.stems}
