"""Blind-test trials: which generated clip is compared with which real one, in which order, and the verdict.

The MuSiC paper's listening test: the listener hears the real clip and a generated one in random order and
says which is generated; the generated clip "fooled" them when they pick the real one. Per instrument, every
take of the track is compared with the track's reference stem; for the whole mix, the project's mix as heard
(rendered to `<project>/blind_tests/mix_<time>.flac`, so the judgement keeps a file) with the reference song.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

MIX = "mix"


@dataclass(frozen=True)
class BlindTrial:
    """One comparison. `generated_first`: clip A (played first) is the generated one."""

    instrument: str
    model_id: str
    model_version: str
    generated_path: Path
    reference_path: Path
    generated_first: bool

    def paths(self) -> tuple[Path, Path]:
        """The files of clip A and clip B."""
        if self.generated_first:
            return self.generated_path, self.reference_path
        return self.reference_path, self.generated_path

    def verdict(self, picked_generated: str, preferred: str | None) -> tuple[bool, str | None]:
        """(fooled, preferred as 'generated'/'reference'/None) from the listener's answers 'A'/'B'."""
        generated = "A" if self.generated_first else "B"
        fooled = picked_generated != generated
        if preferred is None:
            return fooled, None
        return fooled, "generated" if preferred == generated else "reference"


def instrument_trials(project, instrument: str, rng: random.Random) -> list[BlindTrial]:
    """One trial per take of `instrument` whose file exists, against its reference stem ([] without a stem)."""
    track = project.track(instrument)
    if not track.reference_stem:
        return []
    stem = project.resolve(track.reference_stem)
    trials = [BlindTrial(instrument, take.model_id, take.model_version, project.take_audio_path(take), stem,
                         rng.random() < 0.5)
              for take in track.takes if project.take_audio_path(take).is_file()]
    rng.shuffle(trials)
    return trials


def mix_trial(project, rng: random.Random) -> BlindTrial | None:
    """The project's mix against the reference song (None when no track has a chosen take)."""
    from musicsim_gui.audio.io import save_audio
    from musicsim_gui.audio.project_render import render_project

    chosen = [track.chosen_take for track in project.tracks.values() if track.chosen_take is not None]
    if not chosen:
        return None
    models = sorted({take.model_id for take in chosen})
    versions = sorted({take.model_version for take in chosen})
    path = project.folder / "blind_tests" / f"mix_{time.strftime('%Y%m%d-%H%M%S')}.flac"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_audio(path, render_project(project), bit_depth=24)
    return BlindTrial(MIX, "+".join(models), "+".join(versions), path, project.reference_file, rng.random() < 0.5)
