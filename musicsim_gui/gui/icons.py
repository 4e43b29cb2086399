"""Transport icons drawn in code (play, pause, stop, home, loop) in the theme's text colour.

Qt's stock media icons are dark grey, which is hard to see on the dark theme; these are simple shapes
painted on transparent pixmaps, so no image files are needed.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

from musicsim_gui.gui import theme

SIZE = 32


def _canvas(draw) -> QIcon:
    pixmap = QPixmap(SIZE, SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(theme.TEXT))
    draw(painter)
    painter.end()
    return QIcon(pixmap)


def _triangle(painter: QPainter, left: float, right: float) -> None:
    painter.drawPolygon(QPolygonF([QPointF(left, 6), QPointF(right, SIZE / 2), QPointF(left, SIZE - 6)]))


def play_icon() -> QIcon:
    return _canvas(lambda p: _triangle(p, 9, 26))


def pause_icon() -> QIcon:
    return _canvas(lambda p: (p.drawRect(QRectF(8, 6, 6, 20)), p.drawRect(QRectF(18, 6, 6, 20))))


def stop_icon() -> QIcon:
    return _canvas(lambda p: p.drawRect(QRectF(8, 8, 16, 16)))


def home_icon() -> QIcon:
    def draw(painter: QPainter) -> None:
        painter.drawRect(QRectF(6, 6, 4, 20))
        painter.drawPolygon(QPolygonF([QPointF(26, 6), QPointF(11, SIZE / 2), QPointF(26, SIZE - 6)]))

    return _canvas(draw)


def loop_icon() -> QIcon:
    def draw(painter: QPainter) -> None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(theme.TEXT), 3))
        path = QPainterPath()
        path.addRoundedRect(QRectF(6, 9, 20, 14), 6, 6)
        painter.drawPath(path)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.TEXT))
        painter.drawPolygon(QPolygonF([QPointF(17, 4), QPointF(23, 9), QPointF(17, 14)]))

    return _canvas(draw)
