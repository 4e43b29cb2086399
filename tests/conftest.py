"""Shared test set-up: offscreen Qt, an isolated user data folder, and small real audio files on disk."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if "MUSICSIM_DATA_DIR" not in os.environ:
    _data_dir = tempfile.mkdtemp(prefix="musicsim-test-data-")
    os.environ["MUSICSIM_DATA_DIR"] = _data_dir
    atexit.register(shutil.rmtree, _data_dir, ignore_errors=True)
