"""Resumable training checkpoints as one safetensors file: model, critic, both optimizers, step and RNG state.

Optimizer states are flattened to `opt_<name>.<param index>.<key>` tensors; their param groups, the step, the
training settings and the NumPy generator state go into the safetensors metadata (JSON). Written atomically,
so a kill during a save leaves the previous checkpoint intact. No pickle is involved.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch  # noqa: TID253 (training-only module, imported lazily by its users)

from musicsim_gui.core.atomic import atomic_path
from musicsim_gui.core.errors import ModelError

CHECKPOINT_FILE = "checkpoint.safetensors"


def _flatten_optimizer(prefix: str, optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> list:
    state = optimizer.state_dict()
    for index, values in state["state"].items():
        for key, value in values.items():
            tensors[f"{prefix}.{index}.{key}"] = torch.as_tensor(value).detach().clone().contiguous().cpu()
    return state["param_groups"]


def _restore_optimizer(prefix: str, optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                       groups: list) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def save_checkpoint(path: Path, model, critic, optimizers: dict[str, torch.optim.Optimizer],
                    info: dict[str, Any]) -> None:
    """Write everything needed to resume; `info` (step, settings, rng) must be JSON-serialisable."""
    from safetensors.torch import save_file

    tensors = {f"model.{k}": v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    tensors.update({f"critic.{k}": v.detach().contiguous().cpu() for k, v in critic.state_dict().items()})
    groups = {name: _flatten_optimizer(f"opt_{name}", opt, tensors) for name, opt in optimizers.items()}
    metadata = {"info": json.dumps(info), "groups": json.dumps(groups),
                "config": json.dumps(model.config.to_dict())}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def load_checkpoint(path: Path, model, critic, optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, Any]:
    """Restore model, critic and optimizers in place from `path`; returns the saved `info`."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata()
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
        groups, info = json.loads(metadata["groups"]), json.loads(metadata["info"])
    except (OSError, KeyError, ValueError, SafetensorError) as error:
        raise ModelError(f"{path}: unreadable training checkpoint ({error})") from error
    if json.loads(metadata["config"]) != json.loads(json.dumps(model.config.to_dict())):
        raise ModelError(f"{path}: the checkpoint was trained with another model config")
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    critic.load_state_dict({k[7:]: v for k, v in tensors.items() if k.startswith("critic.")})
    for name, optimizer in optimizers.items():
        _restore_optimizer(f"opt_{name}", optimizer, tensors, groups[name])
    return info


def load_model_from_checkpoint(path: Path):
    """Just the generator (`ViTWaveGAN`, eval mode) from a training checkpoint."""
    from safetensors import SafetensorError, safe_open

    from musicsim_gui.generation.vit_wavegan.config import ModelConfig
    from musicsim_gui.generation.vit_wavegan.model import ViTWaveGAN

    try:
        with safe_open(str(path), framework="pt") as handle:
            config = ModelConfig.from_dict(json.loads(handle.metadata()["config"]))
            state = {k[6:]: handle.get_tensor(k) for k in handle.keys() if k.startswith("model.")}  # noqa: SIM118
    except (OSError, KeyError, ValueError, SafetensorError) as error:
        raise ModelError(f"{path}: unreadable training checkpoint ({error})") from error
    model = ViTWaveGAN(config)
    model.load_state_dict(state)
    return model.eval()
