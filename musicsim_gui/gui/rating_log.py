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
        from musicsim_gui.core.ratings import RatingStore, TakeRecord

        if self._store is None:
            self._store = RatingStore(self.path)
        self._store.record_take(TakeRecord(
            take_id=take.id, project=str(project.folder), instrument=instrument, model_id=take.model_id,
            model_version=take.model_version, seed=take.seed, params=dict(take.params),
            conditioning_hash=project.reference_hash, audio_path=str(project.take_audio_path(take))))
        self._store.rate(take.id, stars)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
