"""Mask-based separation shared by every spectrogram-mask separator (the built-in network and DSP).

Architecture (per clip):
1. Resample to the separator's rate, keeping all channels (masks are estimated per channel).
2. Cut into overlapping chunks (`chunking.overlap_add`); per chunk: STFT → magnitude → `mask_fn` →
   masked complex spectra (with `wiener`, refined by the multichannel Wiener filter, `wiener.py`) →
   iSTFT. Masks that sum to 1 over stems give stems that sum to the mix. A separator whose masks depend on
   the whole song passes `song_pass`: it is first given every chunk's magnitude in order (the network's
   pass over the song), and `mask_fn` is then called for the chunks in the same order.
3. Resample each stem back to the clip's rate and exact length; the resampling residual goes to the
   last stem, so the stems always sum to the input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import CancelledError
from musicsim_gui.separation.chunking import CancelFn, ProgressFn, chunk_spans, overlap_add
from musicsim_gui.separation.resample import resample_samples
from musicsim_gui.separation.stft import istft, stft
from musicsim_gui.separation.wiener import wiener_refine

MaskFn = Callable[[np.ndarray], np.ndarray]
"""magnitude float32 `[C, F, T]` → masks float32 `[C, S, F, T]`."""
SongPassFn = Callable[[np.ndarray], None]
"""Takes each chunk's magnitude float32 `[C, F, T]`, in order, before any chunk's masks are asked for."""
SONG_PASS_SHARE = 0.7
"""Part of the progress bar the song pass takes (it runs the network; the second pass filters and inverts)."""


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


def apply_masks(samples: np.ndarray, mask_fn: MaskFn, settings: MaskSettings) -> dict[str, np.ndarray]:
    """One chunk: `[C, n]` at the model rate → `{stem: [C, n]}`."""
    spec = stft(samples, settings.n_fft, settings.hop)                    # [C, F, T]
    masks = mask_fn(np.abs(spec))                                          # [C, S, F, T]
    if settings.wiener:
        estimates = wiener_refine(spec, masks.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    else:
        estimates = masks * spec[:, None]                                  # [C, S, F, T]
    stems = istft(estimates, samples.shape[-1], settings.n_fft, settings.hop)  # [C, S, n]
    return {name: stems[:, index] for index, name in enumerate(settings.stems)}


def song_pass_over_chunks(samples: np.ndarray, song_pass: SongPassFn, settings: MaskSettings,
                          progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> None:
    """Give `song_pass` the magnitude of every chunk of `samples` `[C, n]` (model rate), in the order and at the
    spans `separate_with_masks` separates them; CancelledError if `cancel()` turns true between chunks."""
    chunk = int(settings.chunk_seconds * settings.sample_rate)
    spans = chunk_spans(samples.shape[-1], chunk, int(settings.overlap_seconds * settings.sample_rate))
    for index, (start, stop) in enumerate(spans):
        if cancel is not None and cancel():
            raise CancelledError("the separation")
        song_pass(np.abs(stft(samples[:, start:stop], settings.n_fft, settings.hop)))
        if progress is not None:
            progress(SONG_PASS_SHARE * (index + 1) / len(spans), f"listening: chunk {index + 1} of {len(spans)}")


def _after_song_pass(progress: ProgressFn | None) -> ProgressFn | None:
    """`progress` for the second pass: its fractions mapped onto the part of the bar after the song pass."""
    if progress is None:
        return None

    def report(fraction: float, message: str) -> None:
        progress(SONG_PASS_SHARE + (1 - SONG_PASS_SHARE) * fraction, message)

    return report


def separate_with_masks(clip: AudioClip, mask_fn: MaskFn, settings: MaskSettings,
                        progress: ProgressFn | None = None, cancel: CancelFn | None = None,
                        song_pass: SongPassFn | None = None) -> dict[str, AudioClip]:
    """Separate `clip` with `mask_fn` chunk by chunk (after `song_pass` has heard every chunk, when given);
    stems at the clip's rate, channels and length."""
    samples = resample_samples(clip.samples, clip.sample_rate, settings.sample_rate)
    chunk = int(settings.chunk_seconds * settings.sample_rate)
    overlap = int(settings.overlap_seconds * settings.sample_rate)
    if song_pass is not None:
        song_pass_over_chunks(samples, song_pass, settings, progress, cancel)
        progress = _after_song_pass(progress)
    outputs = overlap_add(samples, lambda part: apply_masks(part, mask_fn, settings), chunk, overlap,
                          progress, cancel)
    back = {name: resample_samples(outputs[name], settings.sample_rate, clip.sample_rate, clip.frames)
            for name in settings.stems}
    if clip.sample_rate != settings.sample_rate:
        # What resampling could not carry (e.g. above the model's Nyquist) goes to the last stem ("other"),
        # so the stems still add up to the input.
        back[settings.stems[-1]] += clip.samples - sum(back.values())
    source = f"{clip.source} ({{}})" if clip.source else "{}"
    return {name: AudioClip(back[name], clip.sample_rate, source.format(name)) for name in settings.stems}
