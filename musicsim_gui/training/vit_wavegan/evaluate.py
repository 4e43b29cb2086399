"""Evaluating ViT+WaveGAN generators on the corpus test split: FAD per instrument against baselines, paper MSE.

Protocol (all audio mono 16 kHz, `seconds` long, every candidate RMS-matched to the real stem it stands in for):
- real: each test song's true stems from `offset` s on — the reference set of the FAD.
- shuffled real: the true stems of ANOTHER test song (the next one, cyclically) from `offset + seconds` s —
  real music of the right kind that does not belong to the reference (the target a generator should approach).
- white / pink noise: the floor.
- each generator: one take per (song, instrument) from the song's mix, seed = song index.
FAD uses `evaluation.generation.EMBEDDING`, standardised by the real set per instrument; MSE is the paper's
waveform MSE between a candidate and the real stem of the same song. "Match" measures conditioning: the share of
songs whose candidate's mean (standardised) embedding is nearer to its OWN song's real stem than to any other
test song's (chance = 1 / songs; FAD alone cannot see whether a take belongs to its reference).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from musicsim_gui.audio.io import load_audio
from musicsim_gui.core.atomic import atomic_write_text
from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.evaluation import generation as metrics
from musicsim_gui.evaluation.fad import fad
from musicsim_gui.generation.base import GenerationRequest, Generator
from musicsim_gui.generation.vit_wavegan.features import to_model_audio
from musicsim_gui.training.vit_wavegan.dataset import song_folders


def _segment(audio: np.ndarray, start_s: float, seconds: float) -> np.ndarray:
    start = int(start_s * metrics.RATE)
    out = np.zeros(int(seconds * metrics.RATE), dtype=np.float32)
    piece = audio[start: start + out.shape[0]]
    out[: piece.shape[0]] = piece
    return out


def _candidates(folders: list[Path], generators: dict[str, Generator], seconds: float, offset: float,
                log) -> dict[str, dict[str, list[np.ndarray]]]:
    """system → instrument → one `[seconds * 16000]` clip per song (RMS-matched; "real" first)."""
    stems = [{name: to_model_audio(load_audio(f / f"{name}.flac"), metrics.RATE) for name in INSTRUMENTS}
             for f in folders]
    rng = np.random.default_rng(0)
    systems: dict[str, dict[str, list[np.ndarray]]] = {
        s: {i: [] for i in INSTRUMENTS} for s in ("real", "shuffled real", "white noise", "pink noise", *generators)}
    frames = int(seconds * metrics.RATE)
    for index, folder in enumerate(folders):
        log(f"evaluating on {folder.name}")
        mix = load_audio(folder / "mix.flac")
        takes = {name: {t.instrument: t.clip.samples[0] for t in gen.generate(GenerationRequest(
            mix, INSTRUMENTS, (index,), 1, {"seconds": seconds, "output_rate": metrics.RATE}))}
            for name, gen in generators.items()}
        other = stems[(index + 1) % len(folders)]
        for inst in INSTRUMENTS:
            real = _segment(stems[index][inst], offset, seconds)
            systems["real"][inst].append(real)
            shuffled = _segment(other[inst], offset + seconds, seconds)
            systems["shuffled real"][inst].append(metrics.match_rms(shuffled, real))
            systems["white noise"][inst].append(metrics.match_rms(metrics.white_noise(frames, rng), real))
            systems["pink noise"][inst].append(metrics.match_rms(metrics.pink_noise(frames, rng), real))
            for name in generators:
                systems[name][inst].append(metrics.match_rms(takes[name][inst][:frames], real))
    return systems


def _match_rate(real: np.ndarray, candidate: np.ndarray, songs: int) -> float:
    """Share of songs whose candidate mean embedding is nearest to the same song's real mean embedding."""
    real_means = real.reshape(songs, -1, real.shape[-1]).mean(axis=1)
    candidate_means = candidate.reshape(songs, -1, candidate.shape[-1]).mean(axis=1)
    distances = np.linalg.norm(candidate_means[:, None, :] - real_means[None, :, :], axis=-1)
    return float(np.mean(np.argmin(distances, axis=1) == np.arange(songs)))


def evaluate(corpus: Path, generators: dict[str, Generator], out: Path | None = None, songs: int = 10,
             seconds: float = 20.0, offset: float = 20.0, log=print) -> dict[str, Any]:
    """FAD (per instrument and pooled) and paper MSE for each generator and baseline; optionally saved as JSON."""
    folders = song_folders(corpus, "test")[:songs]
    if len(folders) < 2:
        raise ValueError(f"{corpus}/test: need at least 2 test songs, found {len(folders)}")
    systems = _candidates(folders, generators, seconds, offset, log)
    embeddings = {s: {i: np.concatenate([metrics.embed(c) for c in clips]) for i, clips in by.items()}
                  for s, by in systems.items()}
    result: dict[str, Any] = {"embedding": metrics.EMBEDDING, "songs": len(folders), "seconds_per_song": seconds,
                              "segments_per_set": int(len(folders) * int(seconds)), "fad": {}, "mse": {},
                              "match": {}}
    for system in systems:
        if system == "real":
            continue
        row, mse, match = {}, {}, {}
        for inst in INSTRUMENTS:
            real, candidate = metrics.standardise(embeddings["real"][inst], embeddings[system][inst])
            row[inst] = fad(real, candidate)
            match[inst] = _match_rate(real, candidate, len(folders))
            mse[inst] = float(np.mean([metrics.paper_mse(c, r) for c, r in
                                       zip(systems[system][inst], systems["real"][inst], strict=True)]))
        row["mean"] = float(np.mean([row[i] for i in INSTRUMENTS]))
        match["mean"] = float(np.mean([match[i] for i in INSTRUMENTS]))
        result["fad"][system], result["mse"][system], result["match"][system] = row, mse, match
    if out is not None:
        atomic_write_text(out, json.dumps(result, indent=2) + "\n")
    return result
