"""What the lanes draw and the engine plays, prepared off the GUI thread from audio files.

`load_lane_media(path, rate)` decodes a take or stem, converts it to the playback rate and builds its peak
pyramid; `load_reference_media(path, rate)` also computes the mel spectrogram image. Both are plain
functions, run by `BackgroundWork`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.gui.timefmt import hz_label

N_MELS = 128
N_FFT = 2048
HOP = 512
TICK_HZ = (200, 500, 1000, 2000, 5000, 10000, 20000)


@dataclass(frozen=True)
class LaneMedia:
    """One file ready for a lane and the engine.

    Attributes:
        path: the file it came from.
        clip: the audio at the playback rate `[C, T]`.
        pyramid: its `PeakPyramid`.
        original_rate: the file's own sample rate, Hz.
    """

    path: Path
    clip: AudioClip
    pyramid: object
    original_rate: int


@dataclass(frozen=True)
class ReferenceMedia:
    """The reference song ready for the reference lane.

    Attributes:
        lane: the waveform and playback part.
        decibels: float32 `[n_mels, frames]` mel power in dB relative to the loudest bin, in [-80, 0].
        hz_ticks: (mel-bin position, label) pairs for the frequency axis.
    """

    lane: LaneMedia
    decibels: np.ndarray
    hz_ticks: list[tuple[float, str]]


def load_lane_media(path: Path, rate: int) -> LaneMedia:
    """Decode `path`, convert it to `rate` Hz and build its peak pyramid."""
    from musicsim_gui.audio.dsp import resample
    from musicsim_gui.audio.peaks import PeakPyramid
    from musicsim_gui.audio.project_render import load_cached

    clip = load_cached(Path(path))
    played = clip if clip.sample_rate == rate else resample(clip, rate)
    return LaneMedia(Path(path), played, PeakPyramid(played.samples), clip.sample_rate)


def mel_image(clip: AudioClip) -> tuple[np.ndarray, list[tuple[float, str]]]:
    """The mel spectrogram of `clip` (mono mix) in dB `[N_MELS, frames]` and its Hz tick positions."""
    from musicsim_gui.audio.spectral import hz_to_mel, melspectrogram, power_to_db

    fmax = clip.sample_rate / 2
    power = melspectrogram(clip.samples.mean(axis=0), clip.sample_rate, n_fft=N_FFT, hop_length=HOP,
                           n_mels=N_MELS, fmax=fmax)
    decibels = power_to_db(power, ref=float(max(power.max(), 1e-10)), top_db=80.0)
    top = float(hz_to_mel(fmax))
    ticks = [(float(hz_to_mel(hz)) / top * N_MELS, hz_label(hz)) for hz in TICK_HZ if hz < fmax]
    return np.ascontiguousarray(decibels, dtype=np.float32), ticks


def load_reference_media(path: Path, rate: int) -> ReferenceMedia:
    """Everything the reference lane needs from the reference file."""
    lane = load_lane_media(path, rate)
    from musicsim_gui.audio.project_render import load_cached

    decibels, ticks = mel_image(load_cached(Path(path)))
    return ReferenceMedia(lane, decibels, ticks)
