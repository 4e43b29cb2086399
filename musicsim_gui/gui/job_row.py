"""`JobRow`: one job (or notice) in the jobs panel: title, progress bar, ETA, Cancel, and error details on demand."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
)


def eta_text(seconds: float | None) -> str:
    """"about 1:05 left", or "" when unknown."""
    if seconds is None:
        return ""
    whole = int(round(seconds))
    return f"about {whole // 60}:{whole % 60:02d} left"


class JobRow(QFrame):
    """Shows one job's state; emits `cancel_clicked` and `open_clicked` (the folder of a written result)."""

    cancel_clicked = Signal()
    open_clicked = Signal()

    def __init__(self, title: str, parent=None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 3, 6, 3)
        self.title_label = QLabel(f"<b>{title}</b>")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(12)
        self.status_label = QLabel("Waiting to start")
        self.status_label.setObjectName("Dim")
        self.status_label.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel")
        self.details_button = QPushButton("Details")
        self.details_button.setCheckable(True)
        self.details_button.hide()
        self.open_button = QPushButton("Open folder")
        self.open_button.hide()
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(140)
        self.details.hide()
        grid.addWidget(self.title_label, 0, 0)
        grid.addWidget(self.bar, 0, 1)
        grid.addWidget(self.cancel_button, 0, 2)
        grid.addWidget(self.details_button, 0, 3)
        grid.addWidget(self.open_button, 0, 4)
        grid.addWidget(self.status_label, 1, 0, 1, 5)
        grid.addWidget(self.details, 2, 0, 1, 5)
        grid.setColumnStretch(1, 1)
        self.cancel_button.clicked.connect(self.cancel_clicked)
        self.open_button.clicked.connect(self.open_clicked)
        self.details_button.toggled.connect(self.details.setVisible)
        self.finished = False

    def show_progress(self, fraction: float, message: str, eta: float | None) -> None:
        self.bar.setValue(int(round(max(0.0, min(1.0, fraction)) * 1000)))
        self.status_label.setText(" \u00b7 ".join(part for part in (message, eta_text(eta)) if part))

    def show_done(self, message: str, can_open: bool = False) -> None:
        self._finish(message)
        self.bar.setValue(1000)
        self.open_button.setVisible(can_open)

    def show_failed(self, message: str, detail: str) -> None:
        self._finish(message)
        self.status_label.setObjectName("ErrorText")
        self.status_label.setStyleSheet("color: #ff6b6b;")
        if detail:
            self.details.setPlainText(detail)
            self.details_button.show()

    def show_cancelled(self, message: str) -> None:
        self._finish(message or "Cancelled")

    def _finish(self, message: str) -> None:
        self.finished = True
        self.cancel_button.hide()
        self.status_label.setText(message)
