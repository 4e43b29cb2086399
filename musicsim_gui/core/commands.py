"""Edit commands: every change a user makes to a project, as a small object that can do and undo itself.

Architecture:
1. A command captures what it needs to undo when it is *done* (the old value), not when it is built, so
   the same object can be redone after an undo.
2. Commands touch only the model. Files are never deleted by a command: deleting a take removes it from the
   track but keeps its audio file, so undo can bring it back.
3. `UndoHistory` is a plain undo/redo stack for headless use; the studio wraps each command in a
   `QUndoCommand` instead. The moves of one fader drag merge into one undo step (`merge_key`, `merge`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from musicsim_gui.core.project import Project, Take, check_rating


class Command(Protocol):
    text: str

    def do(self, project: Project) -> None: ...

    def undo(self, project: Project) -> None: ...


@dataclass
class _SetTrackField:
    """Set one field of a track's channel strip; base of the gain/pan/mute/solo/A-B commands."""

    instrument: str
    value: Any
    field_name: str = ""
    label: str = ""
    _old: Any = field(default=None, init=False, repr=False)

    @property
    def text(self) -> str:
        return f"{self.label} ({self.instrument})"

    @property
    def merge_key(self) -> tuple[str, str]:
        return (self.field_name, self.instrument)

    def do(self, project: Project) -> None:
        track = project.track(self.instrument)
        self._old = getattr(track, self.field_name)
        setattr(track, self.field_name, self.value)

    def undo(self, project: Project) -> None:
        setattr(project.track(self.instrument), self.field_name, self._old)

    def merge(self, newer: _SetTrackField) -> None:
        """Absorb a newer command on the same control: keep this one's old value, take the newer value."""
        self.value = newer.value


class SetGain(_SetTrackField):
    def __init__(self, instrument: str, gain_db: float) -> None:
        super().__init__(instrument, float(gain_db), "gain_db", "Set gain")


class SetPan(_SetTrackField):
    def __init__(self, instrument: str, pan: float) -> None:
        if not -1.0 <= pan <= 1.0:
            raise ValueError(f"Pan is between -1 and 1, got {pan}")
        super().__init__(instrument, float(pan), "pan", "Set pan")


class SetMute(_SetTrackField):
    def __init__(self, instrument: str, mute: bool) -> None:
        super().__init__(instrument, bool(mute), "mute", "Mute" if mute else "Unmute")


class SetSolo(_SetTrackField):
    def __init__(self, instrument: str, solo: bool) -> None:
        super().__init__(instrument, bool(solo), "solo", "Solo" if solo else "Unsolo")


class SetListenReference(_SetTrackField):
    """The A/B switch: play the reference stem (True) or the chosen take (False) on this track."""

    def __init__(self, instrument: str, listen_reference: bool) -> None:
        super().__init__(instrument, bool(listen_reference), "listen_reference",
                         "Listen to reference" if listen_reference else "Listen to take")


@dataclass
class SetMasterGain:
    gain_db: float
    text: str = "Set master gain"
    merge_key: tuple[str, str] = ("master_gain_db", "")
    _old: float = field(default=0.0, init=False, repr=False)

    def do(self, project: Project) -> None:
        self._old = project.master_gain_db
        project.master_gain_db = float(self.gain_db)

    def undo(self, project: Project) -> None:
        project.master_gain_db = self._old

    def merge(self, newer: SetMasterGain) -> None:
        self.gain_db = newer.gain_db


@dataclass
class SetBeatGrid:
    """Set the reference's tempo and first downbeat (the grid the transport counts bars and beats on)."""

    tempo_bpm: float | None
    first_downbeat_seconds: float = 0.0
    text: str = "Set tempo"
    _old: tuple[float | None, float] = field(default=(None, 0.0), init=False, repr=False)

    def do(self, project: Project) -> None:
        self._old = (project.tempo_bpm, project.first_downbeat_seconds)
        project.tempo_bpm = float(self.tempo_bpm) if self.tempo_bpm else None
        project.first_downbeat_seconds = max(0.0, float(self.first_downbeat_seconds))

    def undo(self, project: Project) -> None:
        project.tempo_bpm, project.first_downbeat_seconds = self._old


@dataclass
class ChooseTake:
    """Make a take the one heard in the mix (None: no take)."""

    instrument: str
    take_id: str | None
    _old: str | None = field(default=None, init=False, repr=False)

    @property
    def text(self) -> str:
        return f"Choose take ({self.instrument})"

    def do(self, project: Project) -> None:
        track = project.track(self.instrument)
        if self.take_id is not None:
            track.find_take(self.take_id)
        self._old = track.chosen_take_id
        track.chosen_take_id = self.take_id

    def undo(self, project: Project) -> None:
        project.track(self.instrument).chosen_take_id = self._old


@dataclass
class RateTake:
    """Give a take 0..5 stars (None clears the rating)."""

    instrument: str
    take_id: str
    stars: int | None
    _old: int | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        check_rating(self.stars)

    @property
    def text(self) -> str:
        return f"Rate take ({self.instrument})"

    def do(self, project: Project) -> None:
        take = project.track(self.instrument).find_take(self.take_id)
        self._old = take.rating
        take.rating = self.stars

    def undo(self, project: Project) -> None:
        project.track(self.instrument).find_take(self.take_id).rating = self._old


@dataclass
class AddTake:
    """Append a take whose audio file already exists; optionally make it the chosen one."""

    instrument: str
    take: Take
    choose: bool = True
    _old_chosen: str | None = field(default=None, init=False, repr=False)

    @property
    def text(self) -> str:
        return f"Add take ({self.instrument})"

    def do(self, project: Project) -> None:
        track = project.track(self.instrument)
        if any(t.id == self.take.id for t in track.takes):
            raise ValueError(f"The {self.instrument} track already has a take {self.take.id!r}")
        track.takes.append(self.take)
        self._old_chosen = track.chosen_take_id
        if self.choose:
            track.chosen_take_id = self.take.id

    def undo(self, project: Project) -> None:
        track = project.track(self.instrument)
        track.takes.remove(track.find_take(self.take.id))
        track.chosen_take_id = self._old_chosen


@dataclass
class DeleteTake:
    """Remove a take from its track (its audio file stays on disk, so undo restores it)."""

    instrument: str
    take_id: str
    _take: Take | None = field(default=None, init=False, repr=False)
    _index: int = field(default=0, init=False, repr=False)
    _was_chosen: bool = field(default=False, init=False, repr=False)

    @property
    def text(self) -> str:
        return f"Delete take ({self.instrument})"

    def do(self, project: Project) -> None:
        track = project.track(self.instrument)
        self._index = track.take_index(self.take_id)
        self._take = track.takes.pop(self._index)
        self._was_chosen = track.chosen_take_id == self.take_id
        if self._was_chosen:
            track.chosen_take_id = None

    def undo(self, project: Project) -> None:
        track = project.track(self.instrument)
        assert self._take is not None
        track.takes.insert(self._index, self._take)
        if self._was_chosen:
            track.chosen_take_id = self.take_id


class UndoHistory:
    """A linear undo/redo history of commands applied to one project."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._done: list[Command] = []
        self._undone: list[Command] = []

    def push(self, command: Command, merge: bool = False) -> None:
        """Do `command` and record it.

        With `merge=True` (a fader being dragged) a command on the same control as the previous one
        joins that undo step instead of starting a new one.
        """
        command.do(self.project)
        self._undone.clear()
        previous = self._done[-1] if self._done else None
        key = getattr(command, "merge_key", None)
        if merge and previous is not None and key is not None and getattr(previous, "merge_key", None) == key:
            previous.merge(command)  # type: ignore[attr-defined]
            return
        self._done.append(command)

    @property
    def can_undo(self) -> bool:
        return bool(self._done)

    @property
    def can_redo(self) -> bool:
        return bool(self._undone)

    def undo(self) -> Command:
        command = self._done.pop()
        command.undo(self.project)
        self._undone.append(command)
        return command

    def redo(self) -> Command:
        command = self._undone.pop()
        command.do(self.project)
        self._done.append(command)
        return command
