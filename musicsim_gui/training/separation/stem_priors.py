"""Per-stem prior weights of a mask separator: fitted on validation songs, stored in its model folder.

The network's softmax shares each bin among the stems in proportions learned from augmented training
mixes (stems remixed across songs, random gains, some silenced), whose balance is not that of whole songs.
A prior weight per stem corrects that balance without retraining: masks become m_s w_s / Σ_k m_k w_k, the
same as adding log w_s to stem s's logits (see `separation.builtin.reweight_masks`).

Fitting (`fit_stem_priors`): the network runs once per validation excerpt and its masks are kept; a
coordinate search over log w (the first stem held at 1; steps of 0.6, 0.3 and 0.15 in log w) keeps every move
that raises the mean SDR over stems — the same scoring as `musicsim eval separation`, through the separator's
own Wiener filter and iSTFT — by more than `min_gain_db`.

`install_stem_priors` writes the weights and the fit's figures into the manifest's config and regenerates the
model card; test figures measured without these weights are removed from the metrics, so a stale number is
never shown (re-run `musicsim eval separation --record`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from musicsim_gui.core.atomic import atomic_write_text
from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.runtime.manifest import Manifest

LOG_STEPS = (0.6, 0.3, 0.15)
MAX_SWEEPS = 3
"""Sweeps over the stems per step size (the search moves on to a finer step once a sweep changes nothing)."""


@dataclass
class PriorFit:
    """The fitted weights and the mean SDR (dB) per stem and overall before and after, on `songs` excerpts."""

    weights: dict[str, float]
    before: dict[str, float]
    after: dict[str, float]
    songs: int
    trials: int


def fit_stem_priors(model_dir: str | Path, songs: list[Path], seconds: float | None = 30.0,
                    min_gain_db: float = 0.01, log: Callable[[str], None] = print) -> PriorFit:
    """Fit the separator in `model_dir`'s stem priors on the middle `seconds` of each of `songs` (corpus song
    folders); the model's own stored priors are ignored, so a refit starts from equal weights."""
    from musicsim_gui.evaluation.separation import load_excerpt, score
    from musicsim_gui.separation.builtin import open_masknet, reweight_masks
    from musicsim_gui.separation.masking import separate_with_masks

    if not songs:
        raise MusicSimError("no validation songs to fit the stem priors on")
    separator = open_masknet(Path(model_dir), backend="onnx")
    separator.stem_priors = None
    stems = separator.config.stems
    excerpts = [load_excerpt(song, seconds) for song in songs]
    network_masks: list[list[np.ndarray]] = []
    for excerpt in excerpts:  # run the network once per excerpt; chunks are separated in order
        chunks: list[np.ndarray] = []
        separate_with_masks(excerpt.mix, lambda magnitude, kept=chunks: _keep(kept, separator.masks(magnitude)),
                            separator.settings)
        network_masks.append(chunks)

    def mean_sdr(log_weights: np.ndarray) -> dict[str, float]:
        weights = np.asarray(_stored_weights(log_weights), dtype=np.float32)  # exactly what will be stored
        totals = {stem: [] for stem in stems}
        for excerpt, chunks in zip(excerpts, network_masks, strict=True):
            replay = iter(chunks)
            out = separate_with_masks(excerpt.mix,
                                      lambda _magnitude, kept=replay: reweight_masks(next(kept), weights),
                                      separator.settings)
            for stem, value in score(excerpt.stems, {s: out[s].samples for s in stems}).items():
                totals[stem].append(value["sdr"])
        row = {stem: float(np.nanmean(values)) for stem, values in totals.items()}
        row["mean"] = float(np.mean([row[stem] for stem in stems]))
        return row

    current = np.zeros(len(stems))
    before = best = mean_sdr(current)
    log(f"equal weights: mean SDR {before['mean']:.2f} dB")
    trials = 1
    for step in LOG_STEPS:
        for _sweep in range(MAX_SWEEPS):
            moved = False
            for index in range(1, len(stems)):
                for sign in (1.0, -1.0):
                    trial = current.copy()
                    trial[index] += sign * step
                    row = mean_sdr(trial)
                    trials += 1
                    if row["mean"] > best["mean"] + min_gain_db:
                        current, best, moved = trial, row, True
                        log(f"{stems[index]} log weight {trial[index]:+.2f}: mean SDR {row['mean']:.2f} dB")
                        break
            if not moved:
                break
    weights = dict(zip(stems, _stored_weights(current), strict=True))
    return PriorFit(weights=weights, before=before, after=best, songs=len(excerpts), trials=trials)


def describe_weights(weights: dict[str, float]) -> str:
    """`"bass 1, drums 0.7408, ..."`: prior weights as the commands print them and the model card shows them."""
    return ", ".join(f"{stem} {weight:g}" for stem, weight in weights.items())


def _stored_weights(log_weights: np.ndarray) -> list[float]:
    return [round(float(np.exp(value)), 4) for value in log_weights]


def _keep(chunks: list[np.ndarray], masks: np.ndarray) -> np.ndarray:
    chunks.append(masks)
    return masks


def install_stem_priors(model_dir: str | Path, fit: PriorFit, data: str | Path, version: str | None = None,
                        note: str | None = None) -> Manifest:
    """Store `fit` (made on the split folder `data`) in `model_dir`'s manifest (config `stem_priors` and
    `stem_priors_fit`, which names the split as `corpus/split`) and model card; with `version`, the model becomes
    that version, and `note` (what changed) joins its history."""
    from musicsim_gui.runtime.manifest import load_manifest, write_manifest
    from musicsim_gui.training.separation.model_card import model_card

    model_dir = Path(model_dir)
    manifest = load_manifest(model_dir, verify=True)
    if manifest.family != "masknet":
        raise MusicSimError(f"{model_dir}: stem priors apply to the built-in mask network, not {manifest.family!r}")
    data = Path(data)
    data_name = f"{data.parent.name}/{data.name}" if data.parent.name else data.name
    config = dict(manifest.config, stem_priors=fit.weights,
                  stem_priors_fit={"data": data_name, "songs": fit.songs,
                                   "sdr_before": {k: round(v, 2) for k, v in fit.before.items()},
                                   "sdr_after": {k: round(v, 2) for k, v in fit.after.items()}})
    if note:
        config["history"] = [*config.get("history", []), {"version": version or manifest.version, "text": note}]
    metrics = {k: v for k, v in manifest.metrics.items() if not k.startswith("test_")}
    updated = replace(manifest, config=config, metrics=metrics, version=version or manifest.version)
    write_manifest(model_dir, updated)
    atomic_write_text(model_dir / "MODEL_CARD.md", model_card(updated))
    return updated
