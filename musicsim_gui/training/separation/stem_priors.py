"""Per-stem prior weights of a mask separator: fitted on validation songs, stored in its model folder.

The network's softmax shares each bin among the stems in proportions learned from augmented training
mixes (stems remixed across songs, random gains, some silenced), whose balance is not that of whole songs.
A prior weight per stem corrects that balance without retraining: masks become m_s w_s / Σ_k m_k w_k, the
same as adding log w_s to stem s's logits (see `separation.builtin.reweight_masks`). The balance need not be
the same at every frequency (the network may hand the drums too much of the highs but too little of the low
mids), so the weights may also be one per stem and frequency region (`edges_hz`, e.g. 250, 1000, 4000 Hz).

Fitting (`fit_stem_priors`): the network runs once per validation excerpt and its masks are kept; a
coordinate search over log w (the first stem held at 1 in every region; steps of 0.6, 0.3 and 0.15 in log w)
keeps every move that raises the mean SDR over stems — the same scoring as `musicsim eval separation`,
through the separator's own Wiener filter and iSTFT, with each reference's SDR statistics computed once
(`evaluation.separation.ReferenceSdr`) — by more than `min_gain_db`. With regions, the search first moves
each stem's weight in every region together (one weight per stem), then region by region from there.

`install_stem_priors` writes the weights and the fit's figures into the manifest's config and regenerates the
model card; test figures measured without these weights are removed from the metrics, so a stale number is
never shown (re-run `musicsim eval separation --record`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from musicsim_gui.core.atomic import atomic_write_text
from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.runtime.manifest import Manifest
from musicsim_gui.separation.masknet_config import FAMILY

DEFAULT_EDGES_HZ = (250.0, 1000.0, 4000.0)
"""Frequency regions the commands fit by default: bass fundamentals, low mids, mids, highs."""
LOG_STEPS = (0.6, 0.3, 0.15)
MAX_SWEEPS = 3
"""Sweeps over the coordinates per step size (the search moves on to a finer step once a sweep changes nothing)."""

PriorWeight = float | list[float]


@dataclass
class PriorFit:
    """The fitted weights (one per stem, or one per stem and region split at `edges_hz`) and the mean SDR (dB)
    per stem and overall before and after, on `songs` excerpts."""

    weights: dict[str, PriorWeight]
    before: dict[str, float]
    after: dict[str, float]
    songs: int
    trials: int
    edges_hz: list[float] = field(default_factory=list)


def fit_stem_priors(model_dir: str | Path, songs: list[Path], seconds: float | None = 30.0,
                    edges_hz: tuple[float, ...] | list[float] = (), min_gain_db: float = 0.01,
                    log: Callable[[str], None] = print) -> PriorFit:
    """Fit the separator in `model_dir`'s stem priors on the middle `seconds` of each of `songs` (corpus song
    folders), one weight per stem or, with `edges_hz`, per stem and frequency region; the model's own stored
    priors are ignored, so a refit starts from equal weights."""
    from musicsim_gui.separation.builtin import (
        ascending_positive,
        bin_frequencies,
        open_masknet,
        reweight_masks,
        stem_prior_weights,
    )

    if not songs:
        raise MusicSimError("no validation songs to fit the stem priors on")
    edges = [float(edge) for edge in edges_hz]
    if not ascending_positive(edges):
        raise MusicSimError(f"stem prior regions {edges} Hz: need ascending positive frequencies")
    separator = open_masknet(Path(model_dir), backend="onnx")
    separator.stem_priors = None
    stems = separator.config.stems
    frequencies = bin_frequencies(separator.config)
    replays = ValidationReplays(separator, songs, seconds)

    def mean_sdr(log_weights: np.ndarray) -> dict[str, float]:
        weights = stem_prior_weights(_stored_weights(stems, log_weights), stems, edges, frequencies)  # as stored
        return replays.mean_sdr(lambda chunks: [reweight_masks(masks, weights) for masks in chunks])

    regions = len(edges) + 1
    current = np.zeros((len(stems), regions))
    before = best = mean_sdr(current)
    log(f"equal weights: mean SDR {before['mean']:.2f} dB")
    trials = 1
    whole_stems = [(index, slice(None)) for index in range(1, len(stems))]
    per_region = [(index, slice(region, region + 1)) for index in range(1, len(stems)) for region in range(regions)]
    for coordinates in (whole_stems, per_region) if regions > 1 else (whole_stems,):
        for step in LOG_STEPS:
            for _sweep in range(MAX_SWEEPS):
                moved = False
                for index, where in coordinates:
                    for sign in (1.0, -1.0):
                        trial = current.copy()
                        trial[index, where] += sign * step
                        row = mean_sdr(trial)
                        trials += 1
                        if row["mean"] > best["mean"] + min_gain_db:
                            current, best, moved = trial, row, True
                            log(f"{stems[index]}{_region_name(edges, where)} log weight "
                                f"{np.round(trial[index, where], 2).tolist()}: mean SDR {row['mean']:.2f} dB")
                            break
                if not moved:
                    break
    return PriorFit(weights=_stored_weights(stems, current), before=before, after=best, songs=len(songs),
                    trials=trials, edges_hz=edges)


def describe_weights(weights: dict[str, PriorWeight]) -> str:
    """`"bass 1, drums 0.7408, ..."` (per-region weights joined by "/"): prior weights as the commands print them
    and the model card shows them."""
    return ", ".join(f"{stem} {'/'.join(f'{w:g}' for w in weight) if isinstance(weight, list) else f'{weight:g}'}"
                     for stem, weight in weights.items())


def parse_edges(text: str) -> tuple[float, ...]:
    """`--regions` of the commands: "250,1000,4000" (Hz), or "none" for one weight per stem."""
    from musicsim_gui.separation.builtin import ascending_positive

    if text.strip().lower() in ("none", ""):
        return ()
    try:
        edges = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise MusicSimError(f"--regions {text!r}: give frequencies in Hz separated by commas, or none") from None
    if not ascending_positive(edges):
        raise MusicSimError(f"--regions {text!r}: the frequencies must be positive and ascending")
    return edges


def describe_regions(edges_hz: list[float]) -> str:
    """`"below 250 Hz, 250-1000 Hz, 1000-4000 Hz, above 4000 Hz"` for edges 250, 1000, 4000."""
    if not edges_hz:
        return "the whole spectrum"
    inner = [f"{a:g}-{b:g} Hz" for a, b in zip(edges_hz, edges_hz[1:], strict=False)]
    return ", ".join([f"below {edges_hz[0]:g} Hz", *inner, f"above {edges_hz[-1]:g} Hz"])


def _region_name(edges_hz: list[float], where: slice) -> str:
    if not edges_hz or where.start is None:
        return ""
    bounds = [0.0, *edges_hz, float("inf")]
    low, high = bounds[where.start], bounds[where.start + 1]
    return f" {low:g}-{high:g} Hz" if np.isfinite(high) else f" above {low:g} Hz"


def _stored_weights(stems: tuple[str, ...], log_weights: np.ndarray) -> dict[str, PriorWeight]:
    """Weights exactly as the manifest keeps them: one number per stem when every region agrees, else a list."""
    rounded = np.round(np.exp(log_weights), 4)
    if log_weights.shape[1] == 1:
        return {stem: float(row[0]) for stem, row in zip(stems, rounded, strict=True)}
    return {stem: [float(w) for w in row] for stem, row in zip(stems, rounded, strict=True)}


class ValidationReplays:
    """Validation excerpts with the network's masks of each kept, scored again after a change to the masks or
    to the separator's filters without running the network again (what the fits here search over)."""

    def __init__(self, separator, songs: list[Path], seconds: float | None) -> None:
        from musicsim_gui.evaluation.separation import ReferenceSdr, is_silent_stem, load_excerpt

        self.separator = separator
        self.stems = separator.config.stems
        self.excerpts = [load_excerpt(song, seconds) for song in songs]
        self.scorers = [{stem: None if is_silent_stem(excerpt.stems, stem)
                         else ReferenceSdr(excerpt.stems[stem].mean(axis=0)) for stem in self.stems}
                        for excerpt in self.excerpts]
        # The network runs once per excerpt; chunks are separated in order.
        self.network_masks = [_network_masks(separator, excerpt.mix) for excerpt in self.excerpts]

    def mean_sdr(self, masks_of: Callable[[list[np.ndarray]], list[np.ndarray]] = list) -> dict[str, float]:
        """Mean SDR per stem and overall ("mean") of the excerpts separated through the separator's filters
        as they are now, with each excerpt's chunk masks passed through `masks_of`."""
        totals: dict[str, list[float]] = {stem: [] for stem in self.stems}
        for excerpt, chunks, scorer in zip(self.excerpts, self.network_masks, self.scorers, strict=True):
            out = _replay(self.separator, excerpt.mix, masks_of(chunks))
            for stem in self.stems:
                totals[stem].append(float("nan") if scorer[stem] is None
                                    else scorer[stem](out[stem].samples.mean(axis=0)))
        row = {stem: float(np.nanmean(values)) for stem, values in totals.items()}
        row["mean"] = float(np.mean([row[stem] for stem in self.stems]))
        return row


def _network_masks(separator, mix) -> list[np.ndarray]:
    """The masks `separator` gives each chunk of `mix`, in order (a song-wide one's with the song's context)."""
    from musicsim_gui.separation.builtin import SongContext
    from musicsim_gui.separation.masking import hear_song, separate_with_masks

    if separator.song_wide:
        context = SongContext(separator)
        return [context.masks(index) for index in range(hear_song(mix, context, separator.settings))]
    chunks: list[np.ndarray] = []

    def keep(magnitude: np.ndarray) -> np.ndarray:
        chunks.append(separator.masks(magnitude))
        return chunks[-1]

    separate_with_masks(mix, keep, separator.settings)
    return chunks


class _GivenMasks:
    """A `masking.SongMasks` whose masks are already known (the network is not run again)."""

    def __init__(self, chunks: list[np.ndarray]) -> None:
        self.chunks = chunks

    def hear(self, magnitude: np.ndarray) -> None:
        pass

    def masks(self, index: int) -> np.ndarray:
        return self.chunks[index]


def _replay(separator, mix, chunks: list[np.ndarray]):
    """Stems of `mix` from these masks of its chunks, through `separator`'s filters (as it separates)."""
    from musicsim_gui.separation.masking import separate_song, separate_with_masks

    if separator.song_wide:
        return separate_song(mix, _GivenMasks(chunks), separator.settings)
    replay = iter(chunks)
    return separate_with_masks(mix, lambda _magnitude: next(replay), separator.settings)


def install_stem_priors(model_dir: str | Path, fit: PriorFit, data: str | Path, version: str | None = None,
                        note: str | None = None) -> Manifest:
    """Store `fit` (made on the split folder `data`) in `model_dir`'s manifest (config `stem_priors` and
    `stem_priors_fit`, which names the split as `corpus/split`) and model card; with `version`, the model becomes
    that version, and `note` (what changed) joins its history."""
    from musicsim_gui.runtime.manifest import load_manifest

    model_dir = Path(model_dir)
    manifest = load_manifest(model_dir, verify=True)
    if manifest.family != FAMILY:
        raise MusicSimError(f"{model_dir}: stem priors apply to the built-in mask network, not {manifest.family!r}")
    data = Path(data)
    data_name = f"{data.parent.name}/{data.name}" if data.parent.name else data.name
    config = dict(manifest.config, stem_priors=fit.weights,
                  stem_priors_fit={"data": data_name, "songs": fit.songs,
                                   "sdr_before": {k: round(v, 2) for k, v in fit.before.items()},
                                   "sdr_after": {k: round(v, 2) for k, v in fit.after.items()}})
    config.pop("stem_prior_edges_hz", None)
    if fit.edges_hz:
        config["stem_prior_edges_hz"] = list(fit.edges_hz)
    return store_post_filters(model_dir, manifest, config, version, note)


def store_post_filters(model_dir: Path, manifest: Manifest, config: dict, version: str | None,
                       note: str | None) -> Manifest:
    """Write `config` (the manifest's with changed post-filters) into `model_dir`'s manifest and card; the
    test figures, measured without the change, are removed; with `version` the model becomes that version and
    `note` joins its history."""
    from musicsim_gui.runtime.manifest import write_manifest
    from musicsim_gui.training.separation.model_card import model_card

    if note:
        config["history"] = [*config.get("history", []), {"version": version or manifest.version, "text": note}]
    metrics = {k: v for k, v in manifest.metrics.items() if not k.startswith("test_")}
    updated = replace(manifest, config=config, metrics=metrics, version=version or manifest.version)
    write_manifest(model_dir, updated)
    atomic_write_text(model_dir / "MODEL_CARD.md", model_card(updated))
    return updated
