"""Fitting a model folder's tone matches (`generation/vit_wavegan/tone.py`) on a corpus and storing them in the folder.

1. The folder's generator (on the CPU: ONNX Runtime, or torch for a folder with weights only; the equaliser
   being fitted switched off) makes one take per instrument from each of up to `songs` training songs'
   mixes, as the studio gets them (output rate, default arrangement), `seconds` long; the seeds are fixed,
   so a refit on the same corpus gives the same gains.
2. The real stems are `seconds` of the same songs, channels averaged: the middle for the model-wide tone
   match (`fit_model_tone`: takes made without the reference's stems); the first, the seconds the takes
   follow, for the reference match's final tone (`fit_match_tone`: takes made with the songs' mixes
   separated by the built-in separator, as the studio passes its separated stems, and matched to them).
3. `tone.fit_tone` turns both into per-instrument gains; `install_tone_match` writes the model-wide one into
   the manifest (`config.tone_match`), `install_match_tone` the final tone into `config.reference_match`, each
   with a line of `MODEL_CARD.md` and the card's hash, atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from musicsim_gui.audio.io import load_audio
from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.generation.base import GenerationRequest
from musicsim_gui.generation.vit_wavegan.tone import ToneMatch, fit_tone
from musicsim_gui.runtime.manifest import Manifest
from musicsim_gui.training.vit_wavegan.card_settings import install_setting

if TYPE_CHECKING:
    from musicsim_gui.separation.base import Separator

CARD_LINE_PREFIX = "- Tone match:"
FIT_SEED = 1000


def _middle(audio: np.ndarray, frames: int) -> np.ndarray:
    start = max(0, (audio.shape[-1] - frames) // 2)
    return audio[start: start + frames]


def _first(audio: np.ndarray, frames: int) -> np.ndarray:
    return audio[:frames]


def fit_model_tone(folder: Path, corpus: Path, songs: int = 30, seconds: float = 30.0, log=print) -> ToneMatch:
    """The tone match of the model in `folder`, fitted on `corpus`'s train split (see module docstring).

    Raises:
        MusicSimError: the corpus has no training songs.
    """
    from musicsim_gui.generation.vit_wavegan.loading import load_folder

    generator = load_folder(Path(folder), backend="auto", device="cpu")
    generator.finishing = replace(generator.finishing, tone=None)
    return _fit(generator, corpus, songs, seconds, INSTRUMENTS, _middle, None, "tone match", log)


def fit_match_tone(folder: Path, corpus: Path, songs: int = 30, seconds: float = 30.0,
                   instruments: tuple[str, ...] = INSTRUMENTS, separator: str | Separator = "builtin",
                   log=print) -> ToneMatch:
    """The final tone of the reference match of the model in `folder` for `instruments`, fitted on `corpus`'s
    train split with each mix separated by `separator` (a name, or a separator already open; see module
    docstring).

    Raises:
        MusicSimError: the model has no reference match, or the corpus has no training songs.
    """
    from musicsim_gui.generation.vit_wavegan.loading import load_folder
    from musicsim_gui.separation.base import get_separator
    from musicsim_gui.training.vit_wavegan.reference_stems import separate_reference

    generator = load_folder(Path(folder), backend="auto", device="cpu")
    if generator.finishing.reference_match is None:
        raise MusicSimError(f"{folder}: the model has no reference match to fit a final tone for "
                            "(`musicsim export reference-match` first)")
    generator.finishing = replace(generator.finishing,
                                  reference_match=replace(generator.finishing.reference_match, tone=None))
    splitter = get_separator(separator, cache=False) if isinstance(separator, str) else separator  # once for all
    return _fit(generator, corpus, songs, seconds, instruments, _first,
                lambda mix: separate_reference(mix, splitter), "reference match tone", log)


def _fit(generator, corpus: Path, songs: int, seconds: float, instruments: tuple[str, ...],
         section: Callable[[np.ndarray, int], np.ndarray], stems_of: Callable | None, what: str, log) -> ToneMatch:
    """Takes of `generator` for up to `songs` training songs (the reference's stems from `stems_of(mix)` when
    given) against the `section` of the songs' stems, fitted by `tone.fit_tone` for `instruments`."""
    from musicsim_gui.training.vit_wavegan.dataset import song_folders

    folders = song_folders(Path(corpus), "train")
    if not folders:
        raise MusicSimError(f"{corpus}/train: no song folders to fit the {what} on")
    chosen = folders[:: max(1, len(folders) // songs)][:songs]
    real: dict[str, list[np.ndarray]] = {name: [] for name in instruments}
    takes: dict[str, list[np.ndarray]] = {name: [] for name in instruments}
    rate = None
    for index, song in enumerate(chosen):
        log(f"{what}: {song.name} ({index + 1} of {len(chosen)})")
        mix = load_audio(song / "mix.flac")
        request = GenerationRequest(mix, tuple(instruments), (FIT_SEED + index,), 1, {"seconds": seconds},
                                    stems_of(mix) if stems_of is not None else None)
        for take in generator.generate(request):
            rate = rate or take.clip.sample_rate
            takes[take.instrument].append(take.clip.samples.mean(axis=0))
        for name in instruments:
            stem = load_audio(song / f"{name}.flac")
            if stem.sample_rate != rate:
                raise MusicSimError(f"{song / (name + '.flac')}: {stem.sample_rate} Hz, the takes are {rate} Hz")
            real[name].append(section(stem.samples.mean(axis=0), int(seconds * rate)))
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


def install_match_tone(folder: Path, tone: ToneMatch, separator: str = "") -> Manifest:
    """Store `tone` as the final tone of the folder's reference match (manifest and card line), with the
    separator (model and version, `separation.base.separator_label`) whose parts it was fitted on; the
    manifest. A fit for some of the instruments the match follows keeps the stored gains of the others.

    Raises:
        MusicSimError: the folder's manifest has no reference match, or `tone` covers only some instruments
            and the others' stored gains were fitted over other bands or on another separator's parts.
    """
    from musicsim_gui.generation.vit_wavegan.reference_match import ReferenceMatch
    from musicsim_gui.runtime.manifest import load_manifest
    from musicsim_gui.training.vit_wavegan.reference_match_install import install_reference_match

    data = load_manifest(Path(folder), verify=True).config.get("reference_match")
    if not data:
        raise MusicSimError(f"{folder}: the model has no reference match to store a final tone in")
    match = ReferenceMatch.from_dict(data)
    return install_reference_match(folder, replace(match, tone=_with_kept_gains(folder, match, tone, separator),
                                                   tone_separator=separator))


def _with_kept_gains(folder: Path, match, tone: ToneMatch, separator: str) -> ToneMatch:
    """`tone` plus the stored final-tone gains of the instruments the match follows that `tone` leaves out."""
    stored = match.tone
    kept = {} if stored is None else {name: gains for name, gains in stored.gains_db.items()
                                      if name not in tone.gains_db and match.applies_to(name)}
    if not kept:
        return tone
    same_bands = len(stored.centres_hz) == len(tone.centres_hz) and np.allclose(stored.centres_hz, tone.centres_hz,
                                                                                   rtol=0.0, atol=0.01)  # as stored
    if not same_bands or match.tone_separator != separator:
        fitted_on = f"{match.tone_separator or 'an unnamed separator'}'s parts"
        raise MusicSimError(f"{folder}: the final tone of {', '.join(kept)} was fitted on {fitted_on} over "
                            f"{len(stored.centres_hz)} bands, this fit on {separator or 'an unnamed separator'}'s "
                            f"over {len(tone.centres_hz)}; fit every instrument together (leave out "
                            "--instruments) so the stored tone has one origin")
    gains = {**kept, **tone.gains_db}
    order = sorted(gains, key=lambda name: INSTRUMENTS.index(name) if name in INSTRUMENTS else len(INSTRUMENTS))
    return ToneMatch(tone.centres_hz, {name: gains[name] for name in order})
