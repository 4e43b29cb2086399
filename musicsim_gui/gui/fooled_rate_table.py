"""`FooledRateTable`: blind-test results per model and instrument (fooled rate, 95 % interval, trials)."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

COLUMNS = ("Model", "Version", "Instrument", "Fooled", "95 % interval", "Trials")


class FooledRateTable(QTableWidget):
    """Read-only table of `core.ratings.FooledRate` records."""

    def __init__(self, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.setToolTip("Fooled: share of trials where the listener took the generated clip for the real one")

    def show_rates(self, rates) -> None:
        self.setRowCount(len(rates))
        for row, r in enumerate(rates):
            cells = (r.model_id, r.model_version, r.instrument, f"{100 * r.rate:.0f} %",
                     f"{100 * r.low:.0f}\u2013{100 * r.high:.0f} %", str(r.trials))
            for column, text in enumerate(cells):
                self.setItem(row, column, QTableWidgetItem(text))

    def cell_text(self, row: int, column: int) -> str:
        item = self.item(row, column)
        return item.text() if item is not None else ""
