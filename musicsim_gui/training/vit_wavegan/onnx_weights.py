"""Torch weights recovered from an exported ViT+WaveGAN model folder (`encoder.onnx` + `heads.onnx`).

Bundled models ship only their ONNX graphs. Fine-tuning and continued training need the torch modules back;
`runtime.onnx_weights` reads the parameters out of each graph (heads keep their names; the encoder's linear
weights are folded and transposed) and checks the rebuilt module against the graph.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from musicsim_gui.core.errors import ModelError
from musicsim_gui.runtime.onnx_weights import check_parity, state_from_graph


def heads_from_onnx(folder: Path, config: Any) -> Any:
    """The WaveGAN heads of model folder `folder` as a torch module (`config`: its `ModelConfig`)."""
    import torch

    from musicsim_gui.generation.vit_wavegan.export import example_inputs
    from musicsim_gui.generation.vit_wavegan.wavegan import WaveGANHeads

    heads = WaveGANHeads(config.head, config.vit.embedding, len(config.instruments)).eval()
    path = folder / "heads.onnx"
    state = state_from_graph(path, heads.state_dict())
    heads.load_state_dict({name: torch.from_numpy(value) for name, value in state.items()})
    check_parity(heads, path, example_inputs(config, batch=2))
    return heads


def encoder_from_onnx(folder: Path, config: Any) -> Any:
    """The ViT encoder of model folder `folder` as a torch module (`config`: its `ModelConfig`)."""
    import torch

    from musicsim_gui.generation.vit_wavegan.export import example_inputs
    from musicsim_gui.generation.vit_wavegan.vit import ViTEncoder

    encoder = ViTEncoder(config.vit, config.features).eval()
    path = folder / "encoder.onnx"
    state = state_from_graph(path, encoder.state_dict())
    encoder.load_state_dict({name: torch.from_numpy(value) for name, value in state.items()})
    check_parity(encoder, path, example_inputs(config, batch=2))
    return encoder


def model_from_folder(folder: Path, keep_post_filter: bool = False) -> Any:
    """A `ViTWaveGAN` with the weights of the model folder `folder` (hashes verified).

    Unless `keep_post_filter` (the model exactly as shipped), the exported post-filter (fitted after training,
    see `postfilter.py`) is left out: training continues on the heads' raw output and the export fits a new one.

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
    if keep_post_filter:
        model = ViTWaveGAN(config)
        model.heads.load_state_dict(heads.state_dict())
    else:
        model = ViTWaveGAN(replace(config, head=replace(config.head, post_filter=0)))
        model.heads.load_state_dict({name: value for name, value in heads.state_dict().items() if name != "post_filter"})
    model.encoder.load_state_dict(encoder.state_dict())
    return model
