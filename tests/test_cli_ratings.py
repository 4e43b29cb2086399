"""Smoke tests of `musicsim ratings show|export`, run as the user runs them, on a real ratings database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from musicsim_gui.core.ratings import RatingStore, TakeRecord
from musicsim_gui.runtime.paths import ratings_db_path


def _musicsim(*args: str, data_dir=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if data_dir is not None:
        env["MUSICSIM_DATA_DIR"] = str(data_dir)
    return subprocess.run([sys.executable, "-m", "musicsim_gui", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def _fill(path) -> None:
    with RatingStore(path) as store:
        for take_id in ("a", "b"):
            store.record_take(TakeRecord(take_id, "/p", "bass", "vit-wavegan-lofi", "1", 1, {}, "h", f"/p/{take_id}"))
        store.rate("a", 4)
        store.rate("b", 2)
        store.prefer("a", "b", "a")
        for fooled in (True, False, False, True, True):
            store.add_blind_trial("vit-wavegan-lofi", "1", "bass", "/p/a", "/p/ref", fooled, "generated")
        store.add_blind_trial("vit-wavegan-lofi", "1", "drums", "/p/d", "/p/ref", False)


def test_ratings_db_path_honours_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICSIM_DATA_DIR", str(tmp_path))
    assert ratings_db_path() == tmp_path / "ratings.sqlite"


def test_show_and_export_from_the_user_data_folder(tmp_path):
    _fill(tmp_path / "ratings.sqlite")
    result = _musicsim("ratings", "show", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "ratings: 2 rated takes; preferences: 1" in result.stdout
    bass = next(line for line in result.stdout.splitlines() if " bass " in line)
    assert "60.0%" in bass and bass.split()[-1] == "5"   # 3 of 5 fooled
    assert "[ 23.1,  88.2]" in bass                    # 95 % Wilson interval for 3/5
    drums = next(line for line in result.stdout.splitlines() if " drums " in line)
    assert "0.0%" in drums and drums.split()[-1] == "1"
    out = tmp_path / "judgements.jsonl"
    result = _musicsim("ratings", "export", "-o", str(out), data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["kind"] for r in records].count("blind_trial") == 6
    assert {r["kind"] for r in records} == {"rating", "preference", "blind_trial"}
    assert records[0]["take"]["audio_path"] == "/p/a"


def test_missing_database_is_one_line_error(tmp_path):
    result = _musicsim("ratings", "show", "--db", str(tmp_path / "none.sqlite"))
    assert result.returncode == 2
    assert "no ratings database yet" in result.stderr and len(result.stderr.strip().splitlines()) == 1
