"""The studio's actions (menu entries, tool-bar buttons, shortcuts), created in one place.

Each action is created here with its text, shortcut and tip; the main window connects them to the
controllers. Shortcuts are window-wide, so they work whichever lane has the focus.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from musicsim_gui.gui import icons


@dataclass
class StudioActions:
    """Every action of the main window."""

    open: QAction
    save: QAction
    save_as: QAction
    export: QAction
    settings: QAction
    quit: QAction
    undo: QAction
    redo: QAction
    play: QAction
    stop: QAction
    home: QAction
    loop: QAction
    zoom_in: QAction
    zoom_out: QAction
    zoom_fit: QAction
    mute: QAction
    solo: QAction
    focus_up: QAction
    focus_down: QAction
    separate: QAction
    rate: list[QAction]

    def all(self) -> list[QAction]:
        items: list[QAction] = []
        for item in fields(self):
            value = getattr(self, item.name)
            items.extend(value if isinstance(value, list) else [value])
        return items


def _action(parent: QWidget, text: str, shortcuts, tip: str = "", icon=None) -> QAction:
    action = QAction(text, parent)
    if shortcuts:
        keys = shortcuts if isinstance(shortcuts, list) else [shortcuts]
        action.setShortcuts([QKeySequence(key) for key in keys])
    if tip:
        action.setToolTip(tip)
        action.setStatusTip(tip)
    if icon is not None:
        action.setIcon(icon)
    return action


def create_actions(window: QWidget, undo: QAction, redo: QAction) -> StudioActions:
    """Build the actions; `undo`/`redo` come from the window's QUndoStack."""
    undo.setShortcuts([QKeySequence.StandardKey.Undo])
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    loop = _action(window, "Loop", "L", "Loop the region dragged on the ruler (L)", icons.loop_icon())
    loop.setCheckable(True)
    actions = StudioActions(
        open=_action(window, "&Open\u2026", QKeySequence.StandardKey.Open, "Open a project folder or an audio file"),
        save=_action(window, "&Save", QKeySequence.StandardKey.Save, "Save the project"),
        save_as=_action(window, "Save &As\u2026", "Ctrl+Shift+S", "Save a copy of the project in another folder"),
        export=_action(window, "&Export\u2026", "Ctrl+E", "Export the mix and/or the stems"),
        settings=_action(window, "Se&ttings\u2026", "Ctrl+,", "Audio output, inference backend and model folder"),
        quit=_action(window, "&Quit", QKeySequence.StandardKey.Quit),
        undo=undo, redo=redo,
        play=_action(window, "Play/Pause", "Space", "Play or pause (Space)", icons.play_icon()),
        stop=_action(window, "Stop", "", "Stop and return to where playback started", icons.stop_icon()),
        home=_action(window, "Go to start", "Home", "Return to the start (Home)", icons.home_icon()),
        loop=loop,
        zoom_in=_action(window, "Zoom in", ["Ctrl++", "Ctrl+="], "Zoom in on the time axis (Ctrl+wheel)"),
        zoom_out=_action(window, "Zoom out", "Ctrl+-", "Zoom out on the time axis"),
        zoom_fit=_action(window, "Zoom to fit", "Ctrl+0", "Show the whole song"),
        mute=_action(window, "Mute focused track", "M", "Mute or unmute the focused track (M)"),
        solo=_action(window, "Solo focused track", "S", "Solo or unsolo the focused track (S)"),
        focus_up=_action(window, "Focus track above", "Up", "Move the track focus up (Up)"),
        focus_down=_action(window, "Focus track below", "Down", "Move the track focus down (Down)"),
        separate=_action(window, "Separate stems", "", "Split the reference into bass, drums, piano and other"),
        rate=[_action(window, f"Rate {n} star{'s' if n > 1 else ''}", str(n), f"Rate the focused take {n}/5")
              for n in range(1, 6)],
    )
    for action in actions.all():
        window.addAction(action)
    return actions
