"""`AudioClip`: a block of audio in memory, float32 `[channels, frames]` at a known sample rate.

Every layer passes audio as an AudioClip: loaders return it, separators and generators take and return
it, the mixer renders one. It is immutable by convention: operations return new clips.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class AudioClip:
    """Audio samples `[channels, frames]` (float32, nominally in [-1, 1]) at `sample_rate` Hz.

    Attributes:
        samples: float32 array `[channels, frames]`, C-contiguous.
        sample_rate: samples per second per channel.
        source: where the audio came from (a file path or a description), for messages; may be empty.
    """

    samples: np.ndarray
    sample_rate: int
    source: str = ""

    def __post_init__(self) -> None:
        samples = np.ascontiguousarray(self.samples, dtype=np.float32)
        if samples.ndim == 1:
            samples = samples[np.newaxis, :]
        if samples.ndim != 2:
            raise ValueError(f"AudioClip samples must be [channels, frames], got shape {samples.shape}")
        if self.sample_rate <= 0:
            raise ValueError(f"AudioClip sample rate must be positive, got {self.sample_rate}")
        object.__setattr__(self, "samples", samples)
        object.__setattr__(self, "sample_rate", int(self.sample_rate))

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate

    def content_hash(self) -> str:
        """A sha256 hex digest of the sample rate, shape and samples: the key of every per-audio cache."""
        digest = hashlib.sha256()
        digest.update(f"{self.sample_rate}:{self.channels}:{self.frames}:".encode())
        digest.update(self.samples.tobytes())
        return digest.hexdigest()
