"""Offline mixing and export: render tracks through the playback kernel, then write a file.

Architecture:
1. `render_mix` brings every source to one sample rate and at most two channels, resolves the channel
   strips once, then calls `mixkernel.mix_block` block after block, exactly as the real-time engine does,
   so an exported mix equals what was heard.
2. `export_clip` resamples to the export rate, optionally normalises (sample peak, or integrated
   loudness with the peak kept at or below the peak ceiling), and writes WAV/FLAC atomically through
   `io.save_audio` (TPDF dither at 16 bits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.dsp import resample, to_channels
from musicsim_gui.audio.io import save_audio
from musicsim_gui.audio.loudness import normalize_loudness, normalize_peak, peak_dbfs
from musicsim_gui.audio.mixkernel import OUTPUT_CHANNELS, ChannelStrip, MixScratch, mix_block, resolve_gains
from musicsim_gui.core.errors import MusicSimError

RENDER_BLOCK_FRAMES = 65536
BIT_DEPTHS = (16, 24, 32)
NORMALIZE_MODES = (None, "peak", "lufs")


@dataclass(frozen=True)
class ExportSettings:
    """How a mix or stem is written.

    Attributes:
        bit_depth: 16 (TPDF-dithered PCM), 24 (PCM) or 32 (float; WAV only).
        sample_rate: output rate in Hz (e.g. 44100 or 48000); None keeps the source rate.
        normalize: None, "peak" (sample peak to `peak_dbfs`) or "lufs" (integrated loudness to `lufs`,
            then lowered if needed so the peak does not exceed `peak_dbfs`).
        peak_dbfs: peak target or ceiling in dBFS.
        lufs: loudness target in LUFS.
        dither: TPDF dither when writing 16 bits.
    """

    bit_depth: int = 24
    sample_rate: int | None = None
    normalize: str | None = None
    peak_dbfs: float = -1.0
    lufs: float = -14.0
    dither: bool = True

    def __post_init__(self) -> None:
        if self.bit_depth not in BIT_DEPTHS:
            raise MusicSimError(f"Unsupported bit depth {self.bit_depth}: choose 16, 24 or 32.")
        if self.normalize not in NORMALIZE_MODES:
            raise MusicSimError(f"Unknown normalisation '{self.normalize}': choose peak or lufs.")
        if self.sample_rate is not None and int(self.sample_rate) <= 0:
            raise MusicSimError(f"Invalid export sample rate {self.sample_rate}.")


def _prepare(source: AudioClip, rate: int) -> np.ndarray:
    """A source as float32 `[1 or 2, T]` at `rate` (more channels are folded to stereo)."""
    clip = to_channels(source, OUTPUT_CHANNELS) if source.channels > OUTPUT_CHANNELS else source
    return resample(clip, rate).samples


def render_mix(sources: Sequence[AudioClip], strips: Sequence[ChannelStrip], master_gain_db: float = 0.0,
               sample_rate: int | None = None, block_frames: int = RENDER_BLOCK_FRAMES) -> AudioClip:
    """Mix `sources` with their channel strips into one stereo clip.

    Args:
        sources: one clip per track, any rates and channel counts (mono feeds both sides).
        strips: one ChannelStrip per source (gain dB, pan, mute, solo).
        sample_rate: output rate in Hz; None uses the first source's rate.
    Returns:
        float32 stereo AudioClip `[2, T]`, T the longest source's length at the output rate.
    """
    if len(sources) != len(strips):
        raise ValueError(f"{len(sources)} sources but {len(strips)} channel strips")
    if not sources:
        raise ValueError("nothing to mix: no sources")
    rate = int(sample_rate or sources[0].sample_rate)
    arrays = [_prepare(source, rate) for source in sources]
    gains = resolve_gains(strips, master_gain_db)
    total = max(array.shape[1] for array in arrays)
    result = np.empty((OUTPUT_CHANNELS, total), dtype=np.float32)
    block = np.empty((block_frames, OUTPUT_CHANNELS), dtype=np.float32)
    scratch = MixScratch(block_frames)
    position = 0
    while position < total:
        count = min(block_frames, total - position)
        mix_block(block[:count], arrays, gains, position, scratch)
        result[:, position:position + count] = block[:count].T
        position += count
    return AudioClip(result, rate, source="mix")


def _normalized(clip: AudioClip, settings: ExportSettings) -> AudioClip:
    if settings.normalize == "peak":
        return normalize_peak(clip, settings.peak_dbfs)
    if settings.normalize == "lufs":
        clip = normalize_loudness(clip, settings.lufs)
        if peak_dbfs(clip) > settings.peak_dbfs:
            clip = normalize_peak(clip, settings.peak_dbfs)
    return clip


def export_clip(clip: AudioClip, path: str | Path, settings: ExportSettings | None = None) -> Path:
    """Resample, normalise and write `clip` to `path` (WAV, or FLAC by suffix) atomically.

    Returns:
        The written path.
    Raises:
        AudioFileError: the format cannot hold the settings (e.g. 32-bit FLAC) or the write failed.
    """
    settings = settings or ExportSettings()
    if settings.sample_rate:
        clip = resample(clip, int(settings.sample_rate))
    clip = _normalized(clip, settings)
    return save_audio(path, clip, bit_depth=settings.bit_depth, dither=settings.dither)
