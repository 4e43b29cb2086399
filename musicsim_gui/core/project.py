"""The project model: a reference song, four instrument tracks, and the takes generated for each.

Architecture:
1. Plain mutable dataclasses, free of Qt and NumPy, so the CLI, the GUI and the tests share them.
   The GUI never mutates them directly: it goes through `core.commands`, which keeps undo possible.
2. A project lives in a folder. Paths stored in the model (reference, stems, takes) are relative to that
   folder, so a project folder can be moved or copied as a whole.
3. Take audio is written to `takes/<instrument>/<take id>.<ext>` the moment it exists; the project file
   (see `core.projectfile`) only records it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from musicsim_gui.core.instruments import INSTRUMENTS, check_instrument

MAX_RATING = 5


def new_take_id() -> str:
    """A short random id for a take, unique within a project for all practical purposes."""
    return secrets.token_hex(4)


def utc_now() -> str:
    """The current time as an ISO 8601 string in UTC, second precision."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def check_rating(stars: int | None) -> int | None:
    """Validate a rating: None (unrated) or 0..5 stars."""
    if stars is None:
        return None
    if not isinstance(stars, int) or not 0 <= stars <= MAX_RATING:
        raise ValueError(f"A rating is 0 to {MAX_RATING} stars, got {stars!r}")
    return stars


@dataclass
class Take:
    """One generated version of an instrument part.

    Attributes:
        id: unique within the project.
        path: the audio file, relative to the project folder.
        model_id, model_version: the generator that made it.
        seed: the random seed it was made with.
        params: any other generation parameters (JSON-serialisable).
        created: ISO 8601 UTC time stamp.
        rating: None (unrated) or 0..5 stars.
    """

    id: str
    path: str
    model_id: str
    model_version: str
    seed: int
    params: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=utc_now)
    rating: int | None = None

    def __post_init__(self) -> None:
        check_rating(self.rating)


@dataclass
class Track:
    """One instrument's lane: its takes, the take in the mix, and its channel strip.

    `listen_reference` is the A/B switch: when True the track plays its reference stem instead of the
    chosen take. `reference_stem_separator` names the separator (model and version) that made the reference
    stem, "" when unknown (imported stems, projects saved before it was recorded): a generator whose
    finishing was fitted on one separator's parts uses it to tell. Gain is in dB, pan in [-1 (left), 1 (right)].
    """

    instrument: str
    takes: list[Take] = field(default_factory=list)
    chosen_take_id: str | None = None
    gain_db: float = 0.0
    pan: float = 0.0
    mute: bool = False
    solo: bool = False
    reference_stem: str | None = None
    listen_reference: bool = False
    reference_stem_separator: str = ""

    def __post_init__(self) -> None:
        check_instrument(self.instrument)

    def find_take(self, take_id: str) -> Take:
        for take in self.takes:
            if take.id == take_id:
                return take
        raise KeyError(f"The {self.instrument} track has no take {take_id!r}")

    def take_index(self, take_id: str) -> int:
        return self.takes.index(self.find_take(take_id))

    @property
    def chosen_take(self) -> Take | None:
        if self.chosen_take_id is None:
            return None
        return self.find_take(self.chosen_take_id)


def default_tracks() -> dict[str, Track]:
    """One empty track per instrument, in the canonical order."""
    return {name: Track(instrument=name) for name in INSTRUMENTS}


@dataclass
class Project:
    """A reference song and its four instrument tracks, stored in `folder`.

    Attributes:
        folder: the project folder (absolute); not stored in the project file.
        reference_path: the reference audio, relative to `folder` (or absolute if outside it).
        reference_hash: `AudioClip.content_hash()` of the reference as loaded, for caches.
        tempo_bpm: the reference's tempo if known.
        first_downbeat_seconds: where the reference's first full bar starts (bars are counted from there;
            the time before it is the pickup bar, numbered 0).
        tracks: instrument name -> Track, in the order of `INSTRUMENTS`.
        master_gain_db: the master fader.
    """

    folder: Path
    reference_path: str
    reference_hash: str = ""
    tempo_bpm: float | None = None
    tracks: dict[str, Track] = field(default_factory=default_tracks)
    first_downbeat_seconds: float = 0.0
    master_gain_db: float = 0.0
    title: str = ""

    def track(self, instrument: str) -> Track:
        return self.tracks[check_instrument(instrument)]

    def resolve(self, relative: str) -> Path:
        """An absolute path for a path stored in the project (relative to the folder)."""
        path = Path(relative)
        return path if path.is_absolute() else self.folder / path

    @property
    def reference_file(self) -> Path:
        return self.resolve(self.reference_path)

    def take_audio_path(self, take: Take) -> Path:
        return self.resolve(take.path)

    def new_take_path(self, instrument: str, take_id: str, suffix: str = ".flac") -> Path:
        """Where a new take's audio goes: `takes/<instrument>/<take id><suffix>` in the project folder."""
        return self.folder / "takes" / check_instrument(instrument) / f"{take_id}{suffix}"

    def stem_path(self, instrument: str, suffix: str = ".flac") -> Path:
        """Where the reference stem of an instrument is kept: `stems/<instrument><suffix>`."""
        return self.folder / "stems" / f"{check_instrument(instrument)}{suffix}"

    def relative(self, path: Path) -> str:
        """Store `path` relative to the folder when it is inside it, else absolute."""
        path = Path(path)
        try:
            return path.resolve().relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return str(path.resolve())

    def all_takes(self) -> list[tuple[str, Take]]:
        return [(name, take) for name, track in self.tracks.items() for take in track.takes]
