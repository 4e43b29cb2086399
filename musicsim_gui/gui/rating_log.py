"""`RatingLog`: every star rating given in the studio, also kept in the ratings database for learning.

The project file holds each take's current rating; the ratings database (`<user data>/ratings.sqlite`,
`core.ratings.RatingStore`) keeps the history of judgements with what produced each take (model, version,
seed, parameters, the reference's hash), for reranking and preference fine-tuning later.
"""

from __future__ import annotations

from pathlib import Path

from musicsim_gui.runtime.paths import ratings_db_path


class RatingLog:
    """Appends ratings to the database at `path` (opened on first use)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ratings_db_path()
        self._store = None

    def record(self, project, instrument: str, take, stars: int | None) -> None:
        """Store `take`'s provenance (once) and the judgement `stars`.

        Raises:
            RatingStoreError: the database cannot be opened or written.
        """
        self._record_take(project, instrument, take)
        self._store.rate(take.id, stars)

    def _open(self):
        from musicsim_gui.core.ratings import RatingStore

        if self._store is None:
            self._store = RatingStore(self.path)
        return self._store

    def _record_take(self, project, instrument: str, take) -> None:
        from musicsim_gui.core.ratings import TakeRecord

        self._open().record_take(TakeRecord(
            take_id=take.id, project=str(project.folder), instrument=instrument, model_id=take.model_id,
            model_version=take.model_version, seed=take.seed, params=dict(take.params),
            conditioning_hash=project.reference_hash, audio_path=str(project.take_audio_path(take))))

    def record_preference(self, project, instrument: str, take_a, take_b, winner: str) -> None:
        """Store both takes' provenance and which one the listener preferred ('a', 'b' or 'tie')."""
        self._record_take(project, instrument, take_a)
        self._record_take(project, instrument, take_b)
        self._store.prefer(take_a.id, take_b.id, winner)

    def record_blind_trial(self, trial, fooled: bool, preferred: str | None) -> None:
        """Store one blind-test trial (a `gui.blind_trials.BlindTrial`) and its outcome."""
        self._open().add_blind_trial(trial.model_id, trial.model_version, trial.instrument,
                                     str(trial.generated_path), str(trial.reference_path), fooled, preferred)

    def fooled_rates(self) -> list:
        """The blind-test results so far (`core.ratings.FooledRate` per model, version and instrument)."""
        return self._open().fooled_rates()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
