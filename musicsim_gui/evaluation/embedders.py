"""Embeddings for FAD over mono 16 kHz audio, each with a name and a description printed beside its numbers.

- "offline": the hand-crafted `evaluation.generation` embedding (no weights; standardised by the real set
  per dimension before FAD). Its FAD values are NOT comparable with published (VGGish) FAD numbers.
- "vggish": VGGish from locally stored released weights (`evaluation.vggish`), optionally PCA-whitened, used raw
  (not standardised), as published FAD numbers are computed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.evaluation import generation as metrics


@dataclass(frozen=True)
class Embedder:
    """`embed(audio [T] mono 16 kHz) -> [segments, D]`; `standardise`: z-score by the real set before FAD;
    `groups`: named groups of dimensions (what each measures), for embeddings whose dimensions have meanings."""

    name: str
    description: str
    embed: Callable[[np.ndarray], np.ndarray]
    standardise: bool
    groups: dict[str, slice] | None = None


def offline_embedder() -> Embedder:
    """The weight-free hand-crafted embedding (1 s segments, D = 115)."""
    return Embedder("offline", "offline " + metrics.EMBEDDING, metrics.embed, True, metrics.FEATURE_GROUPS)


def vggish_embedder(weights: str | Path, pca: str | Path | None = None) -> Embedder:
    """VGGish (0.96 s examples, D = 128) from local weight files; ModelError when they are absent or wrong."""
    from musicsim_gui.evaluation.vggish import load_vggish

    model = load_vggish(weights, pca)

    def embed(audio: np.ndarray) -> np.ndarray:
        return model.embed(AudioClip(audio[None, :].astype(np.float32), metrics.RATE)).astype(np.float64)

    description = f"VGGish ({Path(weights).name}{', PCA ' + Path(pca).name if pca else ''}; 0.96 s examples, D=128)"
    return Embedder("vggish", description, embed, False)


def make_embedder(name: str, weights: str | Path | None = None, pca: str | Path | None = None) -> Embedder:
    """The embedder called `name` ("offline" or "vggish"; VGGish needs `weights`)."""
    from musicsim_gui.core.errors import ModelError

    if name == "offline":
        return offline_embedder()
    if name == "vggish":
        if weights is None:
            raise ModelError("the vggish embedding needs --vggish-weights FILE (the released weights, stored locally)")
        if not Path(weights).is_file():
            raise ModelError(f"{weights}: VGGish weights file not found")
        return vggish_embedder(weights, pca)
    raise ModelError(f"unknown embedding {name!r}; choose offline or vggish")
