"""The preference scorer: learns which takes a user likes from their ratings, and keeps the best of N takes.

Embedding ("prefmel-v1", no weights, D = 2·24 + 6 = 54):
1. Audio is mixed to mono and resampled to 16 kHz; frames are a 1024-sample Hann STFT with hop 256 (16 ms).
2. The power spectrum goes through 24 Slaney mel bands from 30 Hz to 8 kHz; log-mel is 10·log10(power + 1e-10).
   Per band: the mean over frames (spectral balance, level) and the standard deviation (movement) → 48 values.
3. Six scalars, each a mean over frames: spectral centroid and 85 % rolloff (as log2 of Hz), spectral flatness
   (geometric / arithmetic mean of power, as log10), RMS level (dB), the log-energy share below 150 Hz (dB
   relative to the total), and the onset rate (peaks of half-wave-rectified log-mel flux above its median
   plus one standard deviation, per second).
It describes timbre, balance, loudness and rhythmic density; it knows nothing of melody or harmony.

Model: Bradley-Terry on feature differences. Features are standardised (mean/std over the training takes);
P(a preferred over b) = sigmoid(w · (x_a - x_b)), fitted by Newton's method on the logistic loss plus
`l2 · |w|²`, in NumPy. Training pairs: every two takes of the same track (same project and instrument) whose
latest star ratings differ (the higher-rated one wins), plus every non-tie pairwise preference. The scorer is
saved as JSON; `rerank(clips, keep)` returns the indices of the `keep` highest-scoring clips.

Training from the ratings database (`train_scorer_file`) is one implementation shared by `musicsim ratings
train-scorer` and the studio's "Train taste model" job: it reports progress per take, stops on cancel without
touching the previous scorer file, refuses too few ratings with one message, and reports how often the scorer
agrees with the user's comparisons: those it learned from, and (4-fold cross-validation over takes) those
between takes it did not learn from, the case "keep best" meets with new takes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.spectral import mel_filterbank, stft
from musicsim_gui.core.atomic import atomic_write_text
from musicsim_gui.core.errors import CancelledError, ModelError, MusicSimError

EMBEDDING = "prefmel-v1"
RATE, N_FFT, HOP, MELS, FMIN, FMAX, LOW_HZ = 16000, 1024, 256, 24, 30.0, 8000.0, 150.0
FEATURE_NAMES = tuple([f"logmel{b}_mean" for b in range(MELS)] + [f"logmel{b}_std" for b in range(MELS)]
                      + ["centroid_log2hz", "rolloff_log2hz", "flatness_log10", "rms_db", "low_share_db",
                         "onsets_per_s"])
_EPS = 1e-10
VALIDATION_FOLDS = 4
"""Folds (groups of takes) of the held-out agreement `train_from_store` reports."""


def _mono16k(clip: AudioClip) -> np.ndarray:
    from musicsim_gui.audio.dsp import resample, to_mono

    mono = to_mono(clip)
    if mono.sample_rate != RATE:
        mono = resample(mono, RATE)
    y = np.asarray(mono.samples[0], np.float32)
    if y.size < N_FFT:
        y = np.pad(y, (0, N_FFT - y.size))
    return y


def embed(clip: AudioClip) -> np.ndarray:
    """The "prefmel-v1" features of `clip`: float64 [54] (see the module docstring)."""
    y = _mono16k(clip)
    power = np.abs(stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2  # [513, frames]
    freqs = np.arange(power.shape[0]) * RATE / N_FFT
    logmel = 10 * np.log10(mel_filterbank(RATE, N_FFT, n_mels=MELS, fmin=FMIN, fmax=FMAX) @ power + _EPS)
    total = power.sum(axis=0) + _EPS
    centroid = (freqs[:, None] * power).sum(axis=0) / total
    cumulative = np.cumsum(power, axis=0)
    rolloff = freqs[np.argmax(cumulative >= 0.85 * cumulative[-1:], axis=0)]
    flatness = np.exp(np.log(power + _EPS).mean(axis=0)) / (power.mean(axis=0) + _EPS)
    low_share = power[freqs < LOW_HZ].sum() / total.sum()
    flux = np.maximum(np.diff(logmel, axis=1), 0.0).mean(axis=0)
    onsets = 0
    if flux.size > 2:
        threshold = np.median(flux) + flux.std()
        peaks = (flux[1:-1] > flux[:-2]) & (flux[1:-1] >= flux[2:]) & (flux[1:-1] > threshold)
        onsets = int(peaks.sum())
    scalars = [np.log2(centroid.mean() + 1.0), np.log2(rolloff.mean() + 1.0), np.log10(flatness.mean() + _EPS),
               10 * np.log10(np.mean(y.astype(np.float64) ** 2) + _EPS), 10 * np.log10(low_share + _EPS),
               onsets / (y.size / RATE)]
    return np.concatenate([logmel.mean(axis=1), logmel.std(axis=1), scalars]).astype(np.float64)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def fit_bradley_terry(diffs: np.ndarray, l2: float = 1.0, iterations: int = 50) -> np.ndarray:
    """Weights w [D] maximising Σ log σ(w·d) − l2·|w|² over difference rows `diffs` [N, D] (winner − loser).

    Each pair is used in both orientations (d with label 1, −d with label 0), so the model has no bias and
    is antisymmetric. Newton's method; the problem is strictly convex for l2 > 0.
    """
    if diffs.ndim != 2 or diffs.shape[0] == 0:
        raise MusicSimError("no preference pairs to learn from (rate at least two takes of one track differently)")
    x = np.concatenate([diffs, -diffs])
    t = np.concatenate([np.ones(len(diffs)), np.zeros(len(diffs))])
    w = np.zeros(diffs.shape[1])
    for _ in range(iterations):
        p = _sigmoid(x @ w)
        gradient = x.T @ (p - t) + 2 * l2 * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + 2 * l2 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return w


@dataclass
class PreferenceScorer:
    """A linear utility over standardised "prefmel-v1" features: score = w · (x − mean) / std."""

    weights: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(cls, features: np.ndarray, pairs: list[tuple[int, int]], l2: float = 1.0) -> PreferenceScorer:
        """Fit on `features` [n_takes, D] and (winner index, loser index) pairs."""
        mean = features.mean(axis=0)
        std = features.std(axis=0) + 1e-6
        z = (features - mean) / std
        diffs = np.array([z[a] - z[b] for a, b in pairs]).reshape(len(pairs), features.shape[1])
        scorer = cls(fit_bradley_terry(diffs, l2=l2), mean, std, {"embedding": EMBEDDING, "l2": l2})
        scorer.info["pairs"] = len(pairs)
        scorer.info["train_accuracy"] = scorer.pairwise_accuracy(features, pairs)
        return scorer

    def score_features(self, features: np.ndarray) -> np.ndarray:
        """Scores [n] of feature rows [n, D] (higher = more preferred)."""
        return ((np.atleast_2d(features) - self.mean) / self.std) @ self.weights

    def score(self, clips: list[AudioClip]) -> np.ndarray:
        return self.score_features(np.array([embed(clip) for clip in clips]))

    def pairwise_accuracy(self, features: np.ndarray, pairs: list[tuple[int, int]]) -> float:
        """Share of (winner, loser) pairs the scorer orders correctly."""
        if not pairs:
            return float("nan")
        scores = self.score_features(features)
        return float(np.mean([scores[a] > scores[b] for a, b in pairs]))

    def rerank(self, clips: list[AudioClip], keep: int) -> list[int]:
        """Indices of the `keep` best clips, best first."""
        order = np.argsort(-self.score(clips), kind="stable")
        return [int(i) for i in order[:max(1, keep)]]

    def save(self, path: str | os.PathLike[str]) -> None:
        payload = {"format": "musicsim-preference-scorer", "version": 1, "embedding": EMBEDDING,
                   "feature_names": list(FEATURE_NAMES), "weights": self.weights.tolist(),
                   "mean": self.mean.tolist(), "std": self.std.tolist(), "info": self.info}
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(payload, indent=1) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PreferenceScorer:
        """Raises ModelError when the file is missing, unreadable or made for another embedding."""
        try:
            payload = json.loads(Path(path).read_text())
            if payload.get("embedding") != EMBEDDING:
                raise ValueError(f"embedding {payload.get('embedding')!r}, expected {EMBEDDING!r}")
            arrays = [np.asarray(payload[key], np.float64) for key in ("weights", "mean", "std")]
            if any(array.shape != (len(FEATURE_NAMES),) for array in arrays):
                raise ValueError("wrong feature count")
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ModelError(f"{path}: not a usable preference scorer ({error})") from None
        return cls(*arrays, info=payload.get("info", {}))


def rating_pairs(takes: list[tuple[str, str, str, int]]) -> list[tuple[str, str]]:
    """(winner id, loser id) pairs from (take id, project, instrument, stars): takes of one track, stars differ."""
    pairs = []
    for i, (id_a, project_a, inst_a, stars_a) in enumerate(takes):
        for id_b, project_b, inst_b, stars_b in takes[i + 1:]:
            if (project_a, inst_a) == (project_b, inst_b) and stars_a != stars_b:
                pairs.append((id_a, id_b) if stars_a > stars_b else (id_b, id_a))
    return pairs


def cross_validated_accuracy(features: np.ndarray, pairs: list[tuple[int, int]], l2: float = 1.0,
                             folds: int = VALIDATION_FOLDS) -> tuple[float | None, int]:
    """How well a scorer orders takes it has not heard, as "keep best" must: `folds`-fold over the takes.

    The takes (rows of `features` [n_takes, D]) are split into `folds` groups with a fixed seed; for each group,
    a scorer fitted on the (winner, loser) index pairs that involve none of its takes orders the pairs made
    only of its takes. Returns (share ordered correctly, pairs tested); the share is None with fewer than
    `2 * folds` takes or no pair to test. Folds over pairs, or pairs with one heard take, would flatter it: with
    as many features as takes the scorer can fit any ordering of the takes it heard.
    """
    if len(features) < 2 * folds:
        return None, 0
    fold_of = np.random.default_rng(0).permutation(len(features)) % folds
    correct = tested = 0
    for fold in range(folds):
        held_out = [(a, b) for a, b in pairs if fold_of[a] == fold and fold_of[b] == fold]
        train = [(a, b) for a, b in pairs if fold not in (fold_of[a], fold_of[b])]
        if not held_out or not train:
            continue
        scores = PreferenceScorer.fit(features, train, l2=l2).score_features(features)
        correct += sum(scores[a] > scores[b] for a, b in held_out)
        tested += len(held_out)
    return (correct / tested if tested else None), tested


def _judged_pairs(store) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(winner id, loser id) pairs from a store's star ratings and non-tie preferences; take id → audio path."""
    rated = store.rated_takes()
    pair_ids = rating_pairs([(t.take_id, t.project, t.instrument, stars) for t, stars in rated])
    paths = {take_id: take.audio_path for take_id, take in store.takes().items()}
    for a, b, winner in store.preferences():
        if winner != "tie":
            pair_ids.append((a, b) if winner == "a" else (b, a))
    return pair_ids, paths


def train_from_store(store, l2: float = 1.0, progress: Callable[[float, str], None] | None = None,
                     cancel: Callable[[], bool] | None = None) -> tuple[PreferenceScorer, dict[str, Any]]:
    """Fit a scorer on a `RatingStore`'s star ratings and preferences, reading each take's audio file.

    Takes whose audio file is gone are skipped. `progress(fraction, message)` hears of each take listened to;
    `cancel()` returning True stops it between takes with `CancelledError`. The report holds "pairs",
    "takes", "train_accuracy", "validation_accuracy" and "validation_pairs" (`cross_validated_accuracy`).
    Raises MusicSimError when no usable pair remains: the one rule for "too few ratings" (CLI and studio).
    """
    from musicsim_gui.audio.io import load_audio

    report = progress or (lambda fraction, message: None)
    pair_ids, paths = _judged_pairs(store)
    take_ids = list(dict.fromkeys(i for pair in pair_ids for i in pair))
    index: dict[str, int] = {}
    features = []
    for count, take_id in enumerate(take_ids):
        if cancel is not None and cancel():
            raise CancelledError("training the taste model")
        report(0.9 * count / len(take_ids), f"Listening to take {count + 1} of {len(take_ids)}")
        path = paths.get(take_id, "")
        if path and Path(path).is_file():
            index[take_id] = len(features)
            features.append(embed(load_audio(path)))
    pairs = [(index[a], index[b]) for a, b in pair_ids if a in index and b in index]
    if not pairs:
        raise MusicSimError(f"Too few ratings to learn from: {len(store.rated_takes())} rated takes give no "
                            "comparison with audio on disk (rate at least two takes of one track differently)")
    report(0.9, f"Learning from {len(pairs)} comparisons")
    features = np.array(features)
    scorer = PreferenceScorer.fit(features, pairs, l2=l2)
    validation, tested = cross_validated_accuracy(features, pairs, l2=l2)
    scorer.info.update(validation_accuracy=validation, validation_pairs=tested)
    return scorer, {"pairs": len(pairs), "takes": len(features), "train_accuracy": scorer.info["train_accuracy"],
                    "validation_accuracy": validation, "validation_pairs": tested}


def train_scorer_file(db: str | os.PathLike[str], out: str | os.PathLike[str], l2: float = 1.0,
                      progress: Callable[[float, str], None] | None = None,
                      cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Train on the ratings database `db` and write the scorer to `out` (atomically, only when training
    finished and was not cancelled, so a stopped run leaves the previous scorer as it was).

    Returns `train_from_store`'s report plus "path". Raises MusicSimError when `db` does not exist or holds
    too few ratings, CancelledError when `cancel()` turned True.
    """
    from musicsim_gui.core.ratings import RatingStore

    if not Path(db).is_file():
        raise MusicSimError(f"{db}: no ratings database yet (rate a take in the studio first)")
    with RatingStore(db) as store:
        scorer, report = train_from_store(store, l2=l2, progress=progress, cancel=cancel)
    if cancel is not None and cancel():
        raise CancelledError("training the taste model")
    scorer.save(out)
    return {**report, "path": str(out)}


def summary(report: dict[str, Any]) -> str:
    """One line for the user about a `train_scorer_file` / `train_from_store` report."""
    validation = report.get("validation_accuracy")
    held_out = (f"it orders {100 * validation:.0f}% of {report['validation_pairs']} comparisons between takes "
                "it did not learn from" if validation is not None
                else "too few rated takes to check it on takes it did not learn from")
    return (f"Learned from {report['pairs']} comparisons of {report['takes']} rated takes "
            f"({100 * report['train_accuracy']:.0f}% ordered right); {held_out}.")


def default_scorer(path: str | os.PathLike[str] | None = None) -> PreferenceScorer | None:
    """The scorer at `path` (default: the user's, `runtime.paths.scorer_path()`), or None when none was trained.

    Raises ModelError when the file exists but is unusable.
    """
    from musicsim_gui.runtime.paths import scorer_path

    target = Path(path) if path else scorer_path()
    return PreferenceScorer.load(target) if target.is_file() else None


def keep_best(takes: list, keep: int, scorer: PreferenceScorer) -> list:
    """The `keep` best takes of each instrument by `scorer`, instruments in their first-seen order, best first.

    `takes` are objects with `.instrument` and `.clip` (e.g. `generation.base.GeneratedTake`).
    """
    groups: dict[str, list] = {}
    for take in takes:
        groups.setdefault(take.instrument, []).append(take)
    kept = []
    for group in groups.values():
        kept.extend(group[i] for i in scorer.rerank([take.clip for take in group], keep))
    return kept
