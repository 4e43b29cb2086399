"""`TimeAxis`: a pyqtgraph axis that labels seconds as m:ss (or m:ss.s when zoomed in)."""

from __future__ import annotations

import pyqtgraph as pg

from musicsim_gui.gui.timefmt import mm_ss


class TimeAxis(pg.AxisItem):
    """Bottom or top axis in seconds, labelled m:ss; tenths appear when ticks are under a second apart."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph naming)
        if spacing >= 1.0:
            return [mm_ss(value) for value in values]
        labels = []
        for value in values:
            tenths = int(round(abs(value) * 10)) % 10
            labels.append(f"{mm_ss(value)}.{tenths}")
        return labels
