"""Installs Demucs checkpoints as model folders: one safetensors file per model + manifest.

Accepted sources: one model file (`955717e8-8726e21a.th`, or a `.safetensors` with Demucs' metadata),
or a folder holding a bag definition (`htdemucs_ft.yaml`: `models`, optional `weights`, `segment`) and
the files it names (`<signature>*.th` or `<signature>.safetensors`). Every file is loaded safely
(`checkpoint.load_package`) and instantiated once to check that the weights fit the class.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from musicsim_gui.core.atomic import atomic_path
from musicsim_gui.core.errors import ModelError
from musicsim_gui.runtime.manifest import Manifest, file_sha256, write_manifest
from musicsim_gui.runtime.paths import user_models_dir
from musicsim_gui.separation.demucs.checkpoint import Package, build_model, encode_json, load_package

FAMILY = "demucs"
LICENSE = "MIT (Meta Platforms, Demucs code and released models)"
KNOWN_SIGNATURES = {"955717e8": "htdemucs", "5c90dfd2": "htdemucs_6s"}


def _signature_file(folder: Path, signature: str) -> Path:
    for pattern in (f"{signature}.safetensors", f"{signature}.th", f"{signature}-*.th"):
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    raise ModelError(f"{folder}: the bag names model {signature!r} but no {signature}*.th or .safetensors is there")


def _bag(folder: Path) -> tuple[str, list[Path], Any, Any]:
    import yaml

    yamls = sorted(folder.glob("*.yaml"))
    if len(yamls) != 1:
        raise ModelError(f"{folder}: expected one bag definition (*.yaml), found {len(yamls)}")
    try:
        bag = yaml.safe_load(yamls[0].read_text(encoding="utf-8"))
        signatures = [str(s) for s in bag["models"]]
    except (yaml.YAMLError, KeyError, TypeError) as error:
        raise ModelError(f"{yamls[0]}: not a Demucs bag definition ({error})") from error
    return yamls[0].stem, [_signature_file(folder, s) for s in signatures], bag.get("weights"), bag.get("segment")


def _save(package: Package, path: Path) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().float().contiguous() if v.is_floating_point() else v.contiguous()
             for k, v in package.state.items()}
    metadata = {"klass": package.klass, "args": json.dumps(encode_json(package.args)),
                "kwargs": json.dumps(encode_json(package.kwargs))}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=metadata)


def _check(paths: list[Path], weights: Any) -> tuple[list[Package], Any]:
    """Load every model file safely and check that they form a valid bag; returns packages and the first model."""
    packages, first = [], None
    for path in paths:
        package = load_package(path)
        model = build_model(package, path)
        first = first or model
        if list(model.sources) != list(first.sources) or model.samplerate != first.samplerate:
            raise ModelError(f"{path}: the models of a bag must share sources and sample rate")
        packages.append(package)
    if weights is not None and (len(weights) != len(paths) or any(len(w) != len(first.sources) for w in weights)):
        raise ModelError(f"{paths[0].parent}: the bag's weights need one row per model and one value per source")
    return packages, first


def install_demucs(source: str | Path, models_dir: Path | None = None, name: str | None = None,
                   shifts: int = 1, overlap: float = 0.25) -> Path:
    """Convert the Demucs model file or bag folder at `source` into `models_dir/<name>`; returns the folder."""
    source = Path(source)
    if source.is_dir():
        bag_name, paths, weights, segment = _bag(source)
    elif source.is_file():
        signature = source.name.split("-")[0].split(".")[0]
        bag_name, paths, weights, segment = KNOWN_SIGNATURES.get(signature, signature), [source], None, None
    else:
        raise ModelError(f"{source}: no such Demucs model file or folder")
    packages, first = _check(paths, weights)
    name = name or f"demucs-{bag_name}"
    folder = (models_dir or user_models_dir()) / name
    folder.mkdir(parents=True, exist_ok=True)
    files, digest = {}, hashlib.sha256()
    for index, package in enumerate(packages):
        target = f"model{index}.safetensors"
        _save(package, folder / target)
        files[target] = file_sha256(folder / target)
        digest.update(files[target].encode())
    config = {"models": list(files), "weights": weights, "segment": segment, "shifts": shifts,
              "overlap": overlap, "sources": list(first.sources), "audio_channels": first.audio_channels}
    manifest = Manifest(
        family=FAMILY, task="separation", name=name, version=f"4+{digest.hexdigest()[:12]}",
        sample_rate=int(first.samplerate), files=files, channels=int(first.audio_channels),
        instruments=tuple(first.sources), license=LICENSE,
        inputs={"mix": {"shape": ["batch", first.audio_channels, "samples"], "dtype": "float32"}},
        outputs={"sources": {"shape": ["batch", len(first.sources), first.audio_channels, "samples"],
                             "dtype": "float32"}},
        provenance=f"converted from Demucs checkpoint(s) {', '.join(p.name for p in paths)}", config=config)
    write_manifest(folder, manifest)
    return folder
