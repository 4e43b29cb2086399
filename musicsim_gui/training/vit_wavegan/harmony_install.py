"""Storing a model folder's harmony following (`generation/vit_wavegan/harmony.py`): manifest and card line.

The largest transposition per instrument and the change cost are chosen on the valid split's FAD (an
evaluation run per candidate setting), not fitted here; installing stores them as `config.harmony` and
describes them on the card.
"""

from __future__ import annotations

from pathlib import Path

from musicsim_gui.generation.vit_wavegan.harmony import HarmonyFollow
from musicsim_gui.runtime.manifest import Manifest
from musicsim_gui.training.vit_wavegan.card_settings import install_setting

CARD_LINE_PREFIX = "- Harmony:"


def card_line(harmony: HarmonyFollow) -> str:
    """The model card's line describing `harmony`."""
    shifts = ", ".join(f"{name} up to {value} semitones" for name, value in harmony.shifts.items())
    return (f"{CARD_LINE_PREFIX} with the reference's separated part known, every loop copy is transposed to "
            f"the chords that part plays under it (pitch-class profiles of copy and part, best rotation, "
            f"{harmony.change_cost:g} less for changing the transposition; phase vocoder below 3-5 kHz) "
            f"({shifts or 'none'}; chosen on the valid split's FAD; see `generation/vit_wavegan/harmony.py`).")


def install_harmony(folder: Path, harmony: HarmonyFollow) -> Manifest:
    """Store `harmony` in the model folder's manifest and card (replacing an earlier one); the manifest."""
    return install_setting(folder, "harmony", harmony.to_dict(), card_line(harmony), CARD_LINE_PREFIX,
                           after=("- Low cut:", "- Spectral floor:", "- Reference match:", "- Temporal smoothing:",
                                  "- Tone match:"))
