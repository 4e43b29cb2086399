"""MusicGen and MusicGen-melody (Hugging Face layout) as a generator family: audio and text+audio conditioning.

Importing this package registers, without importing torch:
- the "musicgen" family, so installed model folders (`musicsim models import`) are generators by name;
- the "musicgen:" prefix: `get_generator("musicgen:<folder, installed name or cached hub repo id>")`.
`debug.build_debug_model(folder)` writes a tiny random checkpoint for tests and smoke runs.
"""

from __future__ import annotations

from pathlib import Path

from musicsim_gui.generation.base import register_family, register_prefix

FAMILY = "musicgen"


def make_generator(spec: str | Path, backend: str = "auto", device: str = "auto"):
    """A `MusicGenGenerator` for a folder, an installed model name or a cached hub repo id, on `device`."""
    from musicsim_gui.generation.musicgen.generator import MusicGenGenerator

    return MusicGenGenerator(spec, device=device, backend=backend)


register_family(FAMILY, make_generator)
register_prefix(FAMILY, make_generator)
