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
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.spectral import mel_filterbank, stft
from musicsim_gui.core.atomic import atomic_write_text
from musicsim_gui.core.errors import ModelError, MusicSimError

EMBEDDING = "prefmel-v1"
RATE, N_FFT, HOP, MELS, FMIN, FMAX, LOW_HZ = 16000, 1024, 256, 24, 30.0, 8000.0, 150.0
FEATURE_NAMES = tuple([f"logmel{b}_mean" for b in range(MELS)] + [f"logmel{b}_std" for b in range(MELS)]
                      + ["centroid_log2hz", "rolloff_log2hz", "flatness_log10", "rms_db", "low_share_db",
                         "onsets_per_s"])
_EPS = 1e-10


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


def train_from_store(store, l2: float = 1.0) -> tuple[PreferenceScorer, dict[str, Any]]:
    """Fit a scorer on a `RatingStore`'s star ratings and preferences, reading each take's audio file.

    Takes whose audio file is gone are skipped. Raises MusicSimError when no usable pair remains.
    """
    from musicsim_gui.audio.io import load_audio

    rated = store.rated_takes()
    paths = {take.take_id: take.audio_path for take, _ in rated}
    pair_ids = rating_pairs([(t.take_id, t.project, t.instrument, stars) for t, stars in rated])
    paths.update({take_id: take.audio_path for take_id, take in store.takes().items()})
    for a, b, winner in store.preferences():
        if winner != "tie":
            pair_ids.append((a, b) if winner == "a" else (b, a))
    index: dict[str, int] = {}
    features = []
    for take_id in dict.fromkeys(i for pair in pair_ids for i in pair):
        path = paths.get(take_id, "")
        if path and Path(path).is_file():
            index[take_id] = len(features)
            features.append(embed(load_audio(path)))
    pairs = [(index[a], index[b]) for a, b in pair_ids if a in index and b in index]
    if not pairs:
        raise MusicSimError("no preference pairs with audio on disk to learn from "
                            "(rate at least two takes of one track differently)")
    scorer = PreferenceScorer.fit(np.array(features), pairs, l2=l2)
    return scorer, {"pairs": len(pairs), "takes": len(features), "train_accuracy": scorer.info["train_accuracy"]}


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
