"""Training the taste model (preference scorer) from the Ratings menu: a worker-process job on real rated takes
that makes Regenerate's "keep best" available, says when there are too few ratings, and leaves the previous
scorer byte-identical when cancelled."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
from gui_helpers import new_demo_project, open_studio, wait_regenerate_ready

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.ratings import RatingStore, TakeRecord
from musicsim_gui.evaluation.preference import PreferenceScorer, cross_validated_accuracy, embed, rating_pairs
from musicsim_gui.gui.ratings_menu import TRAIN_SCORER_ACTION
from musicsim_gui.jobs.events import Cancelled, Progress
from musicsim_gui.jobs.scorer import TrainPreferenceScorer
from musicsim_gui.jobs.spec import JobContext, run_job

RATE = 16000


def rated_bass_takes(folder, stars: list[int]) -> list[tuple[str, str, str, int]]:
    """Write one real audio file per take (a bass tone of growing pitch over a little noise), record the takes
    in `folder/ratings.sqlite` and rate them `stars`; returns (id, project, instrument, stars) rows."""
    rng = np.random.default_rng(5)
    t = np.arange(int(RATE * 1.0)) / RATE
    rows = []
    with RatingStore(folder / "ratings.sqlite") as store:
        for i, count in enumerate(stars):
            tone = 0.2 * np.sin(2 * np.pi * (45 + 30 * i) * t) + 0.05 * rng.standard_normal(t.size)
            path = folder / "takes" / f"take{i}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, tone.astype(np.float32), RATE)
            store.record_take(TakeRecord(f"t{i}", "/song", "bass", "vit-wavegan-lofi", "1", i, {}, "", str(path)))
            store.rate(f"t{i}", count)
            rows.append((f"t{i}", "/song", "bass", count))
    return rows


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("MUSICSIM_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def window(qtbot, tmp_path, data_dir):
    win = open_studio(qtbot, new_demo_project(tmp_path).folder)
    yield win
    win.close()


def train_from_menu(qtbot, window, timeout: float = 60.0) -> int:
    """Trigger the Ratings menu action and tick the window until its job has ended; returns the job key."""
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Ratings")
    action = next(a for a in menu.actions() if a.text() == TRAIN_SCORER_ACTION)
    keys_before = set(window.jobs.panel.rows)
    action.trigger()
    (key,) = set(window.jobs.panel.rows) - keys_before
    wait_job(qtbot, window, key, timeout)
    return key


def wait_job(qtbot, window, key: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while key in window.jobs.handles:
        assert time.monotonic() < deadline, "the taste-model job did not finish"
        window.tick()
        window.jobs.poll(force=True)
        qtbot.wait(30)


def test_training_from_the_menu_makes_keep_best_available(qtbot, window, data_dir):
    stars = [5 - i // 3 for i in range(12)]  # a listener who likes the lower bass lines best
    rows = rated_bass_takes(data_dir, stars)
    wait_regenerate_ready(qtbot, window, "bass")
    before = window.jobs.regenerate("bass")
    assert not before.keep_spin.isEnabled() and TRAIN_SCORER_ACTION in before.keep_spin.toolTip()
    before.reject()
    key = train_from_menu(qtbot, window)
    row = window.jobs.panel.rows[key]
    scorer_file = data_dir / "preference_scorer.json"
    assert scorer_file.is_file(), row.status_label.text()
    scorer = PreferenceScorer.load(scorer_file)
    expected_pairs = len(rating_pairs(rows))
    assert scorer.info["pairs"] == expected_pairs > 50
    validation = scorer.info["validation_accuracy"]
    assert 0.0 <= validation <= 1.0
    message = window.statusBar().currentMessage()
    print(message)
    assert message.startswith("Taste model ready") and f"{expected_pairs} comparisons of 12 rated takes" in message
    tested = scorer.info["validation_pairs"]
    assert f"orders {100 * validation:.0f}% of {tested} comparisons between takes it did not learn" in message
    assert tested > 0 and message in row.status_label.text()
    after = window.jobs.regenerate("bass")
    assert after.keep_spin.isEnabled()
    after.keep_spin.setValue(1)
    after.takes_spin.setValue(3)
    assert after.choice().keep == 1
    after.reject()


def test_too_few_ratings_are_refused_with_a_message(qtbot, window, data_dir):
    rated_bass_takes(data_dir, [4, 4])  # two takes, rated alike: nothing to compare
    key = train_from_menu(qtbot, window)
    message = window.statusBar().currentMessage()
    assert message.startswith("Taste model not trained: Too few ratings"), message
    assert "rate at least two takes of one track differently" in message
    assert "Too few ratings" in window.jobs.panel.rows[key].status_label.text()
    assert not (data_dir / "preference_scorer.json").exists()
    env = {**os.environ, "MUSICSIM_DATA_DIR": str(data_dir)}  # the CLI refuses with the same words
    result = subprocess.run([sys.executable, "-m", "musicsim_gui", "ratings", "train-scorer"], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 2 and "Too few ratings" in result.stderr, result.stderr


def previous_scorer(data_dir) -> bytes:
    """A scorer file trained on other clips, as a previous run would have left it; its bytes."""
    rng = np.random.default_rng(9)
    clips = [AudioClip(0.1 * rng.standard_normal((1, RATE)).astype(np.float32), RATE) for _ in range(4)]
    PreferenceScorer.fit(np.array([embed(c) for c in clips]), [(0, 1), (2, 3), (0, 3)]).save(
        data_dir / "preference_scorer.json")
    return (data_dir / "preference_scorer.json").read_bytes()


def test_cancel_from_the_jobs_panel_keeps_the_previous_scorer(qtbot, window, data_dir):
    rated_bass_takes(data_dir, [1, 2, 3, 4, 5, 1, 2, 3])
    old = previous_scorer(data_dir)
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Ratings")
    next(a for a in menu.actions() if a.text() == TRAIN_SCORER_ACTION).trigger()
    key = max(window.jobs.panel.rows)
    window.jobs.panel.rows[key].cancel_button.click()
    wait_job(qtbot, window, key)
    assert "previous model is kept" in window.statusBar().currentMessage()
    assert (data_dir / "preference_scorer.json").read_bytes() == old


def test_cancel_while_listening_to_the_takes_keeps_the_previous_scorer(data_dir):
    rated_bass_takes(data_dir, [1, 2, 3, 4, 5, 1, 2, 3])
    old = previous_scorer(data_dir)
    events = []

    def cancelled() -> bool:  # the user presses Cancel once the third take is being listened to
        return any(isinstance(e, Progress) and "take 3 of" in e.message for e in events)

    spec = TrainPreferenceScorer(str(data_dir / "ratings.sqlite"), str(data_dir / "preference_scorer.json"))
    terminal = run_job(spec, JobContext(events.append, cancelled))
    assert isinstance(terminal, Cancelled), terminal
    assert any("take 2 of 8" in e.message for e in events if isinstance(e, Progress))
    assert (data_dir / "preference_scorer.json").read_bytes() == old
    assert [p.name for p in data_dir.iterdir() if "scorer" in p.name] == ["preference_scorer.json"]


def test_held_out_agreement_tells_a_learnable_taste_from_noise():
    rng = np.random.default_rng(0)
    t = np.arange(RATE) / RATE
    clips = [AudioClip((rng.uniform(0.05, 0.3) * np.sin(2 * np.pi * rng.uniform(40, 400) * t)
                        + rng.uniform(0.01, 0.1) * rng.standard_normal(t.size))[None].astype(np.float32), RATE)
             for _ in range(20)]
    features = np.array([embed(clip) for clip in clips])

    def ordered_by(utility) -> list[tuple[int, int]]:
        return [(a, b) if utility[a] > utility[b] else (b, a) for a in range(20) for b in range(a + 1, 20)]

    learnable, tested = cross_validated_accuracy(features, ordered_by(features[:, 0]))  # likes a loud low end
    random = [cross_validated_accuracy(features, ordered_by(np.random.default_rng(seed).permutation(20)))[0]
              for seed in range(5)]
    print(f"held-out agreement on {tested} comparisons: learnable taste {learnable:.2f}, "
          f"random tastes {np.round(random, 2)}")
    assert tested == 40 and learnable > 0.75 and np.mean(random) < 0.65
    assert cross_validated_accuracy(features[:7], [(0, 1)]) == (None, 0)  # under 8 takes: nothing to hold out
