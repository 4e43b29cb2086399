"""`StarRating`: five clickable stars showing a take's rating (None = unrated, 0..5)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QWidget

STARS = 5
STAR_PIXELS = 18
FULL = "\u2605"
EMPTY = "\u2606"


class StarRating(QWidget):
    """Paints ★★★☆☆; a click on star k emits `rated(k)` (clicking the current rating clears it to 0)."""

    rated = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.stars: int | None = None
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Rate the chosen take (keys 1-5)")

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(STARS * STAR_PIXELS + 4, STAR_PIXELS + 4)

    def set_stars(self, stars: int | None) -> None:
        self.stars = stars
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        font = painter.font()
        font.setPixelSize(STAR_PIXELS - 2)
        painter.setFont(font)
        filled = self.stars or 0
        enabled = self.isEnabled()
        for index in range(STARS):
            colour = "#ffc940" if index < filled and enabled else "#6b7280"
            painter.setPen(QColor(colour))
            painter.drawText(index * STAR_PIXELS, 0, STAR_PIXELS, STAR_PIXELS + 2,
                             Qt.AlignmentFlag.AlignCenter, FULL if index < filled else EMPTY)
        painter.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if not self.isEnabled() or event.button() != Qt.MouseButton.LeftButton:
            return
        star = min(STARS, int(event.position().x() // STAR_PIXELS) + 1)
        self.rated.emit(0 if star == self.stars else star)
