"""Storing a model folder's low cut (`generation/vit_wavegan/low_cut.py`): manifest and card line.

The cutoffs are chosen on the valid split's FAD per instrument (an evaluation run per candidate setting), not
fitted here; installing stores them as `config.low_cut` and describes them on the card.
"""

from __future__ import annotations

from pathlib import Path

from musicsim_gui.generation.vit_wavegan.low_cut import LowCut
from musicsim_gui.runtime.manifest import Manifest
from musicsim_gui.training.vit_wavegan.card_settings import install_setting

CARD_LINE_PREFIX = "- Low cut:"


def card_line(low_cut: LowCut) -> str:
    """The model card's line describing `low_cut`."""
    cutoffs = ", ".join(f"{name} {value:g} Hz" for name, value in low_cut.cutoffs_hz.items())
    return (f"{CARD_LINE_PREFIX} the loops lose the infrasonic rumble the heads leave under them: a zero-phase "
            f"high-pass (Butterworth order {low_cut.order} forwards and backwards, -6 dB at the cutoff) per "
            f"instrument ({cutoffs or 'none'}; chosen on the valid split's FAD; see "
            "`generation/vit_wavegan/low_cut.py`).")


def install_low_cut(folder: Path, low_cut: LowCut) -> Manifest:
    """Store `low_cut` in the model folder's manifest and card (replacing an earlier one); the manifest."""
    return install_setting(folder, "low_cut", low_cut.to_dict(), card_line(low_cut), CARD_LINE_PREFIX,
                           after=("- Spectral floor:", "- Reference match:", "- Temporal smoothing:", "- Tone match:"))
