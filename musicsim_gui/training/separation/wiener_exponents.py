"""Per-stem exponents of a mask separator's Wiener filter: fitted on validation songs, stored in its model folder.

The multichannel Wiener filter (`separation/wiener.py`) models each stem's power as the mean over channels of
m |x|². How sharply that power should follow the masks differs from stem to stem: where a network hands a
stem low masks it may still be playing (a sustained piano under the drums), and raising the masks to an
exponent below 1 before they become powers lends it more there. `v_j = mean over channels of m_j^e_j |x|²`.

Fitting (`fit_wiener_exponents`): the network runs once per validation excerpt and its masks are kept
(`stem_priors.ValidationReplays`, with the folder's stored stem priors applied as it separates); a coordinate
search over the exponents (from 1; steps of 0.15, then 0.075; each within [`LOWEST`, `HIGHEST`]) keeps every
move that raises the mean SDR over stems, scored as `musicsim eval separation` scores, by more than
`min_gain_db`. `install_wiener_exponents` writes them and the fit's figures into the manifest's config and
regenerates the model card; test figures measured without them are removed from the metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.runtime.manifest import Manifest
from musicsim_gui.separation.masknet_config import FAMILY

STEPS = (0.15, 0.075)
MAX_SWEEPS = 4
"""Sweeps over the stems per step size (the search moves on to the finer step once a sweep changes nothing)."""
LOWEST, HIGHEST = 0.3, 2.5


@dataclass
class ExponentFit:
    """The fitted exponent per stem and the mean SDR (dB) per stem and overall before (all 1) and after."""

    exponents: dict[str, float]
    before: dict[str, float]
    after: dict[str, float]
    songs: int
    trials: int


def fit_wiener_exponents(model_dir: str | Path, songs: list[Path], seconds: float | None = 30.0,
                         min_gain_db: float = 0.005, log: Callable[[str], None] = print) -> ExponentFit:
    """Fit the Wiener power exponents of the separator in `model_dir` on the middle `seconds` of each of `songs`
    (corpus song folders); its stored exponents are ignored, so a refit starts from 1 for every stem.

    Raises:
        MusicSimError: no songs, or the folder's separator has no Wiener filter to shape.
    """
    from musicsim_gui.separation.builtin import open_masknet
    from musicsim_gui.training.separation.stem_priors import ValidationReplays

    if not songs:
        raise MusicSimError("no validation songs to fit the Wiener exponents on")
    separator = open_masknet(Path(model_dir), backend="onnx")
    if not separator.settings.wiener:
        raise MusicSimError(f"{model_dir}: the separator has no Wiener filter (config wiener) to fit exponents for")
    stems = separator.config.stems
    plain = replace(separator.settings, power_exponents=None)
    separator.settings = plain
    replays = ValidationReplays(separator, songs, seconds)

    def mean_sdr(exponents: list[float]) -> dict[str, float]:
        separator.settings = replace(plain, power_exponents=tuple(exponents))
        return replays.mean_sdr()

    current = [1.0] * len(stems)
    before = best = mean_sdr(current)
    log(f"exponents 1: mean SDR {before['mean']:.3f} dB")
    trials = 1
    for step in STEPS:
        for _sweep in range(MAX_SWEEPS):
            moved = False
            for index, stem in enumerate(stems):
                for sign in (1.0, -1.0):
                    trial = list(current)
                    trial[index] = round(trial[index] + sign * step, 3)
                    if not LOWEST <= trial[index] <= HIGHEST:
                        continue
                    row = mean_sdr(trial)
                    trials += 1
                    if row["mean"] > best["mean"] + min_gain_db:
                        current, best, moved = trial, row, True
                        log(f"{stem} exponent {trial[index]:g}: mean SDR {row['mean']:.3f} dB")
                        break
            if not moved:
                break
    return ExponentFit(dict(zip(stems, current, strict=True)), before, best, len(songs), trials)


def install_wiener_exponents(model_dir: str | Path, fit: ExponentFit, data: str | Path, version: str | None = None,
                             note: str | None = None) -> Manifest:
    """Store `fit` (made on the split folder `data`) in `model_dir`'s manifest (config `wiener_exponents` and
    `wiener_exponents_fit`) and model card; with `version`, the model becomes that version, and `note` joins its
    history."""
    from musicsim_gui.runtime.manifest import load_manifest
    from musicsim_gui.training.separation.stem_priors import store_post_filters

    model_dir = Path(model_dir)
    manifest = load_manifest(model_dir, verify=True)
    if manifest.family != FAMILY:
        raise MusicSimError(f"{model_dir}: Wiener exponents apply to the built-in mask network, not "
                            f"{manifest.family!r}")
    data = Path(data)
    config = dict(manifest.config, wiener_exponents=fit.exponents,
                  wiener_exponents_fit={"data": f"{data.parent.name}/{data.name}" if data.parent.name else data.name,
                                        "songs": fit.songs,
                                        "sdr_before": {k: round(v, 3) for k, v in fit.before.items()},
                                        "sdr_after": {k: round(v, 3) for k, v in fit.after.items()}})
    return store_post_filters(model_dir, manifest, config, version, note)
