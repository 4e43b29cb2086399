"""Evaluating generators on the corpus test split: FAD per instrument against baselines, paper MSE, match rate.

Works for any registered generator (ViT+WaveGAN models, MusicGen, ...): takes are made as the studio gets them
(the generator's own output rate) and converted to mono 16 kHz by the same resampler as the real stems.
Protocol (all audio mono 16 kHz, `seconds` long, every candidate RMS-matched to the real stem it stands in for):
- real: each test song's true stems from `offset` s on — the reference set of the FAD.
- shuffled real: the true stems of ANOTHER test song (the next one, cyclically) from `offset + seconds` s —
  real music of the right kind that does not belong to the reference (the target a generator should approach).
- white / pink noise: the floor (drawn from a generator seeded with `seed`).
- each generator: one take per (song, instrument) from the song's mix, generation seed = `seed` + song index;
  a generator that matches its takes to the reference's stems gets the mix separated (the built-in separator
  by default, never the true stems), as the studio gives it the project's separated stems. A take runs on the
  reference's timeline from 0 s, as in the studio, so it is made `offset + seconds` long and scored from
  `offset` s on: the same span of the song as the real stems, where a take that follows its reference part
  (rises and falls with it, rests where it rests) is heard against the part it follows. (`aligned` False
  scores a `seconds` take's first `seconds` instead, the protocol before vit-wavegan-lofi 2.4, kept to compare
  with its figures: there a take followed the song's first seconds and was scored against the part from
  `offset` on.)
FAD uses the chosen embedding (default `evaluation.generation.EMBEDDING`, standardised by the real set per
instrument; see `evaluation.embedders`); MSE is the paper's waveform MSE between a candidate and the real stem
of the same song. "Match" measures conditioning: the share of songs whose candidate's mean embedding is nearer
to its OWN song's real stem than to any other test song's (chance = 1 / songs; FAD alone cannot see whether a
take belongs to its reference). With `fad_inf`, FAD∞ (extrapolated to infinitely many segments) is added.
"Variety" measures what Regenerate gives a musician: each generator makes a second take of every song with
another seed (`VARIETY_SEED_OFFSET` added), and the mean distance between the two takes' mean embeddings is
divided by the mean distance between different songs' real stems (0 = every seed gives the same take, 1 = as
different as another song's part). The real stems' own figure compares two sections of the same song.
"Parts" (for the hand-crafted embedding, whose dimensions have meanings) say where each FAD comes from: the
share a shift of the whole set makes, and the FAD of each feature group alone (timbre, its movement, envelope,
tonality, onsets), so a report shows which kind of difference a model should lose next.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from musicsim_gui.audio.io import load_audio
from musicsim_gui.core.atomic import atomic_write_text
from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.evaluation import generation as metrics
from musicsim_gui.evaluation.embedders import Embedder, offline_embedder
from musicsim_gui.evaluation.fad import distance_parts, fad, fad_infinity
from musicsim_gui.generation.base import GenerationRequest, Generator
from musicsim_gui.generation.vit_wavegan.features import to_model_audio
from musicsim_gui.separation.base import Separator, get_separator, rough_separator, separator_label
from musicsim_gui.training.vit_wavegan.dataset import song_folders
from musicsim_gui.training.vit_wavegan.reference_stems import separate_reference, wants_reference_stems

BASELINES = ("shuffled real", "white noise", "pink noise")
VARIETY_SEED_OFFSET = 10_000
"""Added to a song's generation seed for its second take (the variety measure)."""
VARIETY_REAL = "real, another section"
"""The variety row of the real stems: the same song's stems `seconds` later."""


def _segment(audio: np.ndarray, start_s: float, seconds: float) -> np.ndarray:
    start = int(start_s * metrics.RATE)
    out = np.zeros(int(seconds * metrics.RATE), dtype=np.float32)
    piece = audio[start: start + out.shape[0]]
    out[: piece.shape[0]] = piece
    return out


def _generate(generator: Generator, mix, seed: int, seconds: float, params: dict[str, Any] | None = None,
              stems: dict | None = None, rough: bool = False) -> dict[str, np.ndarray]:
    """instrument → the generator's take for `mix` as mono 16 kHz `[T]` (`params` added to the request's).

    The take is made at the rate the generator delivers to the studio and converted to 16 kHz exactly as the
    real stems are, so both lose the same top band to the same anti-alias filter (asking the generator for
    16 kHz directly filled the band up to 8 kHz that the real stems' conversion attenuates). `stems`: the
    mix's separated stems, for a generator that matches its takes to them; `rough`: they came from a rough
    separator (followed only when `params` asks, as in the studio)."""
    request = GenerationRequest(mix, INSTRUMENTS, (seed,), 1, {"seconds": seconds, **(params or {})}, stems,
                                rough)
    return {t.instrument: to_model_audio(t.clip, metrics.RATE) for t in generator.generate(request)}


def _candidates(folders: list[Path], generators: dict[str, Generator], seconds: float, offset: float,
                log, seed: int = 0, timings: dict[str, float] | None = None,
                params: dict[str, Any] | None = None, separator: Separator | None = None,
                aligned: bool = True) -> tuple[dict[str, dict[str, list[np.ndarray]]], dict]:
    """system → instrument → one `[seconds * 16000]` clip per song (RMS-matched; "real" first), and the second
    clips of the variety measure in the same layout (each generator's second take, the real stems' next section).
    Generators that match takes to the reference's stems get the mix separated by `separator` (None: none),
    as the studio gives them its separated stems; the separation's time counts in theirs. `aligned`: takes are
    scored over the real stems' span of the song (see the module docstring)."""
    stems = [{name: to_model_audio(load_audio(f / f"{name}.flac"), metrics.RATE) for name in INSTRUMENTS}
             for f in folders]
    rng = np.random.default_rng(seed)
    timings = {} if timings is None else timings
    systems: dict[str, dict[str, list[np.ndarray]]] = {
        s: {i: [] for i in INSTRUMENTS} for s in ("real", *BASELINES, *generators)}
    second: dict[str, dict[str, list[np.ndarray]]] = {s: {i: [] for i in INSTRUMENTS} for s in (VARIETY_REAL, *generators)}
    frames = int(seconds * metrics.RATE)
    span, skip = (offset + seconds, int(round(offset * metrics.RATE))) if aligned else (seconds, 0)
    rough = separator is not None and rough_separator(separator_label(separator))
    for index, folder in enumerate(folders):
        log(f"evaluating on {folder.name}")
        mix = load_audio(folder / "mix.flac")
        takes, second_takes, separated = {}, {}, None
        for name, gen in generators.items():
            started = time.perf_counter()
            given = None
            if separator and wants_reference_stems(gen):
                separated = separated or separate_reference(mix, separator, cache=False)
                given = separated
            takes[name] = _generate(gen, mix, seed + index, span, params, given, rough)
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
            second_takes[name] = _generate(gen, mix, seed + index + VARIETY_SEED_OFFSET, span, params, given,
                                           rough)
        other = stems[(index + 1) % len(folders)]
        for inst in INSTRUMENTS:
            real = _segment(stems[index][inst], offset, seconds)
            systems["real"][inst].append(real)
            shuffled = _segment(other[inst], offset + seconds, seconds)
            systems["shuffled real"][inst].append(metrics.match_rms(shuffled, real))
            systems["white noise"][inst].append(metrics.match_rms(metrics.white_noise(frames, rng), real))
            systems["pink noise"][inst].append(metrics.match_rms(metrics.pink_noise(frames, rng), real))
            second[VARIETY_REAL][inst].append(_segment(stems[index][inst], offset + seconds, seconds))
            for name in generators:
                systems[name][inst].append(metrics.match_rms(_fit(takes[name][inst][skip:], frames), real))
                second[name][inst].append(metrics.match_rms(_fit(second_takes[name][inst][skip:], frames), real))
    return systems, second


def _fit(take: np.ndarray, frames: int) -> np.ndarray:
    """`take` cut or zero-padded to `frames` samples (float32)."""
    out = np.zeros(frames, np.float32)
    piece = take[:frames]
    out[: piece.shape[0]] = piece
    return out


def _variety(real: np.ndarray, first: np.ndarray, second: np.ndarray, songs: int) -> float:
    """Mean distance between the per-song mean embeddings of `first` and `second` (`[songs·segments, D]` each),
    divided by the mean distance between different songs' mean `real` embeddings (see the module docstring)."""
    means = [x.reshape(songs, -1, x.shape[-1]).mean(axis=1) for x in (real, first, second)]
    between = np.linalg.norm(means[0][:, None] - means[0][None], axis=-1)[~np.eye(songs, dtype=bool)].mean()
    return float(np.linalg.norm(means[1] - means[2], axis=-1).mean() / max(between, 1e-12))


def _match_rate(real: np.ndarray, candidate: np.ndarray, songs: int) -> float:
    """Share of songs whose candidate mean embedding is nearest to the same song's real mean embedding."""
    real_means = real.reshape(songs, -1, real.shape[-1]).mean(axis=1)
    candidate_means = candidate.reshape(songs, -1, candidate.shape[-1]).mean(axis=1)
    distances = np.linalg.norm(candidate_means[:, None, :] - real_means[None, :, :], axis=-1)
    return float(np.mean(np.argmin(distances, axis=1) == np.arange(songs)))


def _score(systems, embeddings, songs: int, embedder: Embedder, fad_inf: bool, seed: int) -> dict[str, Any]:
    """FAD, (FAD∞,) MSE and match rate per system (baselines and models) and instrument, plus their means; with an
    embedding whose dimensions are grouped, where each FAD comes from (`fad_parts`, see `fad.distance_parts`)."""
    scores: dict[str, Any] = {"fad": {}, "mse": {}, "match": {}}
    if fad_inf:
        scores["fad_inf"] = {}
    if embedder.groups:
        scores["fad_parts"] = {}
    for system in systems:
        if system == "real":
            continue
        rows: dict[str, dict[str, float]] = {key: {} for key in scores}
        for inst in INSTRUMENTS:
            real, candidate = embeddings["real"][inst], embeddings[system][inst]
            if embedder.standardise:
                real, candidate = metrics.standardise(real, candidate)
            rows["fad"][inst] = fad(real, candidate)
            if fad_inf:
                rows["fad_inf"][inst] = fad_infinity(real, candidate, seed=seed)[0]
            if embedder.groups:
                rows["fad_parts"][inst] = distance_parts(real, candidate, embedder.groups)
            rows["match"][inst] = _match_rate(real, candidate, songs)
            rows["mse"][inst] = float(np.mean([metrics.paper_mse(c, r) for c, r in
                                               zip(systems[system][inst], systems["real"][inst], strict=True)]))
        for key, row in rows.items():
            row["mean"] = _instrument_mean(row)
            scores[key][system] = row
    return scores


def _instrument_mean(row: dict[str, Any]) -> Any:
    """The mean over instruments of a row of numbers, or part by part of a row of `{part: number}`."""
    first = row[INSTRUMENTS[0]]
    if isinstance(first, dict):
        return {part: float(np.mean([row[i][part] for i in INSTRUMENTS])) for part in first}
    return float(np.mean([row[i] for i in INSTRUMENTS]))


def _embed(systems: dict[str, dict[str, list[np.ndarray]]], embedder: Embedder) -> dict[str, dict[str, np.ndarray]]:
    """system → instrument → the embeddings `[segments, D]` of all its clips, concatenated."""
    return {s: {i: np.concatenate([embedder.embed(c) for c in clips]) for i, clips in by.items()}
            for s, by in systems.items()}


def _variety_scores(embeddings, second_embeddings, songs: int, embedder: Embedder) -> dict[str, dict[str, float]]:
    """system → instrument (and mean) → variety (see `_variety`), in the real set's standardised space."""
    scores: dict[str, dict[str, float]] = {}
    for system, by in second_embeddings.items():
        first = embeddings["real" if system == VARIETY_REAL else system]
        row = {}
        for inst in INSTRUMENTS:
            real, a, b = embeddings["real"][inst], first[inst], by[inst]
            if embedder.standardise:
                real, a, b = metrics.standardise(real, a, b)
            row[inst] = _variety(real, a, b, songs)
        row["mean"] = float(np.mean([row[i] for i in INSTRUMENTS]))
        scores[system] = row
    return scores


def _reference_separator(name: str | None, generators: dict[str, Generator]) -> Separator | None:
    """The separator that splits each test mix, opened once: None when `name` is None or no generator
    follows the reference's stems."""
    if not name or not any(wants_reference_stems(gen) for gen in generators.values()):
        return None
    return get_separator(name, cache=False)


def evaluate(corpus: Path, generators: dict[str, Generator], out: Path | None = None, songs: int = 10,
             seconds: float = 20.0, offset: float = 20.0, log=print, embedder: Embedder | None = None,
             seed: int = 0, fad_inf: bool = False, params: dict[str, Any] | None = None,
             separator: str | None = "builtin", aligned: bool = True) -> dict[str, Any]:
    """FAD (per instrument and mean), paper MSE and match rate for each generator and baseline.

    Returns a JSON-ready dict (also written to `out` when given) with the scores, the settings, the models'
    ids and versions, sample counts and timings in seconds. `params` go into every generation request
    (e.g. MusicGen's `mode`, `prompt_seconds`); `separator` splits each mix for generators that match takes
    to the reference's stems (None: they get none); `aligned` False scores each take's first `seconds` (the
    protocol before vit-wavegan-lofi 2.4; see the module docstring).
    """
    embedder = embedder or offline_embedder()
    started = time.perf_counter()
    folders = song_folders(corpus, "test")[:songs]
    if len(folders) < 2:
        raise ValueError(f"{corpus}/test: need at least 2 test songs, found {len(folders)}")
    generation_s: dict[str, float] = {}
    splitter = _reference_separator(separator, generators)
    systems, second = _candidates(folders, generators, seconds, offset, log, seed, generation_s, params, splitter,
                                  aligned)
    embed_started = time.perf_counter()
    embeddings, second_embeddings = _embed(systems, embedder), _embed(second, embedder)
    embed_s = time.perf_counter() - embed_started
    counts = {i: int(embeddings["real"][i].shape[0]) for i in INSTRUMENTS}
    result: dict[str, Any] = {
        "embedding": embedder.description, "embedding_name": embedder.name, "standardised": embedder.standardise,
        "songs": len(folders), "song_names": [f.name for f in folders], "corpus": str(Path(corpus).resolve()),
        "seconds_per_song": seconds, "offset_s": offset, "takes_aligned": aligned, "seed": seed,
        "generation_seeds": [seed + i for i in range(len(folders))], "sample_rate": metrics.RATE,
        "segments_per_set": int(min(counts.values())), "segments_per_instrument": counts,
        "models": {name: {"id": getattr(g, "id", name), "version": str(getattr(g, "version", ""))}
                   for name, g in generators.items()},
        "baselines": list(BASELINES), "generation_params": dict(params or {}),
        "reference_separator": separator, "reference_separator_used": separator_label(splitter),
        "reference_stems_rough": rough_separator(separator_label(splitter))}
    result.update(_score(systems, embeddings, len(folders), embedder, fad_inf, seed))
    result["variety"] = _variety_scores(embeddings, second_embeddings, len(folders), embedder)
    result["timings_s"] = {"generation": generation_s, "embedding": embed_s,
                           "total": time.perf_counter() - started}
    if out is not None:
        atomic_write_text(out, json.dumps(result, indent=2) + "\n")
    return result
