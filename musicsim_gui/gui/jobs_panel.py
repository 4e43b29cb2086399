"""`JobsPanel`: the list of running and finished jobs and notices, newest on top, inside a dock widget."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from musicsim_gui.gui.job_row import JobRow

MAX_ROWS = 30


class JobsPanel(QWidget):
    """Rows of `JobRow` keyed by job id; "Clear finished" removes rows whose job has ended."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 2, 4, 2)
        top = QHBoxLayout()
        self.summary = QLabel("No jobs yet")
        self.summary.setObjectName("Dim")
        self.clear_button = QPushButton("Clear finished")
        top.addWidget(self.summary, 1)
        top.addWidget(self.clear_button)
        outer.addLayout(top)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        self.list_layout = QVBoxLayout(body)
        self.list_layout.setContentsMargins(0, 0, 0, 0)
        self.list_layout.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)
        self.rows: dict[int, JobRow] = {}
        self.clear_button.clicked.connect(self.clear_finished)

    def add_row(self, key: int, title: str) -> JobRow:
        row = JobRow(title)
        self.rows[key] = row
        self.list_layout.insertWidget(0, row)
        self._trim()
        self.update_summary()
        return row

    def clear_finished(self) -> None:
        for key, row in list(self.rows.items()):
            if row.finished:
                del self.rows[key]
                row.deleteLater()
        self.update_summary()

    def _trim(self) -> None:
        finished = [key for key, row in self.rows.items() if row.finished]
        while len(self.rows) > MAX_ROWS and finished:
            self.rows.pop(finished.pop(0)).deleteLater()

    def update_summary(self) -> None:
        running = sum(not row.finished for row in self.rows.values())
        self.summary.setText(f"{running} running" if running else "Nothing running")
