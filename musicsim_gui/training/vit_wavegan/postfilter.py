"""Fitting the per-instrument post-processing filter of trained WaveGAN heads by spectral matching.

Donahue et al. suggest a long FIR "post-processing filter" after the generator to remove the tonal artifacts
that stride-4 transposed convolutions leave at fixed frequencies (fs/4, fs/16, …). Here it is fitted after
training instead of learned:
1. Average power spectra (Hann, `taps + 1` points) of real target windows and of the heads' outputs for the
   same references, per instrument, over `batches × batch` training windows (same-song pairing, random z).
2. The magnitude correction `sqrt(P_real / P_generated)` in dB is smoothed over 5 bins and clipped to
   [−40 dB, +12 dB], so artifact lines are cut and the average spectral tilt matches the training stems.
3. A zero-phase (linear-phase after centring) FIR of `taps` taps is made from it by an inverse real FFT and a
   Hann window, and stored in the heads as a fixed grouped convolution (exported with them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch  # noqa: TID253 (training-only module, imported lazily by its users)

from musicsim_gui.generation.vit_wavegan.config import ModelConfig
from musicsim_gui.generation.vit_wavegan.model import ViTWaveGAN
from musicsim_gui.generation.vit_wavegan.wavegan import tempo_feature
from musicsim_gui.training.vit_wavegan import dataset


def prepared_songs(run: Path, limit: int = 40) -> list[dataset.Song]:
    """Training songs cached in `RUN/prepared/train-*/` (at most `limit`)."""
    paths = sorted((Path(run) / "prepared").glob("train-*/*.npz"))[:limit]
    return [dataset._load(path) for path in paths]


def _power(audio: np.ndarray, n_fft: int) -> np.ndarray:
    """`[B, H, T]` → mean power spectrum `[H, n_fft // 2 + 1]` over examples and Hann frames (hop n_fft / 2)."""
    hop = n_fft // 2
    frames = 1 + (audio.shape[-1] - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    windowed = audio[..., index] * np.hanning(n_fft)
    return (np.abs(np.fft.rfft(windowed, axis=-1)) ** 2).mean(axis=(0, 2))


def average_spectra(model: ViTWaveGAN, songs: list[dataset.Song], n_fft: int, batches: int = 8, batch: int = 8,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean power spectra `[H, n_fft // 2 + 1]` of real target windows and of generated windows."""
    config, rng = model.config, np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    real, fake = [], []
    for _ in range(batches):
        data = dataset.sample_batch(songs, batch, config.head.window, config.features, "same-song", rng)
        z = torch.randn(batch, len(config.instruments), config.head.latent, generator=generator)
        tempo = tempo_feature(torch.from_numpy(data["tempo"]), model.window_seconds)
        with torch.no_grad():
            audio = model(torch.from_numpy(data["mel"]), tempo, z).numpy()
        real.append(_power(data["target"], n_fft))
        fake.append(_power(audio, n_fft))
    return np.mean(real, axis=0), np.mean(fake, axis=0)


def design_filters(real: np.ndarray, fake: np.ndarray, taps: int, max_boost_db: float = 12.0,
                   max_cut_db: float = 40.0) -> np.ndarray:
    """Per-instrument linear-phase FIR `[H, taps]` whose magnitude is the smoothed, clipped sqrt(real / fake)."""
    floor = 1e-10
    gain_db = 10.0 * np.log10((real + floor) / (fake + floor))
    kernel = np.ones(5) / 5.0
    gain_db = np.stack([np.convolve(np.pad(row, 2, mode="edge"), kernel, mode="valid") for row in gain_db])
    magnitude = 10.0 ** (np.clip(gain_db, -max_cut_db, max_boost_db) / 20.0)
    impulse = np.fft.irfft(magnitude, axis=-1)
    centred = np.roll(impulse, taps // 2, axis=-1)[:, :taps]
    return (centred * np.hanning(taps + 2)[1:-1]).astype(np.float32)


def with_post_filter(model: ViTWaveGAN, filters: np.ndarray) -> ViTWaveGAN:
    """A copy of `model` whose heads end with the FIR `filters [H, taps]`."""
    config = ModelConfig.from_dict({**model.config.to_dict(),
                                    "head": {**model.config.to_dict()["head"], "post_filter": filters.shape[1]}})
    filtered = ViTWaveGAN(config)
    state = {k: v for k, v in model.state_dict().items() if k != "heads.post_filter"}
    state["heads.post_filter"] = torch.from_numpy(filters[:, np.newaxis, :].copy())
    filtered.load_state_dict(state)
    return filtered.eval()


def fit_post_filter(model: ViTWaveGAN, songs: list[dataset.Song], taps: int = 511) -> ViTWaveGAN:
    """Fit (see module docstring) and attach the post-processing filter; the input model is unchanged."""
    if taps % 2 == 0:
        raise ValueError("the post-processing filter needs an odd number of taps")
    base = model
    if model.config.head.post_filter:
        identity = np.zeros((len(model.config.instruments), model.config.head.post_filter), np.float32)
        identity[:, model.config.head.post_filter // 2] = 1.0
        base = with_post_filter(model, identity)
    real, fake = average_spectra(base, songs, n_fft=taps + 1)
    return with_post_filter(model, design_filters(real, fake, taps))
