"""`MusicGenAdvanced`: the Regenerate dialog's folded "Advanced" MusicGen section, decoder and precision.

The decoder is our fast loop (default) or transformers' `generate()`, which gives the same tokens in float32 and
is there to check a take against it. Precision is the fast loop's compute dtype; "Auto" is float32 on the CPU and
bfloat16 on a GPU. `generate()` runs the model's float32 weights, so Precision is fixed to Auto with it. The take
records the decoder and the precision actually used. Both start at their defaults in every dialog: a slower
decoder or a lower precision is a deliberate, one-off choice.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QToolButton, QVBoxLayout, QWidget

DECODERS = {"Fast loop": "fast", "transformers generate()": "generate"}
"""Decoder labels shown → MusicGen's `decoder` values."""
PRECISIONS = {"Auto (float32 on CPU, bfloat16 on GPU)": "auto", "float32": "float32", "bfloat16": "bfloat16",
              "float16": "float16"}
"""Precision labels shown → MusicGen's `dtype` values."""


class MusicGenAdvanced(QWidget):
    """See the module docstring. `decoder()` and `dtype()` give the chosen MusicGen values."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.toggle = QToolButton()
        self.toggle.setText("Advanced")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.body = QWidget()
        self.decoder_combo = QComboBox()
        self.decoder_combo.addItems(list(DECODERS))
        self.decoder_combo.setToolTip("Fast loop: the default. transformers generate(): slower, the same take "
                                      "in float32, for checking one against the other")
        self.precision_combo = QComboBox()
        self.precision_combo.addItems(list(PRECISIONS))
        form = QFormLayout(self.body)
        form.setContentsMargins(16, 0, 0, 0)
        form.addRow("Decoder", self.decoder_combo)
        form.addRow("Precision", self.precision_combo)
        self.body.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.body)
        self.toggle.toggled.connect(self._unfold)
        self.decoder_combo.currentTextChanged.connect(self._decoder_changed)
        self._decoder_changed(self.decoder_combo.currentText())

    def decoder(self) -> str:
        """"fast" or "generate"."""
        return DECODERS[self.decoder_combo.currentText()]

    def dtype(self) -> str:
        """"auto", "float32", "bfloat16" or "float16"."""
        return PRECISIONS[self.precision_combo.currentText()]

    def _unfold(self, shown: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.body.setVisible(shown)
        window = self.window()
        if window is not self:
            window.adjustSize()

    def _decoder_changed(self, label: str) -> None:
        fast = DECODERS[label] == "fast"
        if not fast:
            self.precision_combo.setCurrentIndex(0)
        self.precision_combo.setEnabled(fast)
        self.precision_combo.setToolTip(
            "The fast loop's compute precision; the take records the one used" if fast else
            "transformers generate() runs the model's float32 weights; choose the fast loop for another precision")
