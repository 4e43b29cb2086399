"""Storing a model folder's reference match (`generation/vit_wavegan/reference_match.py`): manifest and card line.

The strengths are chosen on the valid split's FAD per instrument (an evaluation run per candidate setting, the
valid songs' mixes separated by the built-in separator, as the studio would), not fitted here; installing stores
them as `config.reference_match` and describes them on the card. The final tone (step 5 of the match) is
fitted (`tone_fit.fit_match_tone`) and stored with the strengths it was fitted for; storing new strengths
drops it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musicsim_gui.generation.vit_wavegan.reference_match import ReferenceMatch
from musicsim_gui.runtime.manifest import Manifest
from musicsim_gui.training.vit_wavegan.card_settings import install_setting

CARD_LINE_PREFIX = "- Reference match:"


def card_line(match: ReferenceMatch) -> str:
    """The model card's line describing `match`."""
    strengths = ", ".join(f"{name} {mean:g}/{std:g}" for name, (mean, std) in match.strengths.items())
    contour = ", ".join(f"{name} {weight:g}/{seconds:g} s" for name, (weight, seconds) in match.contour.items())
    follows = (f"; and each take rises and falls with that part over the song (strength/smoothing: {contour})"
               if contour else "")
    tone = ""
    if match.tone is not None:
        largest = ", ".join(
            f"{name} {values[k]:+.0f} dB at {match.tone.centres_hz[k] / 1000:.1f} kHz"
            for name, values in match.tone.gains_db.items() for k in [int(np.argmax(np.abs(values)))])
        by = f" by {match.tone_separator}" if match.tone_separator else ""
        tone = (f"; matched takes then get a final equaliser over {len(match.tone.centres_hz)} mel bands, fitted "
                f"on takes made as delivered from training songs' mixes separated{by} against their true stems "
                f"(largest moves: {largest})")
    return (f"{CARD_LINE_PREFIX} with the reference's separated stems known, each take's band tone and band "
            f"dynamics are moved towards its instrument's part in the reference (strengths mean/deviation: "
            f"{strengths or 'none'}){follows}; chosen on the valid split's FAD{tone}; see "
            "`generation/vit_wavegan/reference_match.py`. `musicsim generate --no-reference-match` turns it off.")


def install_reference_match(folder: Path, match: ReferenceMatch) -> Manifest:
    """Store `match` in the model folder's manifest and card (replacing an earlier one); the manifest."""
    return install_setting(folder, "reference_match", match.to_dict(), card_line(match), CARD_LINE_PREFIX,
                           after=("- Temporal smoothing:", "- Tone match:"))
