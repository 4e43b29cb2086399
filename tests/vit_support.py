"""Test helpers for ViT+WaveGAN model folders: the random-weight debug model exported with a model card."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from musicsim_gui.generation.vit_wavegan.export import export_folder
from musicsim_gui.generation.vit_wavegan.model import build_model
from musicsim_gui.runtime.manifest import file_sha256, load_manifest, write_manifest


def debug_folder_with_card(folder: Path, card: str) -> Path:
    """The `debug` model exported to `folder` (ONNX and weights) with `card` as its MODEL_CARD.md, hashed in
    the manifest as an exported card is."""
    export_folder(build_model("debug"), folder, "vit-debug", "1")
    (folder / "MODEL_CARD.md").write_text(card)
    manifest = load_manifest(folder)
    write_manifest(folder, replace(manifest, files={**manifest.files,
                                                    "MODEL_CARD.md": file_sha256(folder / "MODEL_CARD.md")}))
    return folder
