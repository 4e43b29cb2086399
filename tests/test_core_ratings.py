"""The ratings store: durable judgements, migrations, blind-test statistics, JSONL export, kill safety."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from musicsim_gui.core.ratings import (
    SCHEMA_VERSION,
    RatingStore,
    RatingStoreError,
    TakeRecord,
    wilson_interval,
)


def record(take_id: str, instrument: str = "bass") -> TakeRecord:
    return TakeRecord(take_id, "/p", instrument, "vit-wavegan-lofi", "1", 3, {"z": 1}, "h", f"/p/{take_id}.flac")


def test_ratings_preferences_and_latest(tmp_path):
    with RatingStore(tmp_path / "ratings.sqlite") as store:
        assert store.schema_version == SCHEMA_VERSION
        store.record_take(record("a"))
        store.record_take(record("b"))
        store.rate("a", 2)
        store.rate("a", 5)
        store.rate("b", 1)
        store.prefer("a", "b", "a")
        assert store.latest_ratings() == {"a": 5, "b": 1}
        assert sorted((t.take_id, s) for t, s in store.rated_takes()) == [("a", 5), ("b", 1)]
        assert store.preferences() == [("a", "b", "a")]


def test_invalid_judgements_are_refused(tmp_path):
    with RatingStore(tmp_path / "r.sqlite") as store:
        with pytest.raises(ValueError):
            store.rate("a", 6)
        with pytest.raises(RatingStoreError, match="record the take first"):
            store.rate("unknown", 3)
        with pytest.raises(ValueError):
            store.prefer("a", "b", "both")


def test_blind_trials_give_fooled_rate_with_interval(tmp_path):
    with RatingStore(tmp_path / "r.sqlite") as store:
        for index in range(20):
            store.add_blind_trial("m", "1", "piano", "g.flac", "r.flac", fooled=index < 7)
        (result,) = store.fooled_rates()
    assert (result.trials, result.fooled) == (20, 7)
    assert result.rate == pytest.approx(0.35)
    assert result.low < 0.35 < result.high
    assert (result.low, result.high) == pytest.approx(wilson_interval(7, 20))


def test_wilson_interval_known_values():
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4)
    assert high == pytest.approx(0.5962, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_export_jsonl_has_every_judgement_with_audio_paths(tmp_path):
    with RatingStore(tmp_path / "r.sqlite") as store:
        store.record_take(record("a"))
        store.record_take(record("b"))
        store.rate("a", 4)
        store.prefer("a", "b", "b")
        store.add_blind_trial("m", "1", "mix", "g.flac", "r.flac", fooled=True, preferred="generated")
        count = store.export_jsonl(tmp_path / "out.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert count == len(lines) == 3
    assert lines[0]["take"]["audio_path"] == "/p/a.flac"
    assert lines[1]["b"]["take_id"] == "b"
    assert lines[2]["fooled"] is True


def test_newer_schema_is_refused_and_garbage_is_reported(tmp_path):
    path = tmp_path / "r.sqlite"
    RatingStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(RatingStoreError, match="newer"):
        RatingStore(path)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(RatingStoreError, match="garbage.sqlite"):
        RatingStore(garbage)


WRITER = textwrap.dedent("""
    import sys
    from musicsim_gui.core.ratings import RatingStore, TakeRecord
    store = RatingStore(sys.argv[1])
    prefix = sys.argv[2]
    store.record_take(TakeRecord(prefix, "/p", "bass", "m", "1", 0, {}, "", ""))
    for index in range(100000):
        judgement = store.rate(prefix, index % 6)
        print(judgement, flush=True)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_kill_during_writes_loses_no_acknowledged_rating(tmp_path):
    path = tmp_path / "ratings.sqlite"
    rng = random.Random(7)
    acknowledged: list[int] = []
    for round_index in range(25):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"take{round_index}"],
                                 stdout=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        first = child.stdout.readline()  # the child is writing (its start-up time depends on the machine's load)
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        output, _ = child.communicate()
        acknowledged.extend(int(line) for line in (first + output).split())
    assert len(acknowledged) > 25
    with RatingStore(path) as store:
        assert store.integrity_ok()
        stored = {row[0] for row in store._db.execute("SELECT id FROM ratings")}
    assert set(acknowledged) <= stored
