"""Shared test set-up: offscreen Qt, an isolated user data folder, and small real audio files on disk."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MUSICSIM_DATA_DIR", tempfile.mkdtemp(prefix="musicsim-test-data-"))
