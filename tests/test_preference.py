"""The preference scorer: a simulated rater (prefers low end) is learned; reranking; the CLI keeps the best takes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import ModelError
from musicsim_gui.core.ratings import RatingStore, TakeRecord
from musicsim_gui.evaluation.preference import (
    FEATURE_NAMES,
    PreferenceScorer,
    embed,
    keep_best,
    rating_pairs,
    train_from_store,
)

RATE = 16000


def synthetic_clip(rng: np.random.Generator, seconds: float = 1.5) -> AudioClip:
    """A bass tone, three higher tones, noise and a pulsing envelope, all of random strength; random level."""
    t = np.arange(int(seconds * RATE)) / RATE
    y = rng.uniform(0, 1) * np.sin(2 * np.pi * rng.uniform(40, 140) * t)
    for _ in range(3):
        y += rng.uniform(0, 1) * np.sin(2 * np.pi * rng.uniform(200, 3000) * t)
    y += rng.uniform(0, 0.3) * rng.standard_normal(t.size)
    y *= 0.5 + 0.5 * np.exp(-((t * rng.uniform(1, 8)) % 1) * rng.uniform(2, 12))
    y *= 0.1 * rng.uniform(0.5, 2) / np.sqrt(np.mean(y ** 2))
    return AudioClip(y[None].astype(np.float32), RATE)


def low_end(clip: AudioClip) -> float:
    """The simulated rater's taste: the share of energy below 150 Hz (a fixed function of the audio)."""
    y = clip.samples.mean(axis=0)
    power = np.abs(np.fft.rfft(y)) ** 2
    return float(power[np.fft.rfftfreq(y.size, 1 / clip.sample_rate) < 150].sum() / power.sum())


def judged_pairs(utility: np.ndarray, count: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    pairs = []
    for _ in range(count):
        a, b = rng.choice(len(utility), 2, replace=False)
        pairs.append((a, b) if utility[a] > utility[b] else (b, a))
    return pairs


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(0)
    clips = [synthetic_clip(rng) for _ in range(120)]
    return clips, np.array([embed(clip) for clip in clips]), np.array([low_end(clip) for clip in clips])


def test_embedding_shape_and_low_end_feature():
    t = np.arange(RATE) / RATE
    low = AudioClip((0.2 * np.sin(2 * np.pi * 60 * t))[None].astype(np.float32), RATE)
    high = AudioClip((0.2 * np.sin(2 * np.pi * 2000 * t))[None].astype(np.float32), RATE)
    features = np.array([embed(low), embed(high)])
    assert features.shape == (2, len(FEATURE_NAMES)) and np.all(np.isfinite(features))
    share = FEATURE_NAMES.index("low_share_db")
    assert features[0, share] > -1.0 > -30.0 > features[1, share]
    centroid = FEATURE_NAMES.index("centroid_log2hz")
    assert features[0, centroid] < features[1, centroid]


def test_simulated_rater_is_learned_from_100_judgements(corpus):
    clips, features, utility = corpus
    rng = np.random.default_rng(1)
    train, test = slice(0, 60), slice(60, 120)
    scorer = PreferenceScorer.fit(features[train], judged_pairs(utility[train], 100, rng), l2=1.0)
    held_out = [(a, b) if utility[60 + a] > utility[60 + b] else (b, a)
                for a in range(60) for b in range(a + 1, 60)]
    accuracy = scorer.pairwise_accuracy(features[test], held_out)
    print(f"held-out pairwise accuracy {accuracy:.3f} on {len(held_out)} pairs of unseen clips (chance 0.5)")
    assert accuracy >= 0.8
    kept_utility, all_utility = [], []
    for start in range(60, 120, 8):  # best 2 of 8, as "Generate 8, keep the best 2" would
        group = list(range(start, min(start + 8, 120)))
        kept = scorer.rerank([clips[i] for i in group], keep=2)
        kept_utility.append(np.mean(utility[[group[i] for i in kept]]))
        all_utility.append(np.mean(utility[group]))
    assert np.mean(kept_utility) > 1.5 * np.mean(all_utility)


def test_save_load_round_trip_and_bad_file(tmp_path, corpus):
    clips, features, utility = corpus
    scorer = PreferenceScorer.fit(features[:30], judged_pairs(utility[:30], 40, np.random.default_rng(2)))
    scorer.save(tmp_path / "s.json")
    loaded = PreferenceScorer.load(tmp_path / "s.json")
    np.testing.assert_allclose(loaded.score_features(features), scorer.score_features(features))
    (tmp_path / "bad.json").write_text('{"embedding": "other"}')
    with pytest.raises(ModelError, match="bad.json"):
        PreferenceScorer.load(tmp_path / "bad.json")


def test_pairs_come_from_one_track_and_different_stars():
    takes = [("a", "p", "bass", 5), ("b", "p", "bass", 2), ("c", "p", "bass", 2), ("d", "p", "drums", 1),
             ("e", "q", "bass", 1)]
    assert sorted(rating_pairs(takes)) == [("a", "b"), ("a", "c")]


def test_keep_best_per_instrument(corpus):
    clips, features, utility = corpus

    class Take:
        def __init__(self, instrument, clip):
            self.instrument, self.clip = instrument, clip

    scorer = PreferenceScorer.fit(features, judged_pairs(utility, 100, np.random.default_rng(3)))
    takes = [Take("bass", clips[i]) for i in range(4)] + [Take("drums", clips[i]) for i in range(4, 8)]
    kept = keep_best(takes, 1, scorer)
    assert [t.instrument for t in kept] == ["bass", "drums"]
    assert kept[0].clip is clips[int(np.argmax(scorer.score(clips[:4])))]


def _musicsim(*args: str, data_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "MUSICSIM_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "musicsim_gui", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_train_from_ratings_then_generate_keeps_the_best(tmp_path, corpus):
    clips, _, utility = corpus
    with RatingStore(tmp_path / "ratings.sqlite") as store:
        for i in range(24):  # three songs, eight bass takes each, rated 1-5 by the simulated rater
            path = tmp_path / f"take{i}.wav"
            sf.write(path, clips[i].samples[0], RATE)
            store.record_take(TakeRecord(f"t{i}", f"/song{i // 8}", "bass", "m", "1", i, {}, "", str(path)))
        stars = 1 + np.digitize(utility[:24], np.quantile(utility[:24], [0.2, 0.4, 0.6, 0.8]))
        for i in range(24):
            store.rate(f"t{i}", int(stars[i]))
        store.prefer("t0", "t1", "a" if utility[0] > utility[1] else "b")
        scorer, report = train_from_store(store)
    assert report["takes"] == 24 and report["pairs"] > 50 and report["train_accuracy"] > 0.9
    result = _musicsim("ratings", "train-scorer", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "preference_scorer.json").is_file()
    reference = tmp_path / "ref.wav"
    sf.write(reference, 0.3 * np.sin(2 * np.pi * 110 * np.arange(2 * 22050) / 22050), 22050)
    result = _musicsim("generate", str(reference), "-o", str(tmp_path / "out"), "--instruments", "bass,drums",
                       "--takes", "4", "--keep", "2", "--seconds", "1.5", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    takes = json.loads((tmp_path / "out" / "takes.json").read_text())["takes"]
    assert [t["instrument"] for t in takes] == ["bass", "bass", "drums", "drums"]
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _musicsim("generate", str(reference), "-o", str(tmp_path / "o2"), "--takes", "4", "--keep", "2",
                       data_dir=empty)
    assert result.returncode == 2 and "train-scorer" in result.stderr


def test_generate_job_keeps_the_best_takes_when_a_scorer_exists(tmp_path, monkeypatch, corpus):
    from musicsim_gui.jobs import Generate, SyncRunner

    clips, features, utility = corpus
    monkeypatch.setenv("MUSICSIM_DATA_DIR", str(tmp_path))
    reference = tmp_path / "ref.wav"
    sf.write(reference, 0.3 * np.sin(2 * np.pi * 110 * np.arange(22050) / 22050), 22050)
    spec = Generate(str(reference), str(tmp_path / "takes"), instruments=("bass",), takes=3, keep=1,
                    params=(("seconds", 1.0),))
    handle = SyncRunner().submit(spec)
    handle.poll()
    assert len(handle.result) == 3, handle.error  # no scorer trained yet: every take is kept
    PreferenceScorer.fit(features, judged_pairs(utility, 100, np.random.default_rng(4))).save(
        tmp_path / "preference_scorer.json")
    handle = SyncRunner().submit(spec)
    handle.poll()
    assert len(handle.result) == 1, handle.error
