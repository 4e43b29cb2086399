"""ViT+WaveGAN (the MuSiC paper's generator): a ViT song encoder and one WaveGAN head per instrument.

Importing this package registers the family with the generator registry; torch is imported only by the
modules that need it (`model`, `vit`, `wavegan`, `export`), never here.
"""

from __future__ import annotations

from pathlib import Path

from musicsim_gui.generation.base import register_family, register_generator

FAMILY = "vit-wavegan"


def _folder(folder: Path, backend: str, device: str = "auto"):
    from musicsim_gui.generation.vit_wavegan.loading import load_folder

    return load_folder(folder, backend, device)


def _debug(name: str, backend: str, device: str = "auto"):
    from musicsim_gui.generation.vit_wavegan.loading import debug_generator

    return debug_generator(backend, device)


def _follows_stems(manifest) -> bool:
    """Whether the folder's takes follow the reference's stems: its manifest carries a reference match or a
    harmony."""
    return bool(manifest.config.get("reference_match") or manifest.config.get("harmony"))


register_family(FAMILY, _folder, _follows_stems)
register_generator("vit-wavegan-debug", _debug, "ViT+WaveGAN debug config, random weights (tests)")
