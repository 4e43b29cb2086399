"""Labelled figures of audio for people and reports: the mel spectrogram PNG behind `musicsim spectrogram`.

Architecture:
1. Every clip is down-mixed to mono and turned into a mel power spectrogram (`audio.spectral`).
2. All panels share one dB reference, the loudest mel bin of any panel, so a mix and its stems drawn
   together are comparable; the colour scale spans `TOP_DB` below it.
3. matplotlib is imported lazily with the non-interactive Agg backend, so nothing here needs a display;
   the PNG is written atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.spectral import hz_to_mel, melspectrogram, power_to_db
from musicsim_gui.core.atomic import atomic_path

TICK_HZ = (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)
TOP_DB = 80.0
N_FFT = 2048


def _mm_ss(seconds: float, _position: object = None) -> str:
    """A time-axis label: m:ss on whole seconds, m:ss.s between them (short clips)."""
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if abs(seconds - round(seconds)) < 1e-6:
        minutes, rest = divmod(int(round(seconds)), 60)
        return f"{sign}{minutes}:{rest:02d}"
    minutes, rest = divmod(round(seconds, 1), 60.0)
    return f"{sign}{int(minutes)}:{rest:04.1f}"


def _hz_label(hz: float) -> str:
    return f"{hz / 1000:g}k" if hz >= 1000 else f"{hz:g}"


def _spread_ticks(nyquist: float, mel_top: float, min_gap: float = 0.07) -> list[float]:
    """Tick frequencies up to `nyquist`, from the top down, at least `min_gap` of the mel axis apart."""
    kept: list[float] = []
    for hz in sorted((hz for hz in TICK_HZ if hz <= nyquist), reverse=True):
        if not kept or hz_to_mel(kept[-1]) - hz_to_mel(hz) >= min_gap * mel_top:
            kept.append(hz)
    return kept[::-1]


def _mel_power(clip: AudioClip, n_mels: int, hop_length: int) -> np.ndarray:
    """Mel power `[n_mels, frames]` of the clip's mono down-mix (0 to Nyquist)."""
    mono = clip.samples.mean(axis=0)
    if mono.shape[0] == 0:
        mono = np.zeros(1, dtype=np.float32)
    return melspectrogram(mono, clip.sample_rate, n_fft=N_FFT, hop_length=hop_length, n_mels=n_mels)


def _draw_mel(axis, clip: AudioClip, power: np.ndarray, reference: float, hop_length: int, title: str):
    """Draw one mel spectrogram (dB) on a matplotlib axis; returns the image for a colour bar."""
    from matplotlib.ticker import FuncFormatter

    decibels = power_to_db(power, ref=reference, top_db=None)
    nyquist = clip.sample_rate / 2
    mel_top = float(hz_to_mel(nyquist))
    frame_s = hop_length / clip.sample_rate  # frame i is centred at i * hop
    extent = (-frame_s / 2, (power.shape[1] - 0.5) * frame_s, 0.0, mel_top)
    image = axis.imshow(decibels, origin="lower", aspect="auto", cmap="magma", vmin=-TOP_DB, vmax=0.0,
                        extent=extent, interpolation="antialiased")
    ticks = _spread_ticks(nyquist, mel_top)
    axis.set_yticks([float(hz_to_mel(hz)) for hz in ticks], [_hz_label(hz) for hz in ticks])
    axis.set_xlim(0.0, max(clip.duration, frame_s))
    axis.xaxis.set_major_formatter(FuncFormatter(_mm_ss))
    axis.set_ylabel("Hz (mel scale)")
    axis.set_title(title, fontsize=10, loc="left")
    return image


def save_spectrogram_png(clips: Sequence[AudioClip], path: str | Path, titles: Sequence[str] | None = None,
                         n_mels: int = 128, hop_length: int = 512, width_in: float = 12.0,
                         title: str | None = None) -> Path:
    """Render the mel spectrograms of `clips` stacked on one time axis into a PNG, written atomically.

    Args:
        clips: one or more clips; each becomes a row (e.g. a mix and its stems).
        path: the PNG to write.
        titles: a title per row (defaults to each clip's file name).
        n_mels, hop_length: mel bands and hop in samples.
        width_in: figure width in inches (100 dpi).
        title: an optional title over the whole figure.
    Returns:
        The written path.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    if not clips:
        raise ValueError("no clips to draw")
    titles = list(titles) if titles is not None else [Path(c.source).name or "audio" for c in clips]
    powers = [_mel_power(clip, n_mels, hop_length) for clip in clips]
    loudest = max(float(power.max()) for power in powers)
    reference = loudest if loudest > 1e-10 else 1.0  # all silent: draw it dark, not at 0 dB
    figure, axes = plt.subplots(len(clips), 1, figsize=(width_in, 1.0 + 2.4 * len(clips)), squeeze=False,
                                sharex=True, layout="constrained")
    image = None
    for axis, clip, power, row_title in zip(axes[:, 0], clips, powers, titles, strict=True):
        image = _draw_mel(axis, clip, power, reference, hop_length, row_title)
    axes[-1, 0].set_xlabel("time (m:ss)")
    if title:
        figure.suptitle(title)
    figure.colorbar(image, ax=axes[:, 0].tolist(), label=f"dB (0 = loudest mel bin, {TOP_DB:g} dB range)",
                    pad=0.01)
    target = Path(path)
    try:
        with atomic_path(target, suffix=".png") as tmp:
            figure.savefig(tmp, format="png", dpi=100)
    finally:
        plt.close(figure)
    return target
