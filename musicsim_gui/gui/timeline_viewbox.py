"""`TimelineViewBox`: a pyqtgraph ViewBox whose x axis is time in seconds, shared by every lane.

Architecture:
1. Only the x axis moves: the wheel scrolls in time, Ctrl+wheel zooms around the cursor, a left drag pans.
2. A click emits `sigClicked(x, y)` in view coordinates (seconds, lane units); lanes turn it into a seek
   or a take choice. A right click emits `sigContextMenu(x, y, screen position)`.
3. In ruler mode a left drag emits `sigRangeDragged(start, end, finished)` instead of panning: the
   reference lane turns it into the loop region.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal

ZOOM_STEP = 1.25
SCROLL_FRACTION = 0.1


class TimelineViewBox(pg.ViewBox):
    """A ViewBox that zooms and scrolls in time only; see the module docstring."""

    sigClicked = Signal(float, float)
    sigRangeDragged = Signal(float, float, bool)
    sigContextMenu = Signal(float, float, object)

    def __init__(self, ruler: bool = False, **kwargs) -> None:
        super().__init__(enableMenu=False, **kwargs)
        self.ruler = ruler
        self.setMouseEnabled(x=True, y=False)

    def wheelEvent(self, ev, axis=None) -> None:  # noqa: N802 (Qt naming)
        delta = ev.delta() if hasattr(ev, "delta") else ev.angleDelta().y()
        if delta == 0:
            ev.ignore()
            return
        (x0, x1), _ = self.viewRange()
        if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
            centre = self.mapSceneToView(ev.scenePos()).x()
            self.zoom_x(ZOOM_STEP if delta < 0 else 1.0 / ZOOM_STEP, centre)
        else:
            step = (x1 - x0) * SCROLL_FRACTION * (-1 if delta > 0 else 1)
            self.setXRange(x0 + step, x1 + step, padding=0)
        ev.accept()

    def zoom_x(self, factor: float, centre: float | None = None) -> None:
        """Scale the visible time span by `factor` (> 1 zooms out) around `centre` seconds."""
        (x0, x1), _ = self.viewRange()
        centre = (x0 + x1) / 2 if centre is None else centre
        self.setXRange(centre - (centre - x0) * factor, centre + (x1 - centre) * factor, padding=0)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802
        point = self.mapSceneToView(ev.scenePos())
        if ev.button() == Qt.MouseButton.LeftButton:
            self.sigClicked.emit(float(point.x()), float(point.y()))
        elif ev.button() == Qt.MouseButton.RightButton:
            self.sigContextMenu.emit(float(point.x()), float(point.y()), ev.screenPos().toPoint())
        else:
            ev.ignore()
            return
        ev.accept()

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        if not self.ruler or ev.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(ev, axis=0)
            return
        ev.accept()
        start = self.mapSceneToView(ev.buttonDownScenePos()).x()
        end = self.mapSceneToView(ev.scenePos()).x()
        self.sigRangeDragged.emit(float(min(start, end)), float(max(start, end)), bool(ev.isFinish()))
