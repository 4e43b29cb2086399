"""`ReferenceHeader`: the left column of the reference lane: file name, format facts and the Separate action.

The separator used by "Separate stems" is picked in the combo box beside it (`SeparatorPicker`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from musicsim_gui.gui.separator_picker import SeparatorPicker

HEADER_WIDTH = 270


class ReferenceHeader(QFrame):
    """Shows which reference song is loaded and offers to split it into stems."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("ReferenceHeader")
        self.setFixedWidth(HEADER_WIDTH)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        title = QLabel("Reference")
        title.setObjectName("TrackName")
        self.file_label = QLabel("no reference loaded")
        self.file_label.setWordWrap(True)
        self.info_label = QLabel("")
        self.info_label.setObjectName("Dim")
        self.listen_button = QPushButton("Listen to the reference")
        self.listen_button.setCheckable(True)
        self.listen_button.setObjectName("ListenReference")
        self.listen_button.setToolTip("Hear the original song instead of your mix (A/B), without changing the mix")
        self.listen_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.separate_button = QPushButton("Separate stems")
        self.separate_button.setToolTip("Split the reference into bass, drums, piano and other")
        self.separate_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.separator_picker = SeparatorPicker()
        separate_row = QHBoxLayout()
        separate_row.addWidget(QLabel("Separator"))
        separate_row.addWidget(self.separator_picker, 1)
        for widget in (title, self.file_label, self.info_label):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.listen_button)
        layout.addLayout(separate_row)
        layout.addWidget(self.separate_button)

    def show_reference(self, name: str, info: str) -> None:
        """Display the reference file `name` and a one-line `info` (duration, rate, tempo)."""
        self.file_label.setText(name)
        self.file_label.setToolTip(name)
        self.info_label.setText(info)
