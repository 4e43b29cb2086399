"""Torch weights recovered from an exported ViT+WaveGAN model folder (`encoder.onnx` + `heads.onnx`).

Bundled models ship only their ONNX graphs. Fine-tuning and continued training need the torch modules back:
1. Heads: the initializers of `heads.onnx` carry the module's parameter names unchanged.
2. Encoder: constant folding stores every linear layer's weight transposed, under a generated name
   (`onnx::MatMul_N`), as the second input of a MatMul node named after the module's scope
   (`/blocks.0/mlp/mlp.0/MatMul` → `blocks.0.mlp.0`), and merges identical tensors (freshly initialised
   norms) under one name, passed on through Identity nodes. A parameter not found under its own name is found through the node of its
   module's scope that uses it (`PARAMETER_INPUTS`); MatMul weights are transposed back.
3. Trust, but verify: the rebuilt module must reproduce the graph's output on random inputs (ONNX Runtime,
   max abs error ≤ `PARITY_TOLERANCE`), else the folder is refused with a `ModelError` naming the file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from musicsim_gui.core.errors import ModelError

PARITY_TOLERANCE = 1e-3
"""Largest abs difference between the rebuilt torch module and its ONNX graph on random inputs."""


def _initializers(path: Path) -> tuple[Any, dict[str, np.ndarray]]:
    import onnx
    from onnx import numpy_helper

    try:
        graph = onnx.load(str(path)).graph
    except Exception as error:  # onnx raises DecodeError and friends for a damaged file
        raise ModelError(f"{path}: not a readable ONNX graph ({error})") from error
    return graph, {item.name: numpy_helper.to_array(item).copy() for item in graph.initializer}


def _scope_path(node_name: str) -> str:
    """Module path of an exported node: `/blocks.0/mlp/mlp.0/MatMul` → `blocks.0.mlp.0`."""
    parts: list[str] = []
    for part in node_name.strip("/").split("/")[:-1]:
        if parts and part.startswith(parts[-1] + "."):
            parts[-1] = part          # a Sequential child's scope repeats its parent's name: mlp / mlp.0
        else:
            parts.append(part)
    return ".".join(parts)


PARAMETER_INPUTS = {
    "MatMul": {1: "weight"}, "Gemm": {1: "weight", 2: "bias"}, "Add": {0: "bias", 1: "bias"},
    "LayerNormalization": {1: "weight", 2: "bias"}, "Conv": {1: "weight", 2: "bias"},
    "ConvTranspose": {1: "weight", 2: "bias"},
}
"""Which input of a node of a module's scope holds which of its parameters."""


def _state_from_graph(path: Path, expected: dict[str, Any]) -> dict[str, np.ndarray]:
    """Arrays for every name of the torch state `expected`, read from the graph at `path`.

    A parameter missing under its own name (renamed by constant folding, or merged with an identical tensor
    such as two freshly initialised norms) is found through the node of its module's scope that uses it.
    """
    graph, tensors = _initializers(path)
    state = {name: tensors[name] for name in expected if name in tensors}
    for node in graph.node:  # merged tensors reach their other users through Identity nodes
        if node.op_type == "Identity" and node.input[0] in tensors:
            tensors[node.output[0]] = tensors[node.input[0]]
    for node in graph.node:
        roles = PARAMETER_INPUTS.get(node.op_type, {})
        for index, role in roles.items():
            if index >= len(node.input) or node.input[index] not in tensors or not node.name:
                continue
            name = f"{_scope_path(node.name)}.{role}"
            value = tensors[node.input[index]]
            if node.op_type == "MatMul":
                value = value.T                     # a linear layer's weight, folded as its transpose
            if name in expected and name not in state and tuple(value.shape) == tuple(expected[name].shape):
                state[name] = value
    missing = sorted(set(expected) - set(state))
    if missing:
        raise ModelError(f"{path}: cannot recover the torch weights ({', '.join(missing[:3])} missing)")
    wrong = [name for name in expected if tuple(state[name].shape) != tuple(expected[name].shape)]
    if wrong:
        raise ModelError(f"{path}: weights of the wrong shape for this config ({', '.join(wrong[:3])})")
    return state


def _check_parity(module: Any, path: Path, inputs: dict[str, np.ndarray]) -> float:
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [item.name for item in session.get_inputs()]
    expected = session.run(None, {name: inputs[name] for name in names})[0]
    with torch.no_grad():
        actual = module(*(torch.from_numpy(inputs[name]) for name in names)).numpy()
    error = float(np.max(np.abs(actual - expected)))
    if not error <= PARITY_TOLERANCE:
        raise ModelError(f"{path}: the recovered torch weights do not reproduce the graph "
                         f"(max abs error {error:.2e} > {PARITY_TOLERANCE:g})")
    return error


def heads_from_onnx(folder: Path, config: Any) -> Any:
    """The WaveGAN heads of model folder `folder` as a torch module (`config`: its `ModelConfig`)."""
    import torch

    from musicsim_gui.generation.vit_wavegan.export import example_inputs
    from musicsim_gui.generation.vit_wavegan.wavegan import WaveGANHeads

    heads = WaveGANHeads(config.head, config.vit.embedding, len(config.instruments)).eval()
    path = folder / "heads.onnx"
    state = _state_from_graph(path, heads.state_dict())
    heads.load_state_dict({name: torch.from_numpy(value) for name, value in state.items()})
    _check_parity(heads, path, example_inputs(config, batch=2))
    return heads


def encoder_from_onnx(folder: Path, config: Any) -> Any:
    """The ViT encoder of model folder `folder` as a torch module (`config`: its `ModelConfig`)."""
    import torch

    from musicsim_gui.generation.vit_wavegan.export import example_inputs
    from musicsim_gui.generation.vit_wavegan.vit import ViTEncoder

    encoder = ViTEncoder(config.vit, config.features).eval()
    path = folder / "encoder.onnx"
    state = _state_from_graph(path, encoder.state_dict())
    encoder.load_state_dict({name: torch.from_numpy(value) for name, value in state.items()})
    _check_parity(encoder, path, example_inputs(config, batch=2))
    return encoder


def model_from_folder(folder: Path) -> Any:
    """A trainable `ViTWaveGAN` with the weights of the model folder `folder` (hashes verified).

    The exported post-filter (fitted after training, see `postfilter.py`) is left out: training continues on
    the heads' raw output and the export fits a new one.

    Raises:
        ModelError: not a ViT+WaveGAN folder, damaged files, or weights that do not reproduce the graphs.
    """
    from musicsim_gui.generation.vit_wavegan.config import ModelConfig
    from musicsim_gui.generation.vit_wavegan.model import ViTWaveGAN
    from musicsim_gui.runtime.manifest import load_manifest

    manifest = load_manifest(folder, verify=True)
    if manifest.family != "vit-wavegan" or "model" not in manifest.config:
        raise ModelError(f"{folder}: not a ViT+WaveGAN model folder (family {manifest.family!r})")
    config = ModelConfig.from_dict(manifest.config["model"])
    encoder, heads = encoder_from_onnx(folder, config), heads_from_onnx(folder, config)
    training_config = replace(config, head=replace(config.head, post_filter=0))
    model = ViTWaveGAN(training_config)
    model.encoder.load_state_dict(encoder.state_dict())
    model.heads.load_state_dict({name: value for name, value in heads.state_dict().items() if name != "post_filter"})
    return model
