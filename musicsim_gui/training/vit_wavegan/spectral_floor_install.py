"""Storing a model folder's spectral floor subtraction (`generation/vit_wavegan/spectral_floor.py`): manifest and
card line.

The strengths are chosen on the valid split's FAD per instrument (an evaluation run per candidate setting), not
fitted here; installing stores them as `config.spectral_floor` and describes them on the card.
"""

from __future__ import annotations

from pathlib import Path

from musicsim_gui.generation.vit_wavegan.spectral_floor import SpectralFloor
from musicsim_gui.runtime.manifest import Manifest
from musicsim_gui.training.vit_wavegan.card_settings import install_setting

CARD_LINE_PREFIX = "- Spectral floor:"


def card_line(floor: SpectralFloor) -> str:
    """The model card's line describing `floor`."""
    strengths = ", ".join(f"{name} {value:g}" + (f" up to {floor.max_hz[name]:g} Hz" if name in floor.max_hz else "")
                          for name, value in floor.strengths.items())
    fills = ", ".join(f"{name} from {value:g} Hz" for name, value in floor.fill_from_hz.items())
    filled = (f"; above a fill frequency per instrument ({fills}) the valleys are filled instead, each bin's power "
              f"mixed with its average over {floor.fill_width_hz:g} Hz (fully an octave above it)") if fills else ""
    return (f"{CARD_LINE_PREFIX} in every frame of each finished loop (before tiling, circularly), the floor between partials (the running "
            f"minimum of the spectrum over {floor.width_hz:g} Hz) is subtracted, times a strength per instrument "
            f"({strengths or 'none'}){filled}; chosen on the valid split's FAD; see "
            "`generation/vit_wavegan/spectral_floor.py`. `musicsim generate --no-smoothing` turns it off with the "
            "smoothing.")


def install_spectral_floor(folder: Path, floor: SpectralFloor) -> Manifest:
    """Store `floor` in the model folder's manifest and card (replacing an earlier one); the manifest."""
    return install_setting(folder, "spectral_floor", floor.to_dict(), card_line(floor), CARD_LINE_PREFIX,
                           after=("- Reference match:", "- Temporal smoothing:", "- Tone match:"))
