"""`Audition`: plays single clips through the studio's engine for listening tests, then gives the mix back.

While a listening test runs, the engine plays one clip alone (`play(clip)`); `finish()` puts the project's
tracks and the reference back exactly as the project controller set them (the files it reports through
`engine_path`), so the studio sounds as before. With no engine every call is a no-op and `available` is False.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.mixkernel import ChannelStrip
from musicsim_gui.core.instruments import INSTRUMENTS


def load_clip(path: Path) -> AudioClip:
    """Decode `path` (reusing the studio's decode cache)."""
    from musicsim_gui.audio.project_render import load_cached

    return load_cached(Path(path))


class Audition:
    """See the module docstring. `controller` is the window's `ProjectController`."""

    def __init__(self, controller) -> None:
        self.controller = controller
        self.engine = getattr(controller, "engine", None)
        self.current: str | None = None
        self._taken = False

    @property
    def available(self) -> bool:
        return self.engine is not None and bool(getattr(self.engine, "available", True))

    def play(self, clip: AudioClip, label: str = "") -> None:
        """Play `clip` alone from its start (replacing whatever the test played before)."""
        self.current = label
        if self.engine is None:
            return
        self._taken = True
        self.engine.stop()
        self.engine.set_sources([clip], [ChannelStrip()], 0.0)
        self.engine.seek(0.0)
        self.engine.play()

    def stop(self) -> None:
        self.current = None
        if self.engine is not None:
            self.engine.stop()

    def finish(self) -> None:
        """Stop and give the engine back the project's tracks and the reference song."""
        self.stop()
        if self.engine is None or not self._taken or self.controller.project is None:
            return
        self._taken = False
        silence = AudioClip(np.zeros((1, 0), np.float32), self.controller.rate, "silence")
        clips = []
        for instrument in INSTRUMENTS:
            path = self.controller.engine_path(instrument)
            media = self.controller.media.get(path) if path is not None else None
            clips.append(media.clip if media is not None else silence)
        reference = self.controller.reference_media
        clips.append(reference.lane.clip if reference is not None else silence)
        self.engine.set_sources(clips, self.controller.strips(), self.controller.project.master_gain_db)
        self.engine.seek(0.0)
