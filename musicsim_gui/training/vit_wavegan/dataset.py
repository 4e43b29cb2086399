"""Training data for ViT+WaveGAN: corpus songs prepared once, then (reference mel, tempo, target stems) batches.

Architecture:
1. Preparation (per song, cached as `.npz` in the run folder, so a growing corpus is picked up): each song's mix and stems become
   model-rate mono; the mix is cut into 30 s chunks (the last zero-padded, as in the paper) and each chunk's
   log-mel image is stored; stems are kept whole (float16) with the beat positions from `meta.json`.
2. Pairing — which audio a reference chunk is trained to produce:
   - `paper`: the MuSiC paper's labels — the stems of a randomly chosen chunk of ANOTHER song, at a random
     offset. The target is independent of the reference, so the heads can only learn the corpus average.
   - `same-song`: a beat-aligned window of the SAME song taken outside the reference chunk when the song has
     more than one chunk (another section: same key, tempo, kit and sounds, different bars). The target
     depends on the reference, and its first sample is a beat, which is what the app's loops assume.
3. `sample_batch` draws a batch with a NumPy generator, so a seeded run is reproducible.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicsim_gui.audio.io import load_audio
from musicsim_gui.core.atomic import atomic_path
from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.generation.vit_wavegan import features
from musicsim_gui.generation.vit_wavegan.config import FeatureConfig

PAIRINGS = ("paper", "same-song")


@dataclass
class Song:
    """One prepared song: `mels [N, 1, M, F]`, `stems [4, T]` float16 at the model rate, `beats` (samples)."""

    name: str
    mels: np.ndarray
    stems: np.ndarray
    beats: np.ndarray
    tempo_bpm: float


def song_folders(root: Path, split: str) -> list[Path]:
    """Finished song folders (with meta.json) of `split` under a corpus root, sorted."""
    return sorted(p.parent for p in (Path(root) / split).glob("*/meta.json"))


def prepare_song(folder: Path, feats: FeatureConfig) -> Song:
    """Load and convert one corpus song folder (see module docstring)."""
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    rate = feats.sample_rate
    mix = features.to_model_audio(load_audio(folder / "mix.flac"), rate)
    chunk = int(feats.chunk_seconds * rate)
    mels = np.stack([features.mel_image(c, feats) for c in features.chunks(mix, chunk)])
    stems = np.zeros((len(INSTRUMENTS), mix.shape[0]), dtype=np.float16)
    for index, name in enumerate(INSTRUMENTS):
        stem = features.to_model_audio(load_audio(folder / f"{name}.flac"), rate)[: mix.shape[0]]
        stems[index, : stem.shape[0]] = stem
    beats = np.round(np.asarray(meta.get("beat_times", []), dtype=np.float64) * rate).astype(np.int64)
    tempo = float(meta.get("tempo_bpm") or features.estimate_tempo(mix, rate))
    if beats.size == 0:
        beats = np.arange(0, mix.shape[0], int(rate * 60.0 / tempo), dtype=np.int64)
    return Song(folder.name, mels, stems, beats[beats < mix.shape[0]], tempo)


def _cache_path(cache: Path, split: str, folder: Path, feats: FeatureConfig) -> Path:
    return Path(cache) / f"{split}-{feats.sample_rate}-{feats.n_mels}x{feats.frames}" / f"{folder.name}.npz"


def _save(song: Song, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, mels=song.mels, stems=song.stems, beats=song.beats, tempo=np.array(song.tempo_bpm))


def _load(path: Path) -> Song:
    with np.load(path, allow_pickle=False) as data:
        return Song(path.stem, data["mels"], data["stems"], data["beats"], float(data["tempo"]))


def prepare_split(corpus: Path, split: str, feats: FeatureConfig, cache: Path, limit: int | None = None,
                  known: list[Song] | None = None, workers: int = 1) -> list[Song]:
    """The songs of `split` (at most `limit`), each prepared once and cached under `cache/<split>-…/<song>.npz`.

    With `known` (songs already in memory), only folders not among them are loaded and appended: a run
    calls this again while a corpus is still being written, to pick up songs finished since. With `workers`
    above 1, songs not cached yet are prepared in that many processes first (a fresh corpus on a machine
    with many cores); the result is the same.
    """
    songs = list(known or [])
    have = {song.name for song in songs}
    folders = song_folders(corpus, split)[:limit]
    if not folders and not songs:
        raise MusicSimError(f"{Path(corpus) / split}: no corpus songs (folders with meta.json) found")
    missing = [f for f in folders if f.name not in have and not _cache_path(cache, split, f, feats).is_file()]
    if workers > 1 and len(missing) > 1:
        _prepare_in_processes(missing, split, feats, cache, workers)
    for folder in folders:
        if folder.name in have:
            continue
        path = _cache_path(cache, split, folder, feats)
        if path.is_file():
            songs.append(_load(path))
        else:
            songs.append(prepare_song(folder, feats))
            _save(songs[-1], path)
    return songs


def _prepare_and_cache(folder: Path, split: str, feats: FeatureConfig, cache: Path) -> None:
    _save(prepare_song(folder, feats), _cache_path(cache, split, folder, feats))


def _prepare_in_processes(folders: list[Path], split: str, feats: FeatureConfig, cache: Path, workers: int) -> None:
    """Prepare and cache `folders` in `workers` spawned processes; the first failure is raised."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    count = len(folders)
    with ProcessPoolExecutor(max_workers=min(workers, count), mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_prepare_and_cache, folders, [split] * count, [feats] * count, [cache] * count))


def _window(stems: np.ndarray, start: int, length: int) -> np.ndarray:
    """`stems[:, start:start+length]` as float32, zero-padded past the end."""
    out = np.zeros((stems.shape[0], length), dtype=np.float32)
    piece = stems[:, start: start + length]
    out[:, : piece.shape[1]] = piece
    return out


def _target(songs: list[Song], ref: int, chunk: int, chunk_len: int, window: int, pairing: str,
            rng: np.random.Generator) -> np.ndarray:
    if pairing == "paper":
        others = [i for i in range(len(songs)) if i != ref] or [ref]
        song = songs[others[rng.integers(len(others))]]
        other_chunk = int(rng.integers(song.mels.shape[0]))
        first = other_chunk * chunk_len
        last = min(first + chunk_len, song.stems.shape[1]) - window  # stay inside the song's audio
        start = first + int(rng.integers(max(1, last - first + 1)))
        return _window(song.stems, start, window)
    song = songs[ref]
    beats = song.beats
    if song.mels.shape[0] > 1:
        outside = beats[(beats < chunk * chunk_len - window) | (beats >= (chunk + 1) * chunk_len)]
        beats = outside if outside.size else beats
    return _window(song.stems, int(beats[rng.integers(beats.size)]), window)


def sample_batch(songs: list[Song], batch: int, window: int, feats: FeatureConfig, pairing: str,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A training batch: `mel [B,1,M,F]`, `tempo [B]` (BPM of the reference), `target [B,4,window]`."""
    if pairing not in PAIRINGS:
        raise MusicSimError(f"unknown pairing {pairing!r}; choose from {', '.join(PAIRINGS)}")
    chunk_len = int(feats.chunk_seconds * feats.sample_rate)
    weights = np.array([s.mels.shape[0] for s in songs], dtype=np.float64)
    refs = rng.choice(len(songs), size=batch, p=weights / weights.sum())
    mels, tempos, targets = [], [], []
    for ref in refs:
        chunk = int(rng.integers(songs[ref].mels.shape[0]))
        mels.append(songs[ref].mels[chunk])
        tempos.append(songs[ref].tempo_bpm)
        targets.append(_target(songs, int(ref), chunk, chunk_len, window, pairing, rng))
    return {"mel": np.stack(mels), "tempo": np.asarray(tempos, dtype=np.float32), "target": np.stack(targets)}
