"""Building ViT+WaveGAN generators: from a model folder (ONNX or safetensors) or the random-weight debug model.

Backend choice for a folder: "auto" prefers ONNX Runtime when `encoder.onnx`/`heads.onnx` are present (no torch
needed), else torch with `weights.safetensors`; a forced backend whose files are missing raises ModelError.
`device` ("auto" | "cpu" | "cuda", the studio's inference setting) picks ONNX Runtime's CUDA provider or torch's
GPU; "cuda" with neither usable raises ModelError naming the problem (`runtime.backend.choose_backend`).
"""

from __future__ import annotations

from pathlib import Path

from musicsim_gui.core.errors import ModelError
from musicsim_gui.generation.vit_wavegan.config import ModelConfig
from musicsim_gui.generation.vit_wavegan.finishing import Finishing
from musicsim_gui.generation.vit_wavegan.generator import ViTWaveGANGenerator, onnx_generator, torch_generator
from musicsim_gui.runtime.backend import choose_backend
from musicsim_gui.runtime.manifest import load_manifest

DEBUG_NAME = "vit-wavegan-debug"


def load_folder(folder: Path, backend: str = "auto", device: str = "auto") -> ViTWaveGANGenerator:
    """A generator for the model folder `folder` (manifest hashes verified) on `backend` and `device`."""
    folder = Path(folder)
    manifest = load_manifest(folder, verify=True)
    try:
        config = ModelConfig.from_dict(manifest.config["model"])
        finishing = Finishing.from_config(manifest.config)
    except (KeyError, TypeError, ValueError) as error:
        raise ModelError(f"{folder / 'manifest.json'}: no valid ViT+WaveGAN config ({error})") from error
    has_onnx = all((folder / name).is_file() for name in ("encoder.onnx", "heads.onnx"))
    if backend == "onnx" and not has_onnx:
        raise ModelError(f"{folder}: no encoder.onnx/heads.onnx for the ONNX backend")
    choice = choose_backend(backend if has_onnx else "torch", device)
    if choice.kind == "onnx":
        return onnx_generator(folder, config, manifest.name, manifest.version, device=choice.device,
                              finishing=finishing)
    if not (folder / "weights.safetensors").is_file():
        reason = f" (ONNX Runtime cannot run on device {device!r})" if has_onnx and backend == "auto" else ""
        raise ModelError(f"{folder}: no weights.safetensors for the torch backend{reason}")
    from musicsim_gui.generation.vit_wavegan.model import load_weights

    model = load_weights(folder / "weights.safetensors")
    return torch_generator(model, manifest.name, manifest.version, choice.device, finishing)


def debug_generator(backend: str = "auto", device: str = "auto") -> ViTWaveGANGenerator:
    """The `debug` config with fixed random weights (seed 0), on torch ("auto" device: the CPU); for tests."""
    if backend == "onnx":
        raise ModelError(f"{DEBUG_NAME} is built in code and runs on torch; export it to use ONNX Runtime")
    chosen = choose_backend("torch", device).device if device != "auto" else "cpu"
    from musicsim_gui.generation.vit_wavegan.model import build_model

    return torch_generator(build_model("debug", seed=0), DEBUG_NAME, "0-random", device=chosen)
