"""Safe loading of Demucs checkpoints: the legacy `.th` pickles and the safetensors + metadata files.

Architecture:
1. A `.th` file is a torch pickle of `{"klass", "args", "kwargs", "state", "training_args"}`. It is read
   with `torch.load(weights_only=True)`, which admits only tensors and plain containers, plus the model
   classes in `ALLOWED_CLASSES` and `fractions.Fraction` (HTDemucs' segment); any other global is refused.
2. A `.safetensors` file carries the same package as tensors plus JSON metadata (`klass`, `args`,
   `kwargs`; fractions encoded as `{"_type": "fraction", …}`), the layout Demucs publishes on the hub.
3. `build_model` instantiates only allow-listed classes, with the stored arguments, and loads the state.
   Quantized (diffq) states are refused with a clear message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from musicsim_gui.core.errors import ModelError

ALLOWED_CLASSES = ("demucs.htdemucs.HTDemucs", "demucs.hdemucs.HDemucs", "demucs.demucs.Demucs")


@dataclass
class Package:
    """One Demucs model as stored: its class path, constructor arguments and weights (torch tensors)."""

    klass: str
    args: list[Any]
    kwargs: dict[str, Any]
    state: dict[str, Any]


def _require_demucs() -> None:
    import importlib.util

    if importlib.util.find_spec("demucs") is None:
        raise ModelError("Demucs models need the 'demucs' package (pip install demucs==4.1.0)")


def _classes() -> dict[str, type]:
    _require_demucs()
    from demucs.demucs import Demucs
    from demucs.hdemucs import HDemucs
    from demucs.htdemucs import HTDemucs

    return {f"{c.__module__}.{c.__name__}": c for c in (HTDemucs, HDemucs, Demucs)}


def encode_json(value: Any) -> Any:
    """JSON-safe form of constructor arguments (fractions as tagged objects, tuples as lists)."""
    if isinstance(value, Fraction):
        return {"_type": "fraction", "numerator": value.numerator, "denominator": value.denominator}
    if isinstance(value, dict):
        return {str(k): encode_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_json(v) for v in value]
    return value


def decode_json(value: Any) -> Any:
    """Inverse of `encode_json`."""
    if isinstance(value, dict):
        if value.get("_type") == "fraction":
            return Fraction(value["numerator"], value["denominator"])
        return {k: decode_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_json(v) for v in value]
    return value


def _load_pickle(path: Path) -> Package:
    import pickle

    import torch

    classes = _classes()
    try:
        with torch.serialization.safe_globals([*classes.values(), Fraction]):
            data = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        found = re.search(r"unsupported (?:global: )?GLOBAL (\S+)", str(error), re.IGNORECASE)
        if found is None:
            raise ModelError(f"{path}: not a readable Demucs checkpoint (corrupt pickle)") from error
        raise ModelError(f"{path}: refused to load the checkpoint, it contains {found.group(1)}, which is "
                         "neither a Demucs model nor a tensor") from error
    except (RuntimeError, OSError, EOFError) as error:
        raise ModelError(f"{path}: not a readable Demucs checkpoint ({str(error)[:200]})") from error
    if not isinstance(data, dict) or not {"klass", "args", "kwargs", "state"} <= set(data):
        raise ModelError(f"{path}: not a Demucs model checkpoint (expected klass, args, kwargs and state)")
    klass = data["klass"]
    name = f"{klass.__module__}.{klass.__name__}" if isinstance(klass, type) else str(klass)
    return Package(name, list(data["args"]), dict(data["kwargs"]), dict(data["state"]))


def _load_safetensors(path: Path) -> Package:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()}
        if "structure" in metadata:
            raise ModelError(f"{path}: quantized Demucs models are not supported")
        return Package(metadata["klass"], decode_json(json.loads(metadata.get("args", "[]"))),
                       decode_json(json.loads(metadata.get("kwargs", "{}"))), state)
    except (KeyError, json.JSONDecodeError, OSError) as error:
        raise ModelError(f"{path}: not a Demucs safetensors model ({error})") from error
    except Exception as error:  # safetensors raises its own error type for malformed headers
        if isinstance(error, ModelError):
            raise
        raise ModelError(f"{path}: unreadable safetensors file ({error})") from error


def load_package(path: str | Path) -> Package:
    """Read a Demucs model file (`.th` or `.safetensors`) without executing any stored code."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such Demucs model file")
    package = _load_safetensors(path) if path.suffix == ".safetensors" else _load_pickle(path)
    if package.klass not in ALLOWED_CLASSES:
        raise ModelError(f"{path}: unsupported model class {package.klass!r} "
                         f"(supported: {', '.join(ALLOWED_CLASSES)})")
    if package.state.get("__quantized"):
        raise ModelError(f"{path}: quantized (diffq) Demucs models are not supported")
    return package


def build_model(package: Package, source: str | Path = "") -> Any:
    """Instantiate the allow-listed class with the stored arguments and load the weights (eval mode)."""
    import inspect

    klass = _classes().get(package.klass)
    if klass is None:
        raise ModelError(f"{source}: unsupported model class {package.klass!r}")
    known = inspect.signature(klass).parameters
    kwargs = {k: v for k, v in package.kwargs.items() if k in known}
    try:
        model = klass(*package.args, **kwargs)
        model.load_state_dict(package.state)
    except (TypeError, RuntimeError, ValueError) as error:
        raise ModelError(f"{source}: the checkpoint does not fit {package.klass} ({str(error)[:200]})") from error
    return model.eval()
