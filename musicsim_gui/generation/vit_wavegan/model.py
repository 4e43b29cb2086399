"""The ViT+WaveGAN generator as one torch module, plus safetensors weight I/O.

`ViTWaveGAN.forward(mel [B,1,M,F], tempo [B,1], z [B,H,Z]) -> audio [B,H,T]` (float32, [-1, 1], mono at
`config.features.sample_rate`). `encode` and `heads` are exposed separately so the embedding of a reference can
be cached and one instrument re-rolled with a new z.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch  # noqa: TID253 (torch-only module, imported lazily by its users)
from torch import nn  # noqa: TID253

from musicsim_gui.core.atomic import atomic_path
from musicsim_gui.core.errors import ModelError
from musicsim_gui.generation.vit_wavegan.config import ModelConfig, get_config
from musicsim_gui.generation.vit_wavegan.vit import ViTEncoder
from musicsim_gui.generation.vit_wavegan.wavegan import WaveGANHeads


class ViTWaveGAN(nn.Module):
    """ViT encoder + one WaveGAN head per instrument (batched as grouped convolutions)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = ViTEncoder(config.vit, config.features)
        self.heads = WaveGANHeads(config.head, config.vit.embedding, len(config.instruments))

    @property
    def window_seconds(self) -> float:
        return self.config.head.window / self.config.features.sample_rate

    def forward(self, mel: torch.Tensor, tempo: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.heads(self.encoder(mel), tempo, z)


def build_model(config: ModelConfig | str, seed: int = 0) -> ViTWaveGAN:
    """A freshly initialised model (deterministic for a given seed)."""
    config = get_config(config) if isinstance(config, str) else config
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
        return ViTWaveGAN(config).eval()


def save_weights(model: ViTWaveGAN, path: Path) -> None:
    """Write the weights as safetensors with the config in the metadata (atomic)."""
    from safetensors.torch import save_file

    tensors = {name: value.detach().contiguous().cpu() for name, value in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"config": json.dumps(model.config.to_dict())})


def load_weights(path: Path) -> ViTWaveGAN:
    """A model rebuilt from a safetensors file written by `save_weights`.

    Raises:
        ModelError: missing or unreadable file, or weights that do not fit the stored config.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            config = ModelConfig.from_dict(json.loads(handle.metadata()["config"]))
            state = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (OSError, KeyError, ValueError, TypeError, SafetensorError) as error:
        raise ModelError(f"{path}: not a ViT+WaveGAN weight file ({error})") from error
    model = ViTWaveGAN(config)
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise ModelError(f"{path}: weights do not match their config ({error})") from error
    return model.eval()
