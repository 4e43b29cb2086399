"""`MaskNetConfig`: the sizes of the built-in mask network and its STFT, and the band layout it uses.

Kept free of torch so the ONNX path (and the manifest) can describe the model without importing it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from musicsim_gui.core.instruments import INSTRUMENTS

FAMILY = "masknet"
"""The manifest family of this network's model folders."""


@dataclass(frozen=True)
class MaskNetConfig:
    """Hyper-parameters of the mask network.

    Attributes:
        sample_rate: Hz; audio at other rates is resampled to it.
        n_fft / hop: STFT size and hop in samples (bins = n_fft // 2 + 1).
        full_bins: bins below this index are modelled one by one; above it bins are grouped into bands
            whose width grows by `band_growth` per band (roughly constant-Q).
        band_growth: relative width increase from one band to the next.
        hidden: channels of the temporal convolution stack.
        blocks: residual dilated-convolution blocks; dilations cycle through 1, 2, 4, 8.
        kernel: temporal kernel size (frames).
        stems: output stems, in mask order.
        stereo_cue: the network also reads the other channel (input `partner`) and sees, per band, the level
            difference between the channel it separates and the other one: instruments panned apart (the
            corpus pans "other" voices 8-30 steps off centre, piano within 12, bass and drums in the middle)
            are then told apart by where they sit as well as by how they sound.
        decoder_hidden: units of a nonlinear decoder branch beside the linear one (0 = none): an MLP from
            the same inputs (context features and the frame's log bands) whose output is added to the
            linear decoder's logits, so masks are no longer a linear read-out of the context features.
        local_channels: channels of the band-resolved path (0 = none): a small convolution network over the
            (band × frame) image of log bands and inter-channel level differences, told the frame's context
            features, whose per-band logits add to the decoder's (see `masknet.py`, item 7).
        local_layers: residual convolution layers inside the band-resolved path, each twice as long in time
            as the one before; they start at zero, so weights without them start the network unchanged.
        song_context: a summary of the whole input (the time average of the context features and of the
            normalised log bands) is mapped to one logit offset per stem and band, added at every frame: what
            the rest of the song sounds like (which instruments play, in which register) shifts each frame's
            decision, as a per-song prior would. Starts at zero (see `masknet.py`, item 8).
    """

    sample_rate: int = 44100
    n_fft: int = 4096
    hop: int = 1024
    full_bins: int = 384
    band_growth: float = 0.06
    hidden: int = 192
    blocks: int = 6
    kernel: int = 5
    stems: tuple[str, ...] = INSTRUMENTS
    stereo_cue: bool = False
    decoder_hidden: int = 0
    local_channels: int = 0
    local_layers: int = 0
    song_context: bool = False

    @property
    def bins(self) -> int:
        return self.n_fft // 2 + 1

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stems"] = list(self.stems)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MaskNetConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "stems" in values:
            values["stems"] = tuple(values["stems"])
        return cls(**values)


def band_index(config: MaskNetConfig) -> np.ndarray:
    """int64 `[bins]`: the band each STFT bin belongs to (bands are contiguous, numbered from 0)."""
    index = np.empty(config.bins, dtype=np.int64)
    index[: config.full_bins] = np.arange(config.full_bins)
    band, start = config.full_bins, config.full_bins
    while start < config.bins:
        width = max(1, int(round(start * config.band_growth)))
        index[start:start + width] = band
        band, start = band + 1, start + width
    return index


def band_pooling(config: MaskNetConfig) -> np.ndarray:
    """float32 `[bins, bands]`: averages the bins of each band (columns sum to 1)."""
    index = band_index(config)
    pool = np.zeros((config.bins, int(index.max()) + 1), dtype=np.float32)
    pool[np.arange(config.bins), index] = 1.0
    return pool / pool.sum(axis=0, keepdims=True)


def partner_channels(magnitude: np.ndarray) -> np.ndarray:
    """The `partner` input of a stereo-cue network for channels `[C, ...]`: for a stereo pair each channel's
    other one; for mono (or more than two channels) the mean of all, which reads as a centred source."""
    if magnitude.shape[0] == 2:
        return np.ascontiguousarray(magnitude[::-1])
    return np.broadcast_to(magnitude.mean(axis=0, keepdims=True), magnitude.shape).copy()


def input_names(config: MaskNetConfig) -> tuple[str, ...]:
    """The graph's inputs: `magnitude`, and `partner` (the other channel) for a stereo-cue network."""
    return ("magnitude", "partner") if config.stereo_cue else ("magnitude",)
