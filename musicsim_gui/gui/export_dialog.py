"""`ExportDialog`: export the mix, the mix and every track as a stem, or the stems only (WAV or FLAC), as a job.

The dialog stays open while the export runs, showing its progress, then the written path with an
"Open folder" button. Choices persist in the studio settings. The export job receives a copy of the
project as it is now, unsaved edits included, so the file is what the user hears.
"""

from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from musicsim_gui.gui.export_options import (
    CONTENTS,
    DEFAULT_TEMPLATE,
    FORMATS,
    NORMALIZE,
    RATES,
    ExportChoice,
)


def _combo(items, current: str) -> QComboBox:
    combo = QComboBox()
    combo.addItems(list(items))
    if current in items:
        combo.setCurrentText(current)
    return combo


class ExportDialog(QDialog):
    """See the module docstring. `jobs` is the `JobsController`, `project` the `ProjectController`."""

    def __init__(self, project, jobs, settings, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.setMinimumWidth(560)  # room for the folder path
        self.project, self.jobs, self.settings = project, jobs, settings
        self.job_key: int | None = None
        self.written: list[str] = []
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._show_progress)
        if jobs is None:
            self.export_button.setEnabled(False)
            self.export_button.setToolTip("Exporting needs the jobs layer, which is not installed")
        else:
            jobs.job_done.connect(self._on_done)
            jobs.job_failed.connect(self._on_failed)
        self._update_preview()

    def _build(self) -> None:
        """The form, then the preview, progress and result area, then the buttons."""
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_form())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.start_export)
        buttons.rejected.connect(self.reject)
        for widget in (*self._build_result(), buttons):
            layout.addWidget(widget)
        for edit in (self.folder_edit, self.template_edit):
            edit.textChanged.connect(self._update_preview)
        for combo in (self.contents_combo, self.format_combo, self.normalize_combo):
            combo.currentTextChanged.connect(self._update_preview)
        self.normalize_combo.currentTextChanged.connect(self._normalize_changed)
        self._normalize_changed(self.normalize_combo.currentText())

    def _build_form(self) -> QFormLayout:
        """The export choices, preset from the remembered settings."""
        s = self.settings
        folder = s.value("export/folder", "") or str(self.project.project.folder / "exports")
        self.folder_edit = QLineEdit(str(folder))
        browse = QPushButton("Browse\u2026")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(browse)
        self.template_edit = QLineEdit(str(s.value("export/template", DEFAULT_TEMPLATE)))
        self.template_edit.setToolTip("File name; {title}, {date} and {time} are filled in")
        self.format_combo = _combo(FORMATS, str(s.value("export/format", "WAV 24-bit")))
        self.rate_combo = _combo(RATES, str(s.value("export/rate", "Project rate")))
        self.normalize_combo = _combo(NORMALIZE, str(s.value("export/normalize", "No normalisation")))
        self.target_spin = QDoubleSpinBox()
        self.target_spin.setRange(-60.0, 0.0)
        self.target_spin.setDecimals(1)
        stems = str(s.value("export/stems", "false")).lower() == "true"
        mix = str(s.value("export/mix", "true")).lower() == "true"
        self.contents_combo = _combo(CONTENTS, ExportChoice.contents_name(mix, stems))
        self.contents_combo.setToolTip("Stems are the tracks one by one, at their gain and pan; they sum to the mix")
        form = QFormLayout()
        form.addRow("Export", self.contents_combo)
        form.addRow("Folder", folder_row)
        form.addRow("File name", self.template_edit)
        form.addRow("Format", self.format_combo)
        form.addRow("Sample rate", self.rate_combo)
        form.addRow("Normalise", self.normalize_combo)
        form.addRow("Target", self.target_spin)
        return form

    def _build_result(self) -> tuple:
        """The path preview, the progress bar, the result text and the open-folder button."""
        self.preview = QLabel()
        self.preview.setObjectName("Dim")
        self.preview.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.open_button = QPushButton("Open folder")
        self.open_button.hide()
        self.open_button.clicked.connect(self.open_folder)
        return self.preview, self.progress, self.result_label, self.open_button

    def _normalize_changed(self, name: str) -> None:
        mode = NORMALIZE.get(name)
        self.target_spin.setEnabled(mode is not None)
        self.target_spin.setSuffix(" LUFS" if mode == "lufs" else " dBFS")
        self.target_spin.setValue(-14.0 if mode == "lufs" else -1.0)

    def choice(self) -> ExportChoice:
        mix, stems = CONTENTS[self.contents_combo.currentText()]
        return ExportChoice(Path(self.folder_edit.text()).expanduser(), self.template_edit.text(),
                            self.format_combo.currentText(), self.rate_combo.currentText(),
                            self.normalize_combo.currentText(), self.target_spin.value(), stems, mix)

    def _title(self) -> str:
        project = self.project.project
        return project.title or project.folder.name

    def _update_preview(self, *_args) -> None:
        choice = self.choice()
        mix, stems = choice.mix_path(self._title()), choice.stems_dir(self._title())
        lines = [f"Writes {mix}"] if mix is not None else []
        if stems is not None:
            lines.append(f"{'and one' if lines else 'Writes one'} file per track in {stems}")
        self.preview.setText("\n".join(lines))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _remember(self) -> None:
        s = self.settings
        s.setValue("export/folder", self.folder_edit.text())
        s.setValue("export/template", self.template_edit.text())
        s.setValue("export/format", self.format_combo.currentText())
        s.setValue("export/rate", self.rate_combo.currentText())
        s.setValue("export/normalize", self.normalize_combo.currentText())
        mix, stems = CONTENTS[self.contents_combo.currentText()]
        s.setValue("export/stems", "true" if stems else "false")
        s.setValue("export/mix", "true" if mix else "false")

    def start_export(self) -> None:
        """Submit the export job (the dialog stays open to show progress and the result)."""
        from musicsim_gui.core.errors import MusicSimError
        from musicsim_gui.jobs import ExportMix

        choice = self.choice()
        title = self._title()
        try:
            settings = choice.settings()
        except MusicSimError as error:
            self.result_label.setText(str(error))
            return
        self._remember()
        project = copy.deepcopy(self.project.project)
        stems, mix = choice.stems_dir(title), choice.mix_path(title)
        spec = ExportMix(str(project.folder), str(mix) if mix else None, settings,
                         str(stems) if stems else None, project=project, stem_suffix=choice.suffix)
        self.export_button.setEnabled(False)
        self.open_button.hide()
        self.result_label.setText("Exporting\u2026")
        self.progress.setValue(0)
        self.progress.show()
        self.job_key = self.jobs.submit(spec)
        self._timer.start()

    def _show_progress(self) -> None:
        entry = self.jobs.handles.get(self.job_key)
        if entry is not None:
            progress = entry[0].progress
            self.progress.setValue(int(progress.fraction * 1000))
            self.result_label.setText(progress.message)

    def _on_done(self, key: int, result) -> None:
        if key != self.job_key:
            return
        self._timer.stop()
        self.written = [str(path) for path in result]
        self.progress.setValue(1000)
        self.result_label.setText("Written:\n" + "\n".join(self.written))
        self.open_button.show()
        self.export_button.setEnabled(True)

    def _on_failed(self, key: int, message: str) -> None:
        if key != self.job_key:
            return
        self._timer.stop()
        self.progress.hide()
        self.result_label.setText(f"Export failed: {message}")
        self.export_button.setEnabled(True)

    def open_folder(self) -> None:
        if self.written:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(self.written[0]).parent)))
