"""Installs a converted Spleeter release as a model folder: `weights.safetensors` (+ `model.onnx`) + manifest.

The folder is what the registry and `SpleeterSeparator` read: family "spleeter", task "separation",
`config` = the `SpleeterConfig`, `instruments` = Spleeter's own stem names in network order.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from musicsim_gui.core.atomic import atomic_path
from musicsim_gui.runtime.manifest import Manifest, file_sha256, write_manifest
from musicsim_gui.runtime.onnx_files import finish_onnx_file
from musicsim_gui.runtime.paths import user_models_dir
from musicsim_gui.separation.spleeter.config import SpleeterConfig, variant_name
from musicsim_gui.separation.spleeter.convert import convert_release

WEIGHTS_FILE = "weights.safetensors"
ONNX_FILE = "model.onnx"
FAMILY = "spleeter"
VERSION = "2.0"
LICENSE = "MIT (Deezer Spleeter code and released models)"


def save_weights(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """Write `tensors` as safetensors at `path`, atomically."""
    from safetensors.numpy import save_file

    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def export_onnx(tensors: dict[str, np.ndarray], config: SpleeterConfig, path: Path) -> None:
    """Export the network (`magnitude [1, 2, T, F]` → `masks`, `estimates` `[1, S, 2, T, F]`) to ONNX at `path`.

    The file's `metadata_props` carry the family, the variant and the configuration, like the manifest.
    The TorchScript exporter is used: the torch.export-based one drops the 1e-10 epsilon terms of the
    ratio masks (giving NaN on silent frames).
    """
    import warnings

    import torch

    from musicsim_gui.separation.spleeter.unet import build_spleeter

    model = build_spleeter(config, estimates=True)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
    example = torch.zeros(1, config.channels, config.T, config.F)
    with atomic_path(path) as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (example,), str(tmp), input_names=["magnitude"],
                          output_names=["masks", "estimates"],
                          opset_version=17, dynamo=False)
        finish_onnx_file(tmp, {"family": FAMILY, "variant": variant_name(config),
                               "config": json.dumps(config.to_dict())})


def install_spleeter(source: str | Path, models_dir: Path | None = None, name: str | None = None,
                     sixteen_khz: bool | None = None, onnx: bool = False, **overrides: object) -> Path:
    """Convert the release at `source` (folder or .tar.gz) into `models_dir/<name>`; returns the folder."""
    config, tensors, release = convert_release(source, sixteen_khz, **overrides)
    name = name or f"spleeter-{variant_name(config)}"
    folder = (models_dir or user_models_dir()) / name
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    for key in sorted(tensors):
        digest.update(key.encode() + tensors[key].tobytes())
    save_weights(folder / WEIGHTS_FILE, tensors, {"family": FAMILY, "variant": variant_name(config)})
    files = {WEIGHTS_FILE: file_sha256(folder / WEIGHTS_FILE)}
    if onnx:
        export_onnx(tensors, config, folder / ONNX_FILE)
        files[ONNX_FILE] = file_sha256(folder / ONNX_FILE)
    shape = [1, config.channels, config.T, config.F]
    manifest = Manifest(
        family=FAMILY, task="separation", name=name, version=f"{VERSION}+{digest.hexdigest()[:12]}",
        sample_rate=config.sample_rate, files=files, channels=config.channels,
        instruments=config.instruments, license=LICENSE,
        inputs={"magnitude": {"shape": shape, "dtype": "float32"}},
        outputs={name: {"shape": [1, len(config.instruments), *shape[1:]], "dtype": "float32"}
                 for name in ("masks", "estimates")},
        provenance=f"converted from the TensorFlow checkpoint of Spleeter release {release!r} ({Path(source).name})",
        config=config.to_dict())
    write_manifest(folder, manifest)
    return folder
