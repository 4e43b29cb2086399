"""The ratings store: every judgement a musician makes about a take, kept in SQLite for learning and reports.

Architecture:
1. One SQLite database in the user data folder, in WAL mode with `synchronous=FULL`: a rating is on disk
   when `rate()` returns, and a killed process leaves the database consistent (SQLite's journal does that).
2. The schema is versioned with `PRAGMA user_version`; `_MIGRATIONS[n]` upgrades version n to n + 1 inside
   one transaction, so a half-migrated database cannot exist.
3. Three kinds of judgement: star ratings of a take, pairwise preferences between two takes of one track,
   and blind-test trials (which of two clips the listener took for the generated one). Takes are recorded
   with their provenance (model, version, seed, parameters, conditioning hash) so judgements can be joined
   to what produced them.
4. `export_jsonl` writes one JSON record per judgement with the audio paths, for training elsewhere.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musicsim_gui.core.atomic import atomic_write_text
from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.core.project import check_rating, utc_now

SCHEMA_VERSION = 1

_MIGRATIONS: dict[int, str] = {
    0: """
    CREATE TABLE takes (
        take_id TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        instrument TEXT NOT NULL,
        model_id TEXT NOT NULL,
        model_version TEXT NOT NULL,
        seed INTEGER NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        conditioning_hash TEXT NOT NULL DEFAULT '',
        audio_path TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL
    );
    CREATE TABLE ratings (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        take_id TEXT NOT NULL REFERENCES takes(take_id),
        stars INTEGER CHECK (stars IS NULL OR stars BETWEEN 0 AND 5),
        created TEXT NOT NULL
    );
    CREATE TABLE preferences (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        take_a TEXT NOT NULL REFERENCES takes(take_id),
        take_b TEXT NOT NULL REFERENCES takes(take_id),
        winner TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie')),
        created TEXT NOT NULL
    );
    CREATE TABLE blind_trials (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model_id TEXT NOT NULL,
        model_version TEXT NOT NULL,
        instrument TEXT NOT NULL,
        generated_path TEXT NOT NULL,
        reference_path TEXT NOT NULL,
        fooled INTEGER NOT NULL CHECK (fooled IN (0, 1)),
        preferred TEXT CHECK (preferred IS NULL OR preferred IN ('generated', 'reference')),
        created TEXT NOT NULL
    );
    CREATE INDEX ratings_take ON ratings(take_id);
    CREATE INDEX blind_model ON blind_trials(model_id, model_version, instrument);
    """,
}


class RatingStoreError(MusicSimError):
    """The ratings database cannot be opened, is damaged, or was made by a newer version."""


@dataclass(frozen=True)
class TakeRecord:
    """What produced a take, as stored beside its judgements."""

    take_id: str
    project: str
    instrument: str
    model_id: str
    model_version: str
    seed: int
    params: dict[str, Any]
    conditioning_hash: str = ""
    audio_path: str = ""


@dataclass(frozen=True)
class FooledRate:
    """Blind-test result for one model and instrument: the share of trials where the generated clip fooled
    the listener, with a 95 % Wilson score interval."""

    model_id: str
    model_version: str
    instrument: str
    trials: int
    fooled: int
    rate: float
    low: float
    high: float


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (95 % by default); (0, 1) with no trials."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1.0 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


class RatingStore:
    """The SQLite ratings database at `path` (created and migrated on open)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise RatingStoreError(f"{self.path}: cannot open the ratings database ({error})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RatingStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except sqlite3.IntegrityError as error:
            self._db.execute("ROLLBACK")
            raise RatingStoreError(f"{self.path}: rejected judgement ({error}); record the take first") from None
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RatingStoreError(f"{self.path}: made by a newer MuSiC Studio (ratings schema {version})")
        while version < SCHEMA_VERSION:
            with self._transaction() as db:
                for statement in _MIGRATIONS[version].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {version + 1}")
            version += 1

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def record_take(self, take: TakeRecord) -> None:
        """Store (or update) what produced a take; idempotent."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO takes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(take_id) DO UPDATE SET "
                "project=excluded.project, audio_path=excluded.audio_path",
                (take.take_id, take.project, take.instrument, take.model_id, take.model_version, take.seed,
                 json.dumps(take.params, sort_keys=True), take.conditioning_hash, take.audio_path, utc_now()))

    def rate(self, take_id: str, stars: int | None) -> int:
        """Record a star rating (None clears it); returns the judgement's id once it is durable."""
        check_rating(stars)
        with self._transaction() as db:
            cursor = db.execute("INSERT INTO ratings (take_id, stars, created) VALUES (?, ?, ?)",
                                (take_id, stars, utc_now()))
        return int(cursor.lastrowid)

    def prefer(self, take_a: str, take_b: str, winner: str) -> int:
        """Record a pairwise preference: winner is 'a', 'b' or 'tie'."""
        if winner not in ("a", "b", "tie"):
            raise ValueError(f"winner is 'a', 'b' or 'tie', got {winner!r}")
        with self._transaction() as db:
            cursor = db.execute("INSERT INTO preferences (take_a, take_b, winner, created) VALUES (?, ?, ?, ?)",
                                (take_a, take_b, winner, utc_now()))
        return int(cursor.lastrowid)

    def add_blind_trial(self, model_id: str, model_version: str, instrument: str, generated_path: str,
                        reference_path: str, fooled: bool, preferred: str | None = None) -> int:
        """Record one blind-test trial: `fooled` is True when the listener took the generated clip for the real one."""
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO blind_trials (model_id, model_version, instrument, generated_path, reference_path, "
                "fooled, preferred, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (model_id, model_version, instrument, generated_path, reference_path, int(fooled), preferred,
                 utc_now()))
        return int(cursor.lastrowid)

    def latest_ratings(self) -> dict[str, int | None]:
        """take id -> its most recent star rating."""
        rows = self._db.execute(
            "SELECT take_id, stars FROM ratings WHERE id IN (SELECT MAX(id) FROM ratings GROUP BY take_id)")
        return {take_id: stars for take_id, stars in rows}

    def rated_takes(self) -> list[tuple[TakeRecord, int]]:
        """Every take whose latest rating has stars, with those stars."""
        latest = {k: v for k, v in self.latest_ratings().items() if v is not None}
        rows = self._db.execute("SELECT * FROM takes").fetchall()
        return [(_take_from_row(row), latest[row[0]]) for row in rows if row[0] in latest]

    def takes(self) -> dict[str, TakeRecord]:
        """Every recorded take by id."""
        return {row[0]: _take_from_row(row) for row in self._db.execute("SELECT * FROM takes")}

    def preferences(self) -> list[tuple[str, str, str]]:
        return [tuple(row) for row in self._db.execute("SELECT take_a, take_b, winner FROM preferences ORDER BY id")]

    def fooled_rates(self) -> list[FooledRate]:
        """Blind-test results per model, version and instrument, with 95 % confidence intervals."""
        rows = self._db.execute(
            "SELECT model_id, model_version, instrument, COUNT(*), SUM(fooled) FROM blind_trials "
            "GROUP BY model_id, model_version, instrument ORDER BY model_id, model_version, instrument")
        results = []
        for model_id, version, instrument, trials, fooled in rows:
            low, high = wilson_interval(int(fooled), int(trials))
            results.append(FooledRate(model_id, version, instrument, int(trials), int(fooled),
                                      int(fooled) / int(trials), low, high))
        return results

    def integrity_ok(self) -> bool:
        return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def export_jsonl(self, path: str | os.PathLike[str]) -> int:
        """Write every judgement as one JSON object per line (atomically); returns the record count."""
        takes = {row[0]: _take_from_row(row) for row in self._db.execute("SELECT * FROM takes")}
        lines = []
        for take_id, stars, created in self._db.execute("SELECT take_id, stars, created FROM ratings ORDER BY id"):
            lines.append({"kind": "rating", "stars": stars, "created": created, "take": _take_json(takes, take_id)})
        for a, b, winner, created in self._db.execute(
                "SELECT take_a, take_b, winner, created FROM preferences ORDER BY id"):
            lines.append({"kind": "preference", "winner": winner, "created": created,
                          "a": _take_json(takes, a), "b": _take_json(takes, b)})
        for row in self._db.execute("SELECT model_id, model_version, instrument, generated_path, reference_path, "
                                    "fooled, preferred, created FROM blind_trials ORDER BY id"):
            keys = ("model_id", "model_version", "instrument", "generated_path", "reference_path", "fooled",
                    "preferred", "created")
            record = dict(zip(keys, row, strict=True))
            record["fooled"] = bool(record["fooled"])
            lines.append({"kind": "blind_trial", **record})
        atomic_write_text(path, "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines))
        return len(lines)


def _take_from_row(row: tuple) -> TakeRecord:
    take_id, project, instrument, model_id, version, seed, params, conditioning, audio, _created = row
    return TakeRecord(take_id, project, instrument, model_id, version, int(seed), json.loads(params),
                      conditioning, audio)


def _take_json(takes: dict[str, TakeRecord], take_id: str) -> dict[str, Any]:
    take = takes.get(take_id)
    return {"take_id": take_id} if take is None else dict(take.__dict__)
