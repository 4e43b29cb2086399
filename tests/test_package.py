"""The package imports cheaply and the entry points answer."""

from __future__ import annotations

import subprocess
import sys


def test_import_and_parser_do_not_pull_heavy_libraries():
    code = ("import sys, musicsim_gui, musicsim_gui.cli.main as cli; cli.build_parser(); "
            "heavy = [m for m in ('torch', 'onnxruntime', 'librosa', 'PySide6', 'transformers', 'scipy', "
            "'matplotlib', 'pyqtgraph') if m in sys.modules]; "
            "print(','.join(heavy))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_cli_help_lists_commands():
    result = subprocess.run([sys.executable, "-m", "musicsim_gui", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "gui" in result.stdout


def test_cli_version():
    result = subprocess.run([sys.executable, "-m", "musicsim_gui", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and "musicsim" in result.stdout
