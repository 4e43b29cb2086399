"""Torch weights read back from an exported ONNX graph, for model folders that ship only their graphs.

1. Parameters keep their names as initializers, except where constant folding renamed them: a linear
   layer's weight is stored transposed under a generated name (`onnx::MatMul_N`) as the second input of a
   MatMul node named after the module's scope (`/blocks.0/mlp/mlp.0/MatMul` → `blocks.0.mlp.0`), and
   identical tensors (freshly initialised norms) are merged under one name, passed on through Identity
   nodes. A parameter not found under its own name is found through the node of its module's scope that
   uses it (`PARAMETER_INPUTS`); MatMul weights are transposed back. Graphs without scope names (the
   torch.export exporter) keep bias names: a folded weight whose MatMul feeds the Add of `<module>.bias` is
   `<module>.weight`; a parameter still missing takes the one unused tensor of its shape, if only one has it.
2. Trust, but verify (`check_parity`): the rebuilt module must reproduce the graph's output on random inputs
   (ONNX Runtime, max abs error ≤ `PARITY_TOLERANCE`), else the file is refused with a `ModelError`.
"""

from __future__ import annotations

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


def _linear_weights_by_bias(graph: Any, tensors: dict[str, np.ndarray], expected: dict[str, Any],
                            state: dict[str, np.ndarray]) -> None:
    """Graphs without scope names (the torch.export exporter): a folded weight feeds a MatMul whose output
    is added to a bias that kept its name, `<module>.bias`; the weight is then `<module>.weight`."""
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    for node in graph.node:
        if node.op_type != "MatMul" or len(node.input) < 2 or node.input[1] not in tensors:
            continue
        for user in consumers.get(node.output[0], []):
            biases = [name for name in user.input if name.endswith(".bias") and name in tensors]
            if user.op_type != "Add" or not biases:
                continue
            weight = biases[0][: -len(".bias")] + ".weight"
            value = tensors[node.input[1]].T
            if weight in expected and weight not in state and tuple(value.shape) == tuple(expected[weight].shape):
                state[weight] = value


def _unique_shapes(tensors: dict[str, np.ndarray], expected: dict[str, Any], state: dict[str, np.ndarray]) -> None:
    """A parameter still missing whose shape (or, for a matrix, transposed shape) only one unused folded
    tensor has (a bias-free linear layer, for instance) gets that tensor; the parity check confirms it."""
    taken = list(state.values())
    unused = [value for name, value in tensors.items()
              if name not in expected and not any(np.shares_memory(value, other) for other in taken)]
    for name in sorted(set(expected) - set(state)):
        shape = tuple(expected[name].shape)
        same = [value for value in unused if tuple(value.shape) == shape]
        flipped = [value.T for value in unused if value.ndim == 2 and tuple(value.T.shape) == shape] if len(shape) == 2 else []
        if len(same) + len(flipped) == 1:
            state[name] = (same or flipped)[0]


def state_from_graph(path: Path, expected: dict[str, Any]) -> dict[str, np.ndarray]:
    """Arrays for every name of the torch state `expected` (name → tensor or array), read from the graph at `path`.

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
    _linear_weights_by_bias(graph, tensors, expected, state)
    _unique_shapes(tensors, expected, state)
    missing = sorted(set(expected) - set(state))
    if missing:
        raise ModelError(f"{path}: cannot recover the torch weights ({', '.join(missing[:3])} missing)")
    wrong = [name for name in expected if tuple(state[name].shape) != tuple(expected[name].shape)]
    if wrong:
        raise ModelError(f"{path}: weights of the wrong shape for this config ({', '.join(wrong[:3])})")
    return state


def check_parity(module: Any, path: Path, inputs: dict[str, np.ndarray]) -> float:
    """Max abs difference between `module(*inputs in graph order)` (a tensor, or a tuple of them in the graph's
    output order) and the graph at `path`, over all outputs; ModelError above `PARITY_TOLERANCE`."""
    import onnxruntime as ort
    import torch

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [item.name for item in session.get_inputs()]
    expected = session.run(None, {name: inputs[name] for name in names})
    with torch.no_grad():
        actual = module(*(torch.from_numpy(inputs[name]) for name in names))
    actual = actual if isinstance(actual, tuple) else (actual,)
    if len(actual) != len(expected):
        raise ModelError(f"{path}: the graph has {len(expected)} outputs, the network {len(actual)}")
    error = max(float(np.max(np.abs(ours.numpy() - theirs))) for ours, theirs in zip(actual, expected, strict=True))
    if not error <= PARITY_TOLERANCE:
        raise ModelError(f"{path}: the recovered torch weights do not reproduce the graph "
                         f"(max abs error {error:.2e} > {PARITY_TOLERANCE:g})")
    return error
