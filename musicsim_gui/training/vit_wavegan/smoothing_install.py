"""Storing a model folder's temporal smoothing (`generation/vit_wavegan/smoothing.py`): manifest and card line.

The windows are chosen on the valid split's FAD per instrument (an evaluation run per candidate setting), not
fitted here; installing stores them as `config.temporal_smoothing` and describes them on the card. A tone match
fitted afterwards (`musicsim export tone`) is fitted on smoothed takes, as the studio plays them.
"""

from __future__ import annotations

from pathlib import Path

from musicsim_gui.generation.vit_wavegan.smoothing import TemporalSmoothing
from musicsim_gui.runtime.manifest import Manifest
from musicsim_gui.training.vit_wavegan.card_settings import install_setting

CARD_LINE_PREFIX = "- Temporal smoothing:"


def card_line(smoothing: TemporalSmoothing) -> str:
    """The model card's line describing `smoothing`."""
    windows = ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in smoothing.seconds.items())
    return (f"{CARD_LINE_PREFIX} each loop's magnitude spectrum averaged over a short window, phases kept, for the "
            f"sustained instruments ({windows or 'none'}; chosen on the valid split's FAD; see "
            "`generation/vit_wavegan/smoothing.py`). `musicsim generate --no-smoothing` turns it off.")


def install_smoothing(folder: Path, smoothing: TemporalSmoothing) -> Manifest:
    """Store `smoothing` in the model folder's manifest and card (replacing an earlier one); the manifest."""
    return install_setting(folder, "temporal_smoothing", smoothing.to_dict(), card_line(smoothing),
                           CARD_LINE_PREFIX, after=("- Tone match:", "- Bandwidth extension:"))
