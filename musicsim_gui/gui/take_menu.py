"""The context menu of a take lane row: hear it, rate it, or delete it (each an undoable edit)."""

from __future__ import annotations

from PySide6.QtWidgets import QMenu

from musicsim_gui.core import commands


def build_take_menu(controller, instrument: str, row: int, parent=None) -> QMenu:
    """The menu for lane row `row` of `instrument` (0 = the reference stem, k = take k)."""
    menu = QMenu(parent)
    track = controller.project.track(instrument)
    if row == 0:
        hear = menu.addAction("Hear the reference stem", lambda: controller.choose_row(instrument, 0))
        hear.setEnabled(bool(track.reference_stem))
        return menu
    take = track.takes[row - 1]
    menu.addAction(f"Hear take {row}", lambda: controller.choose_row(instrument, row))
    rate = menu.addMenu("Rate")
    for stars in range(1, 6):
        rate.addAction("\u2605" * stars, lambda n=stars: controller.rate_take(instrument, take.id, n))
    others = [(index, other) for index, other in enumerate(track.takes, start=1) if other.id != take.id]
    if others:
        from musicsim_gui.gui.ratings_menu import open_prefer

        compare = menu.addMenu("Compare (prefer A/B) with")
        for index, other in others:
            compare.addAction(f"take {index}", lambda o=other: open_prefer(controller, instrument, take, o, parent))
    menu.addSeparator()
    menu.addAction(f"Delete take {row}", lambda: controller.push(commands.DeleteTake(instrument, take.id)))
    info = menu.addAction(f"{take.model_id} {take.model_version} \u00b7 seed {take.seed}")
    info.setEnabled(False)
    return menu
