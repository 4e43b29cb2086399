"""Labelled figures of audio for people and reports: the mel spectrogram PNG behind `musicsim spectrogram`.

matplotlib is imported lazily with the non-interactive Agg backend, so nothing here needs a display.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.spectral import hz_to_mel, melspectrogram, power_to_db
from musicsim_gui.core.atomic import atomic_path

TICK_HZ = (50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000)


def _mm_ss(seconds: float, _position: object = None) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def _hz_label(hz: float) -> str:
    return f"{hz / 1000:g}k" if hz >= 1000 else f"{hz:g}"


def _draw_mel(axis, clip: AudioClip, n_mels: int, hop_length: int, title: str):
    """Draw one clip's mel spectrogram (dB) on a matplotlib axis; returns the image for a colour bar."""
    from matplotlib.ticker import FuncFormatter

    mono = clip.samples.mean(axis=0)
    fmax = clip.sample_rate / 2
    power = melspectrogram(mono, clip.sample_rate, n_fft=2048, hop_length=hop_length, n_mels=n_mels, fmax=fmax)
    decibels = power_to_db(power, ref=float(max(power.max(), 1e-10)), top_db=80.0)
    mel_top = float(hz_to_mel(fmax))
    image = axis.imshow(decibels, origin="lower", aspect="auto", cmap="magma", vmin=-80.0, vmax=0.0,
                        extent=(0.0, clip.duration, 0.0, mel_top), interpolation="nearest")
    ticks = [hz for hz in TICK_HZ if hz < fmax]
    axis.set_yticks([float(hz_to_mel(hz)) for hz in ticks], [_hz_label(hz) for hz in ticks])
    axis.xaxis.set_major_formatter(FuncFormatter(_mm_ss))
    axis.set_ylabel("Hz (mel scale)")
    axis.set_title(title, fontsize=10, loc="left")
    return image


def save_spectrogram_png(clips: Sequence[AudioClip], path: str | Path, titles: Sequence[str] | None = None,
                         n_mels: int = 128, hop_length: int = 512, width_in: float = 12.0) -> Path:
    """Render the mel spectrograms of `clips` stacked on one time axis into a PNG, written atomically.

    Args:
        clips: one or more clips; each becomes a row (e.g. a mix and its stems).
        path: the PNG to write.
        titles: a title per row (defaults to each clip's source).
        n_mels, hop_length: mel bands and hop in samples.
    Returns:
        The written path.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    titles = list(titles) if titles is not None else [Path(c.source).name or "audio" for c in clips]
    figure, axes = plt.subplots(len(clips), 1, figsize=(width_in, 2.6 * len(clips)), squeeze=False,
                                sharex=True, constrained_layout=True)
    image = None
    for axis, clip, title in zip(axes[:, 0], clips, titles, strict=True):
        image = _draw_mel(axis, clip, n_mels, hop_length, title)
    axes[-1, 0].set_xlabel("time (m:ss)")
    figure.colorbar(image, ax=axes[:, 0].tolist(), label="dB (relative to peak)", pad=0.01)
    target = Path(path)
    with atomic_path(target, suffix=".png") as tmp:
        figure.savefig(tmp, format="png", dpi=100)
    plt.close(figure)
    return target

