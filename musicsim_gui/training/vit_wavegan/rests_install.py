"""Storing a model folder's rests (`generation/vit_wavegan/rests.py`): manifest and card line.

The depth and shortest length of a rest per instrument are chosen on the valid split (FAD, and how the takes
sit against the true parts' rests), not fitted here; installing stores them as `config.rests` and describes
them on the card.
"""

from __future__ import annotations

from pathlib import Path

from musicsim_gui.generation.vit_wavegan.rests import PartRests
from musicsim_gui.runtime.manifest import Manifest
from musicsim_gui.training.vit_wavegan.card_settings import install_setting

CARD_LINE_PREFIX = "- Rests:"


def card_line(rests: PartRests) -> str:
    """The model card's line describing `rests`."""
    named = ", ".join(f"{name} {below:g} dB for {seconds:g} s" for name, (below, seconds) in rests.settings.items())
    return (f"{CARD_LINE_PREFIX} with the reference's separated part known, the take falls silent wherever that "
            f"part stays far below its typical level for long enough ({named or 'none'}; depth under the part's "
            "75th-percentile frame level / shortest rest), with 20 ms fades inside the rest; where the song ends on a "
            "last hit that rings out, the take fades with the ring from where it falls under the part's typical "
            "level; see `generation/vit_wavegan/rests.py`. Off with the reference match (`--no-reference-match`).")


def install_rests(folder: Path, rests: PartRests) -> Manifest:
    """Store `rests` in the model folder's manifest and card (replacing earlier ones); the manifest."""
    return install_setting(folder, "rests", rests.to_dict(), card_line(rests), CARD_LINE_PREFIX,
                           after=("- Harmony:", "- Band dynamics:", "- Low cut:", "- Reference match:"))
