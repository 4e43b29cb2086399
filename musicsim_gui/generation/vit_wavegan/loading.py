"""Building ViT+WaveGAN generators: from a model folder (ONNX or safetensors) or the random-weight debug model.

Backend choice for a folder: "auto" prefers ONNX Runtime when `encoder.onnx`/`heads.onnx` are present (no torch
needed), else torch with `weights.safetensors`; a forced backend whose files are missing raises ModelError.
"""

from __future__ import annotations

from pathlib import Path

from musicsim_gui.core.errors import ModelError
from musicsim_gui.generation.vit_wavegan.config import ModelConfig
from musicsim_gui.generation.vit_wavegan.generator import ViTWaveGANGenerator, onnx_generator, torch_generator
from musicsim_gui.runtime.backend import choose_backend
from musicsim_gui.runtime.manifest import load_manifest

DEBUG_NAME = "vit-wavegan-debug"


def load_folder(folder: Path, backend: str = "auto") -> ViTWaveGANGenerator:
    """A generator for the model folder `folder` (manifest hashes verified)."""
    folder = Path(folder)
    manifest = load_manifest(folder, verify=True)
    try:
        config = ModelConfig.from_dict(manifest.config["model"])
    except (KeyError, TypeError, ValueError) as error:
        raise ModelError(f"{folder / 'manifest.json'}: no valid ViT+WaveGAN config ({error})") from error
    has_onnx = all((folder / name).is_file() for name in ("encoder.onnx", "heads.onnx"))
    has_weights = (folder / "weights.safetensors").is_file()
    choice = choose_backend(backend if backend != "onnx" or has_onnx else "onnx")
    if choice.kind == "onnx" and has_onnx:
        return onnx_generator(folder, config, manifest.name, manifest.version, device=choice.device)
    if backend == "onnx":
        raise ModelError(f"{folder}: no encoder.onnx/heads.onnx for the ONNX backend")
    if not has_weights:
        raise ModelError(f"{folder}: no weights.safetensors for the torch backend")
    from musicsim_gui.generation.vit_wavegan.model import load_weights

    device = choose_backend("torch").device if backend == "auto" else choice.device
    return torch_generator(load_weights(folder / "weights.safetensors"), manifest.name, manifest.version, device)


def debug_generator(backend: str = "auto") -> ViTWaveGANGenerator:
    """The `debug` config with fixed random weights (seed 0), on torch; for tests and smoke runs."""
    if backend == "onnx":
        raise ModelError(f"{DEBUG_NAME} is built in code and runs on torch; export it to use ONNX Runtime")
    from musicsim_gui.generation.vit_wavegan.model import build_model

    return torch_generator(build_model("debug", seed=0), DEBUG_NAME, "0-random", device="cpu")
