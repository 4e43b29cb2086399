"""`LevelMeter`: a stereo output meter (two horizontal bars, -60..0 dBFS, with a short peak hold)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QWidget

from musicsim_gui.gui.timefmt import linear_to_dbfs

FLOOR_DB = -60.0
HOLD_TICKS = 45


def _colour(db: float) -> QColor:
    if db > -3.0:
        return QColor("#ff5252")
    if db > -12.0:
        return QColor("#ffd23f")
    return QColor("#52c26b")


class LevelMeter(QWidget):
    """Shows two linear peak levels (1.0 = 0 dBFS) as bars; `set_levels` is called by the display timer."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.levels_db = [FLOOR_DB, FLOOR_DB]
        self.holds_db = [FLOOR_DB, FLOOR_DB]
        self._hold_age = [0, 0]
        self.setToolTip("Output level (dBFS), left and right")

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(160, 22)

    def set_levels(self, left: float, right: float) -> None:
        """Take new linear peak levels and repaint if anything visible changed."""
        changed = False
        for index, level in enumerate((left, right)):
            db = linear_to_dbfs(level, FLOOR_DB)
            self._hold_age[index] += 1
            if db >= self.holds_db[index] or self._hold_age[index] > HOLD_TICKS:
                self.holds_db[index] = db
                self._hold_age[index] = 0
            if abs(db - self.levels_db[index]) > 0.1:
                changed = True
            self.levels_db[index] = db
        if changed:
            self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        width, height = self.width(), self.height()
        bar = (height - 3) / 2
        painter.fillRect(0, 0, width, height, QColor("#101215"))
        for index in range(2):
            top = 1 + index * (bar + 1)
            fraction = (self.levels_db[index] - FLOOR_DB) / -FLOOR_DB
            painter.fillRect(QRectF(0, top, width * fraction, bar), _colour(self.levels_db[index]))
            hold = (self.holds_db[index] - FLOOR_DB) / -FLOOR_DB * width
            if hold > 2:
                painter.fillRect(QRectF(max(0.0, hold - 2), top, 2, bar), QColor("#e6e9ef"))
        painter.end()
