"""Test helpers for ViT+WaveGAN model folders: the random-weight debug model exported with a model card, and
the `musicsim export` setting commands run as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

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


def export_command(*args: str) -> subprocess.CompletedProcess:
    """`musicsim export ARGS...` in a new interpreter (exit code, stdout and stderr as text)."""
    return subprocess.run([sys.executable, "-m", "musicsim_gui", "export", *args], capture_output=True, text=True,
                          timeout=300)


def assert_loops_treated_as_tiled(step, take: np.ndarray, rate: int, instrument: str, tolerance: float) -> None:
    """A finishing step's `apply_loops` on [take, reversed take]: shape and dtype kept, each loop as if alone,
    and the first as the middle copy of the take tiled three times (its seam treated as heard tiled)."""
    loops = np.stack([take, take[::-1].copy()])
    done = step.apply_loops(loops, rate, instrument)
    assert done.shape == loops.shape and done.dtype == np.float32
    np.testing.assert_allclose(done[1], step.apply_loops(loops[1], rate, instrument), atol=1e-6)
    in_context = step.apply(np.tile(take, 3), rate, instrument)[take.shape[0]: 2 * take.shape[0]]
    error = np.sqrt(np.mean((done[0] - in_context) ** 2) / np.mean(in_context**2))
    assert error < tolerance
