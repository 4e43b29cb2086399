"""ViT+WaveGAN model configurations: `paper`, `small` and `debug`, as plain dataclasses (JSON round-trip).

Sizes:
- `paper`: the MuSiC paper's sizes — ViT-B/16 (768 wide, 12 layers, 12 heads) over a 224×224 log-mel image and
  Donahue et al.'s WaveGAN (model size d=64, 5 transposed convolutions, 16,384 samples at 16 kHz).
- `small`: what the shipped default is trained with on a CPU: a 4-layer, 128-wide ViT over a 64×256 mel image
  and WaveGAN heads with d=12 (the paper's 5-layer, stride-4, kernel-25 shape with 28× fewer FLOPs per
  sample) starting from 24 positions: 24,576 samples = 2.05 s at 12 kHz (content up to 6 kHz), long enough
  for a 2-beat loop from 59 BPM and a whole 4/4 bar from 117 BPM.
- `debug`: random-weight toy sizes for tests (4,096-sample windows).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from musicsim_gui.core.instruments import INSTRUMENTS


@dataclass(frozen=True)
class FeatureConfig:
    """How a reference becomes the encoder's log-mel image `[1, n_mels, frames]`.

    The reference is resampled to `sample_rate` mono; a `chunk_seconds` chunk (zero-padded) gives a mel
    spectrogram with `n_fft`/`hop_length`, resized along time to `frames` columns.
    """

    sample_rate: int = 16000
    chunk_seconds: float = 30.0
    n_fft: int = 1024
    hop_length: int = 512
    n_mels: int = 64
    frames: int = 256


@dataclass(frozen=True)
class ViTConfig:
    """Vision transformer over the mel image: `patch` = (mel bins, frames) per token."""

    patch: tuple[int, int] = (8, 16)
    dim: int = 128
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 4.0
    embedding: int = 128


@dataclass(frozen=True)
class HeadConfig:
    """WaveGAN generator head: `start * 4**layers` output samples, channels `16*d ... d` (Donahue et al.: start 16)."""

    model_size: int = 16
    start: int = 16
    layers: int = 5
    kernel: int = 25
    latent: int = 32
    phase_shuffle: int = 2
    post_filter: int = 0
    """Taps of the per-instrument FIR post-processing filter after the tanh (0 = none; odd, linear phase)."""

    @property
    def window(self) -> int:
        """Output samples per head call."""
        return self.start * 4**self.layers


@dataclass(frozen=True)
class ModelConfig:
    """A whole ViT+WaveGAN: features, encoder, heads (one per instrument)."""

    name: str = "small"
    features: FeatureConfig = field(default_factory=FeatureConfig)
    vit: ViTConfig = field(default_factory=ViTConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    instruments: tuple[str, ...] = INSTRUMENTS

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        vit = dict(data["vit"])
        vit["patch"] = tuple(vit["patch"])
        return cls(name=data["name"], features=FeatureConfig(**data["features"]), vit=ViTConfig(**vit),
                   head=HeadConfig(**data["head"]), instruments=tuple(data["instruments"]))


CONFIGS: dict[str, ModelConfig] = {
    "paper": ModelConfig(
        name="paper",
        features=FeatureConfig(n_fft=2048, hop_length=512, n_mels=224, frames=224),
        vit=ViTConfig(patch=(16, 16), dim=768, depth=12, heads=12, mlp_ratio=4.0, embedding=768),
        head=HeadConfig(model_size=64, layers=5, latent=100),
    ),
    "small": ModelConfig(
        name="small",
        features=FeatureConfig(sample_rate=12000, n_fft=1024, hop_length=384, n_mels=64, frames=256),
        head=HeadConfig(model_size=12, start=24, layers=5, latent=32),
    ),
    "debug": ModelConfig(
        name="debug",
        features=FeatureConfig(n_fft=512, hop_length=256, n_mels=32, frames=64),
        vit=ViTConfig(patch=(8, 8), dim=32, depth=1, heads=2, mlp_ratio=2.0, embedding=16),
        head=HeadConfig(model_size=4, layers=4, latent=8),
    ),
}


def get_config(name: str) -> ModelConfig:
    """The named configuration; ValueError lists the choices."""
    if name not in CONFIGS:
        raise ValueError(f"unknown ViT+WaveGAN config {name!r}; choose from {', '.join(CONFIGS)}")
    return CONFIGS[name]
