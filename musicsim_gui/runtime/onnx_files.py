"""Finishing exported ONNX files: identity metadata in, exporter debugging records out.

torch's exporters annotate every node with where it was traced from (Python stack traces with absolute file
paths of the exporting machine, FX node names, module scopes). Those records say nothing about the model,
make the file depend on the machine it was built on, and leak local paths into files the project ships.
Every exporter in the project writes its file through `finish_onnx_file`, which drops them and records the
model's identity as `metadata_props` (agreeing with its `manifest.json`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

_TRACE_KEY_PREFIXES = ("pkg.torch.onnx.", "namespace")
"""Node metadata keys written by torch's exporters to record where a node was traced from."""


def _strip_nodes(nodes: Iterable[Any]) -> None:
    for node in nodes:
        node.doc_string = ""
        kept = [entry for entry in node.metadata_props if not entry.key.startswith(_TRACE_KEY_PREFIXES)]
        del node.metadata_props[:]
        node.metadata_props.extend(kept)
        for attribute in node.attribute:
            if attribute.HasField("g"):
                _strip_nodes(attribute.g.node)
            for subgraph in attribute.graphs:
                _strip_nodes(subgraph.node)


def strip_trace_records(model: Any) -> Any:
    """Remove per-node trace records (stack traces, FX names, scopes, doc strings) from an ONNX ModelProto."""
    _strip_nodes(model.graph.node)
    for function in model.functions:
        _strip_nodes(function.node)
    return model


def finish_onnx_file(path: str | Path, metadata: Mapping[str, object]) -> None:
    """Rewrite the ONNX file at `path` without trace records and with `metadata` as its `metadata_props`."""
    import onnx

    model = strip_trace_records(onnx.load(str(path)))
    for key, value in metadata.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=str(value)))
    onnx.save(model, str(path))
