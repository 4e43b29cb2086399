"""Building ViT+WaveGAN generators: from a model folder (ONNX or safetensors) or the random-weight debug model.

Backend choice for a folder: "auto" prefers ONNX Runtime when `encoder.onnx`/`heads.onnx` are present (no torch
needed), else torch with `weights.safetensors`; a forced backend whose files are missing raises ModelError.
`device` ("auto" | "cpu" | "cuda", the studio's inference setting) picks ONNX Runtime's CUDA provider or torch's
GPU; "cuda" with neither usable raises ModelError naming the problem (`runtime.backend.choose_backend`).
"""

from __future__ import annotations

from pathlib import Path

from musicsim_gui.core.errors import ModelError
from musicsim_gui.generation.vit_wavegan.bandwidth import BandwidthExtension
from musicsim_gui.generation.vit_wavegan.config import ModelConfig
from musicsim_gui.generation.vit_wavegan.generator import ViTWaveGANGenerator, onnx_generator, torch_generator
from musicsim_gui.generation.vit_wavegan.harmony import HarmonyFollow
from musicsim_gui.generation.vit_wavegan.low_cut import LowCut
from musicsim_gui.generation.vit_wavegan.reference_match import ReferenceMatch
from musicsim_gui.generation.vit_wavegan.smoothing import TemporalSmoothing
from musicsim_gui.generation.vit_wavegan.spectral_floor import SpectralFloor
from musicsim_gui.generation.vit_wavegan.tone import ToneMatch
from musicsim_gui.runtime.backend import choose_backend
from musicsim_gui.runtime.manifest import load_manifest

DEBUG_NAME = "vit-wavegan-debug"


def load_folder(folder: Path, backend: str = "auto", device: str = "auto") -> ViTWaveGANGenerator:
    """A generator for the model folder `folder` (manifest hashes verified) on `backend` and `device`."""
    folder = Path(folder)
    manifest = load_manifest(folder, verify=True)
    try:
        config = ModelConfig.from_dict(manifest.config["model"])
        extension = manifest.config.get("bandwidth_extension")
        bandwidth = BandwidthExtension.from_dict(extension) if extension else None
        tone_data = manifest.config.get("tone_match")
        tone = ToneMatch.from_dict(tone_data) if tone_data else None
        smoothing_data = manifest.config.get("temporal_smoothing")
        smoothing = TemporalSmoothing.from_dict(smoothing_data) if smoothing_data else None
        match_data = manifest.config.get("reference_match")
        reference_match = ReferenceMatch.from_dict(match_data) if match_data else None
        floor_data = manifest.config.get("spectral_floor")
        floor = SpectralFloor.from_dict(floor_data) if floor_data else None
        low_cut_data = manifest.config.get("low_cut")
        low_cut = LowCut.from_dict(low_cut_data) if low_cut_data else None
        harmony_data = manifest.config.get("harmony")
        harmony = HarmonyFollow.from_dict(harmony_data) if harmony_data else None
    except (KeyError, TypeError, ValueError) as error:
        raise ModelError(f"{folder / 'manifest.json'}: no valid ViT+WaveGAN config ({error})") from error
    has_onnx = all((folder / name).is_file() for name in ("encoder.onnx", "heads.onnx"))
    if backend == "onnx" and not has_onnx:
        raise ModelError(f"{folder}: no encoder.onnx/heads.onnx for the ONNX backend")
    choice = choose_backend(backend if has_onnx else "torch", device)
    if choice.kind == "onnx":
        return onnx_generator(folder, config, manifest.name, manifest.version, device=choice.device,
                              bandwidth=bandwidth, tone=tone, smoothing=smoothing,
                              reference_match=reference_match, spectral_floor=floor, low_cut=low_cut,
                              harmony=harmony)
    if not (folder / "weights.safetensors").is_file():
        reason = f" (ONNX Runtime cannot run on device {device!r})" if has_onnx and backend == "auto" else ""
        raise ModelError(f"{folder}: no weights.safetensors for the torch backend{reason}")
    from musicsim_gui.generation.vit_wavegan.model import load_weights

    model = load_weights(folder / "weights.safetensors")
    return torch_generator(model, manifest.name, manifest.version, choice.device, bandwidth, tone, smoothing,
                           reference_match, floor, low_cut, harmony)


def debug_generator(backend: str = "auto", device: str = "auto") -> ViTWaveGANGenerator:
    """The `debug` config with fixed random weights (seed 0), on torch ("auto" device: the CPU); for tests."""
    if backend == "onnx":
        raise ModelError(f"{DEBUG_NAME} is built in code and runs on torch; export it to use ONNX Runtime")
    chosen = choose_backend("torch", device).device if device != "auto" else "cpu"
    from musicsim_gui.generation.vit_wavegan.model import build_model

    return torch_generator(build_model("debug", seed=0), DEBUG_NAME, "0-random", device=chosen)
