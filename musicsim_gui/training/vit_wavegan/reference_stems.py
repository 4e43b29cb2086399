"""The reference's own stems, for generators that match their takes to them, separated from the reference.

A ViT+WaveGAN model with a reference match (`generation/vit_wavegan/reference_match.py`) moves each take towards
the reference's part for its instrument. The studio passes the project's separated stems; the command line reads
a stems folder or separates the reference itself (through the separation cache, so a song separated once is not
separated again); the evaluation separates each test mix, so takes are scored as the studio delivers them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.instruments import INSTRUMENTS

if TYPE_CHECKING:
    from musicsim_gui.separation.base import Separator


def wants_reference_stems(generator: Any) -> bool:
    """Whether `generator` uses the reference's stems (a ViT+WaveGAN model with a reference match or a
    harmony)."""
    return bool(getattr(generator, "follows_stems", False))


def separate_reference(reference: AudioClip, separator: str | Separator = "builtin", backend: str = "auto",
                       device: str = "auto", cache: bool = True) -> dict[str, AudioClip]:
    """The reference split into its stems by `separator`: a separator's name (opened here, cached by content
    when `cache`) or one already open, for callers that split many references with the same model."""
    from musicsim_gui.separation.base import get_separator

    if isinstance(separator, str):
        separator = get_separator(separator, backend=backend, device=device, cache=cache)
    stems = separator.separate(reference)
    return {name: clip for name, clip in stems.items() if name in INSTRUMENTS}
