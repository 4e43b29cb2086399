"""`SettingsDialog`: audio output device and buffer size, inference backend, device and worker threads, generator
and model folder.

Values are stored in the studio settings (QSettings). A new output device applies at once (the engine
re-opens its stream), and so does the model folder (for jobs started afterwards); buffer size and
sample rate apply the next time the studio starts.
"""

from __future__ import annotations

import os

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
)

from musicsim_gui.gui.settings_store import value

BLOCK_SIZES = (64, 128, 256, 512, 1024, 2048)
SAMPLE_RATES = (44100, 48000, 96000)
BACKENDS = ("auto", "onnx", "torch")
DEVICES = ("auto", "cpu", "cuda")


class SettingsDialog(QDialog):
    """See the module docstring; `engine` may be None (no playback)."""

    def __init__(self, settings, engine=None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings, self.engine = settings, engine
        form = QFormLayout(self)
        self.device_combo = QComboBox()
        self.device_combo.addItem("System default", -1)
        devices = engine.output_devices() if engine is not None else []
        for index, name in devices:
            self.device_combo.addItem(name, index)
        self._select(self.device_combo, value(settings, "audio/device"))
        self.block_combo = self._choices(BLOCK_SIZES, value(settings, "audio/blocksize"), " frames")
        self.rate_combo = self._choices(SAMPLE_RATES, value(settings, "audio/sample_rate"), " Hz")
        self.backend_combo = self._choices(BACKENDS, value(settings, "inference/backend"))
        self.inference_combo = self._choices(DEVICES, value(settings, "inference/device"))
        self.threads_spin = QSpinBox()
        self.threads_spin.setRange(0, os.cpu_count() or 1)
        self.threads_spin.setSpecialValueText(f"auto ({max(1, (os.cpu_count() or 2) - 1)})")
        self.threads_spin.setValue(value(settings, "inference/threads"))
        self.threads_spin.setToolTip("CPU threads per model job; more than the free cores slows models down a lot")
        self.model_edit = QLineEdit(str(value(settings, "models/folder") or ""))
        self.model_edit.setPlaceholderText("default: the user data folder's models/")
        browse = QPushButton("Browse\u2026")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.model_edit, 1)
        folder_row.addWidget(browse)
        self.generator_edit = QLineEdit(str(settings.value("generation/model", "") or ""))
        self.generator_edit.setPlaceholderText("default: the first trained generator installed")
        form.addRow("Audio output", self.device_combo)
        form.addRow("Buffer size", self.block_combo)
        form.addRow("Sample rate", self.rate_combo)
        note = QLabel("Buffer size and sample rate apply when the studio next starts.")
        note.setObjectName("Dim")
        form.addRow("", note)
        form.addRow("Inference backend", self.backend_combo)
        form.addRow("Inference device", self.inference_combo)
        form.addRow("Worker threads", self.threads_spin)
        form.addRow("Generator", self.generator_edit)
        form.addRow("Model folder", folder_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    @staticmethod
    def _choices(items, current, unit: str = "") -> QComboBox:
        combo = QComboBox()
        for item in items:
            combo.addItem(f"{item}{unit}", item)
        SettingsDialog._select(combo, current)
        return combo

    @staticmethod
    def _select(combo: QComboBox, data) -> None:
        index = combo.findData(data)
        if index >= 0:
            combo.setCurrentIndex(index)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Model folder", self.model_edit.text())
        if folder:
            self.model_edit.setText(folder)

    def accept(self) -> None:
        """Store every value; switch the engine's output device if it changed."""
        s = self.settings
        device = int(self.device_combo.currentData())
        changed = device != value(s, "audio/device")
        s.setValue("audio/device", device)
        s.setValue("audio/blocksize", int(self.block_combo.currentData()))
        s.setValue("audio/sample_rate", int(self.rate_combo.currentData()))
        s.setValue("inference/backend", self.backend_combo.currentData())
        s.setValue("inference/device", self.inference_combo.currentData())
        s.setValue("inference/threads", self.threads_spin.value())
        s.setValue("generation/model", self.generator_edit.text().strip())
        folder = self.model_edit.text().strip()
        s.setValue("models/folder", folder)
        s.sync()
        if folder:  # job workers started from now on look for models there
            os.environ["MUSICSIM_MODELS_DIR"] = folder
        else:
            os.environ.pop("MUSICSIM_MODELS_DIR", None)
        if changed and self.engine is not None:
            self.engine.set_device(None if device < 0 else device)
        super().accept()
