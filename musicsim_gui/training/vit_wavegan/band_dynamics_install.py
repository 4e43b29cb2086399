"""Storing a model folder's band dynamics (`generation/vit_wavegan/band_dynamics.py`): manifest and card line.

The ratios and lower edges are chosen on the valid split's FAD per instrument (an evaluation run per candidate
setting), not fitted here; installing stores them as `config.band_dynamics` and describes them on the card.
"""

from __future__ import annotations

from pathlib import Path

from musicsim_gui.generation.vit_wavegan.band_dynamics import BandDynamics
from musicsim_gui.runtime.manifest import Manifest
from musicsim_gui.training.vit_wavegan.card_settings import install_setting

CARD_LINE_PREFIX = "- Band dynamics:"


def card_line(dynamics: BandDynamics) -> str:
    """The model card's line describing `dynamics`."""
    ratios = ", ".join(f"{name} ×{value:g}" + (f" from {dynamics.from_hz[name]:g} Hz" if name in dynamics.from_hz
                                               else "") for name, value in dynamics.ratios.items())
    return (f"{CARD_LINE_PREFIX} in each finished loop (before tiling, circularly) every mel band's level moves "
            f"about its mean over the loop by a ratio per instrument ({ratios or 'none'}; above 1 the band's "
            "loud moments get louder and its quiet ones quieter, at most 12 dB; chosen on the valid split's FAD; "
            "see `generation/vit_wavegan/band_dynamics.py`).")


def install_band_dynamics(folder: Path, dynamics: BandDynamics) -> Manifest:
    """Store `dynamics` in the model folder's manifest and card (replacing an earlier one); the manifest."""
    return install_setting(folder, "band_dynamics", dynamics.to_dict(), card_line(dynamics), CARD_LINE_PREFIX,
                           after=("- Low cut:", "- Spectral floor:", "- Reference match:", "- Temporal smoothing:",
                                  "- Tone match:"))
