"""ONNX export of a ViT+WaveGAN: `encoder.onnx` + `heads.onnx` + optional safetensors, a manifest and a model card.

Architecture:
1. Two graphs, so the app can cache a reference's embedding and re-roll heads with new z alone:
   `encoder.onnx`: mel `[B, 1, n_mels, frames]` → embedding `[B, E]`;
   `heads.onnx`: embedding `[B, E]`, tempo `[B, 1]`, z `[B, H, Z]` → audio `[B, H, window]` (all instruments).
   The batch axis is dynamic. Mel features, looping and resampling stay outside the graphs (NumPy).
2. Each graph's `metadata_props` repeat the family, name, version and config, agreeing with `manifest.json`.
3. `parity` runs the torch module and ONNX Runtime on the same random inputs and returns the max abs error.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from musicsim_gui.core.atomic import atomic_path, atomic_write_text
from musicsim_gui.runtime.manifest import Manifest, file_sha256, write_manifest
from musicsim_gui.runtime.onnx_files import finish_onnx_file

FAMILY = "vit-wavegan"
OPSET = 17


def example_inputs(config: Any, batch: int = 1, seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs of the right shapes for both graphs: mel, embedding, tempo, z (float32)."""
    rng = np.random.default_rng(seed)
    feats, heads = config.features, len(config.instruments)
    return {
        "mel": rng.standard_normal((batch, 1, feats.n_mels, feats.frames)).astype(np.float32),
        "embedding": rng.standard_normal((batch, config.vit.embedding)).astype(np.float32),
        "tempo": rng.uniform(0.5, 1.5, (batch, 1)).astype(np.float32),
        "z": rng.standard_normal((batch, heads, config.head.latent)).astype(np.float32),
    }


def _export(module: Any, args: tuple, path: Path, inputs: list[str], output: str, metadata: dict[str, str]) -> None:
    import torch

    axes = {name: {0: "batch"} for name in [*inputs, output]}
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(tmp), dynamo=False, opset_version=OPSET, input_names=inputs,
                          output_names=[output], dynamic_axes=axes, do_constant_folding=True)
        finish_onnx_file(tmp, metadata)


def export_onnx(model: Any, folder: Path, name: str, version: str) -> list[str]:
    """Write `encoder.onnx` and `heads.onnx` for `model` into `folder`; returns the file names."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    metadata = {"family": FAMILY, "name": name, "version": version, "config": json.dumps(model.config.to_dict())}
    sample = {k: torch.from_numpy(v) for k, v in example_inputs(model.config, batch=2).items()}
    _export(model.encoder, (sample["mel"],), folder / "encoder.onnx", ["mel"], "embedding", metadata)
    _export(model.heads, (sample["embedding"], sample["tempo"], sample["z"]), folder / "heads.onnx",
            ["embedding", "tempo", "z"], "audio", metadata)
    return ["encoder.onnx", "heads.onnx"]


def parity(model: Any, folder: Path, batch: int = 2, seed: int = 1) -> float:
    """Max abs difference between torch and ONNX Runtime (CPU) over both graphs on random inputs."""
    import torch

    from musicsim_gui.runtime.backend import OnnxBackend

    inputs = example_inputs(model.config, batch=batch, seed=seed)
    tensors = {k: torch.from_numpy(v) for k, v in inputs.items()}
    with torch.inference_mode():
        embedding = model.encoder(tensors["mel"]).numpy()
        audio = model.heads(tensors["embedding"], tensors["tempo"], tensors["z"]).numpy()
    ort_embedding = OnnxBackend(folder / "encoder.onnx", device="cpu").run({"mel": inputs["mel"]})["embedding"]
    head_inputs = {k: inputs[k] for k in ("embedding", "tempo", "z")}
    ort_audio = OnnxBackend(folder / "heads.onnx", device="cpu").run(head_inputs)["audio"]
    return float(max(np.abs(embedding - ort_embedding).max(), np.abs(audio - ort_audio).max()))


def export_folder(model: Any, folder: Path, name: str, version: str, *, weights: bool = True,
                  metrics: dict[str, Any] | None = None, provenance: str = "", license: str = "MIT",
                  training: dict[str, Any] | None = None, card: str | None = None) -> Manifest:
    """A complete model folder: ONNX graphs, optional `weights.safetensors`, `MODEL_CARD.md`, `manifest.json`."""
    from musicsim_gui.generation.vit_wavegan.model import save_weights

    files = export_onnx(model, folder, name, version)
    if weights:
        save_weights(model, folder / "weights.safetensors")
        files.append("weights.safetensors")
    if card is not None:
        atomic_write_text(folder / "MODEL_CARD.md", card)
    config = model.config
    heads = len(config.instruments)
    manifest = Manifest(
        family=FAMILY, task="generation", name=name, version=version, sample_rate=config.features.sample_rate,
        channels=1, instruments=tuple(config.instruments),
        inputs={"mel": {"shape": ["batch", 1, config.features.n_mels, config.features.frames], "dtype": "float32"},
                "embedding": {"shape": ["batch", config.vit.embedding], "dtype": "float32"},
                "tempo": {"shape": ["batch", 1], "dtype": "float32"},
                "z": {"shape": ["batch", heads, config.head.latent], "dtype": "float32"}},
        outputs={"embedding": {"shape": ["batch", config.vit.embedding], "dtype": "float32"},
                 "audio": {"shape": ["batch", heads, config.head.window], "dtype": "float32"}},
        files={file: file_sha256(folder / file) for file in files}, license=license, provenance=provenance,
        metrics=dict(metrics or {}), config={"model": config.to_dict(), "training": dict(training or {})})
    write_manifest(folder, manifest)
    return manifest
