"""Fitting a model folder's tone match (`generation/vit_wavegan/tone.py`) on a corpus and storing it in the folder.

1. The folder's generator (on the CPU: ONNX Runtime, or torch for a folder with weights only; any tone
   match it had switched off) makes one take per instrument from each of up to `songs` training songs'
   mixes, as the studio gets them (output rate, default arrangement), `seconds` long; the seeds are fixed,
   so a refit on the same corpus gives the same gains.
2. The real stems are the middle `seconds` of the same songs, channels averaged.
3. `tone.fit_tone` turns both into per-instrument gains; `install_tone_match` writes them into the manifest
   (`config.tone_match`) and a line into `MODEL_CARD.md`, and updates the card's hash, atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musicsim_gui.audio.io import load_audio
from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.generation.base import GenerationRequest
from musicsim_gui.generation.vit_wavegan.tone import ToneMatch, fit_tone
from musicsim_gui.runtime.manifest import Manifest
from musicsim_gui.training.vit_wavegan.card_settings import install_setting

CARD_LINE_PREFIX = "- Tone match:"
FIT_SEED = 1000


def _middle(audio: np.ndarray, frames: int) -> np.ndarray:
    start = max(0, (audio.shape[-1] - frames) // 2)
    return audio[start: start + frames]


def fit_model_tone(folder: Path, corpus: Path, songs: int = 30, seconds: float = 30.0, log=print) -> ToneMatch:
    """The tone match of the model in `folder`, fitted on `corpus`'s train split (see module docstring).

    Raises:
        MusicSimError: the corpus has no training songs.
    """
    from musicsim_gui.generation.vit_wavegan.loading import load_folder
    from musicsim_gui.training.vit_wavegan.dataset import song_folders

    folders = song_folders(Path(corpus), "train")
    if not folders:
        raise MusicSimError(f"{corpus}/train: no song folders to fit the tone match on")
    chosen = folders[:: max(1, len(folders) // songs)][:songs]
    generator = load_folder(Path(folder), backend="auto", device="cpu")
    generator.tone = None
    real: dict[str, list[np.ndarray]] = {name: [] for name in INSTRUMENTS}
    takes: dict[str, list[np.ndarray]] = {name: [] for name in INSTRUMENTS}
    rate = None
    for index, song in enumerate(chosen):
        log(f"tone match: {song.name} ({index + 1} of {len(chosen)})")
        request = GenerationRequest(load_audio(song / "mix.flac"), INSTRUMENTS, (FIT_SEED + index,), 1,
                                    {"seconds": seconds})
        for take in generator.generate(request):
            rate = rate or take.clip.sample_rate
            takes[take.instrument].append(take.clip.samples.mean(axis=0))
        for name in INSTRUMENTS:
            stem = load_audio(song / f"{name}.flac")
            if stem.sample_rate != rate:
                raise MusicSimError(f"{song / (name + '.flac')}: {stem.sample_rate} Hz, the takes are {rate} Hz")
            real[name].append(_middle(stem.samples.mean(axis=0), int(seconds * rate)))
    try:
        return fit_tone(real, takes, int(rate))
    except ValueError as error:
        raise MusicSimError(f"{corpus}: {error}") from error


def card_line(match: ToneMatch) -> str:
    """The model card's line describing a fitted tone match (the deepest cut per instrument)."""
    deepest = ", ".join(f"{name} {min(values):.0f} dB at {match.centres_hz[int(np.argmin(values))] / 1000:.1f} kHz"
                        for name, values in match.gains_db.items())
    return (f"{CARD_LINE_PREFIX} per-instrument equaliser over {len(match.centres_hz)} mel bands, fitted so the "
            f"takes' typical frame has the training stems' spectral shape (deepest cuts: {deepest}; see "
            "`generation/vit_wavegan/tone.py`).")


def install_tone_match(folder: Path, match: ToneMatch) -> Manifest:
    """Store `match` in the model folder's manifest and card (replacing an earlier one) and return the manifest."""
    return install_setting(folder, "tone_match", match.to_dict(), card_line(match), CARD_LINE_PREFIX,
                           after=("- Bandwidth extension:",))
