"""`CoreUndoCommand`: a `QUndoCommand` around one core edit command, so Qt's undo stack drives the project model.

The core command does and undoes the change on the project; this wrapper reports which tracks changed so
the controller can refresh the views and the engine after every do, undo and redo.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.core.project import Project

Changed = Callable[[tuple[str, ...]], None]


def affected_instruments(command) -> tuple[str, ...]:
    """The tracks a core command edits (all of them for project-wide edits such as the master gain)."""
    instrument = getattr(command, "instrument", None)
    return (instrument,) if instrument in INSTRUMENTS else INSTRUMENTS


class CoreUndoCommand(QUndoCommand):
    """Wraps core `command` (with `.do(project)`, `.undo(project)`, `.text`) for a `QUndoStack`."""

    def __init__(self, project: Project, command, changed: Changed, parent: QUndoCommand | None = None) -> None:
        super().__init__(command.text, parent)
        self.project = project
        self.command = command
        self.changed = changed

    def redo(self) -> None:
        self.command.do(self.project)
        self.changed(affected_instruments(self.command))

    def undo(self) -> None:
        self.command.undo(self.project)
        self.changed(affected_instruments(self.command))
