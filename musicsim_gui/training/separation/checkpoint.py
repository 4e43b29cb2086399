"""Resumable checkpoints in safe formats: model and optimizer tensors in safetensors, the rest in JSON.

`<run>/checkpoint.safetensors` holds `model.<name>` and `optim.<param index>.<key>` tensors, and
`average.<name>` for a run that keeps a weight average (`averaging.py`); its metadata holds the JSON state
(step, best score, configs, optimizer hyper-parameters). `best.safetensors` holds only the model weights of
the best validation score (the average's, where there is one). Both are written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from musicsim_gui.core.atomic import atomic_path
from musicsim_gui.core.errors import ModelError

CHECKPOINT = "checkpoint.safetensors"
BEST = "best.safetensors"
AVERAGE_PREFIX = "average."


def _optimizer_tensors(optimizer: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    import torch

    state = optimizer.state_dict()
    tensors: dict[str, Any] = {}
    scalars: dict[str, Any] = {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optim.{index}.{key}"] = value.detach().clone().contiguous().cpu()
            else:
                scalars[f"{index}.{key}"] = value
    groups = [dict(group, _scalars=scalars) if i == 0 else group for i, group in enumerate(state["param_groups"])]
    return tensors, groups


def save_weights(path: Path, model: Any, metadata: dict[str, str] | None = None) -> None:
    """Write the model's state dict as safetensors (atomic)."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def save_checkpoint(run_dir: Path, model: Any, optimizer: Any, state: dict[str, Any],
                    average: dict[str, Any] | None = None) -> Path:
    """Write model + optimizer + `state` (JSON-able), and the weight average's state dict when given, to
    `run_dir/checkpoint.safetensors`."""
    from safetensors.torch import save_file

    tensors, groups = _optimizer_tensors(optimizer)
    tensors.update({f"model.{k}": v.detach().contiguous().cpu() for k, v in model.state_dict().items()})
    tensors.update({f"{AVERAGE_PREFIX}{k}": v.detach().contiguous().cpu() for k, v in (average or {}).items()})
    meta = {"state": json.dumps(state), "param_groups": json.dumps(groups)}
    path = run_dir / CHECKPOINT
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def checkpoint_state(run_dir: Path) -> dict[str, Any]:
    """The JSON state saved with `run_dir`'s checkpoint (step, scores, ...), without loading its tensors."""
    from safetensors import safe_open

    path = run_dir / CHECKPOINT
    try:
        with safe_open(str(path), framework="pt") as handle:
            return json.loads(handle.metadata()["state"])
    except Exception as error:  # safetensors raises its own types for corrupt headers
        raise ModelError(f"{path}: cannot read the checkpoint ({error})") from error


def load_checkpoint(run_dir: Path, model: Any, optimizer: Any, average: Any = None) -> dict[str, Any]:
    """Restore model and optimizer (and `average`, a `WeightAverage`, from the saved average; from the model's
    weights if the run kept none so far) from `run_dir`; returns the saved state dict."""
    from safetensors import safe_open

    path = run_dir / CHECKPOINT
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata()
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as error:  # safetensors raises its own types for corrupt headers
        raise ModelError(f"{path}: cannot read the checkpoint ({error})") from error
    try:
        model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    except RuntimeError as error:
        first = str(error).strip().splitlines()[-1].strip()
        raise ModelError(f"{path}: this run was started with another network ({first}); resume it with the "
                         f"settings in {run_dir / 'config.json'} (e.g. --stereo-cue) or use a new run folder") from error
    if average is not None:
        saved = {k[len(AVERAGE_PREFIX):]: v for k, v in tensors.items() if k.startswith(AVERAGE_PREFIX)}
        average.load_state_dict(saved or model.state_dict())
    groups = json.loads(meta["param_groups"])
    scalars = groups[0].pop("_scalars", {})
    optim_state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            optim_state.setdefault(int(index), {})[name] = value
    for key, value in scalars.items():
        index, name = key.split(".", 1)
        optim_state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": optim_state, "param_groups": groups})
    return json.loads(meta["state"])
