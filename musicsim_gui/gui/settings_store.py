"""The studio's persistent preferences (QSettings in an INI file under the user data folder).

Keys: window geometry and state, recent files, audio device and buffer size, inference backend and device,
model folder, export choices. The file lives in `$MUSICSIM_DATA_DIR` when set, so tests never touch the
user's real settings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from musicsim_gui.runtime.paths import user_data_dir

RECENT_LIMIT = 8
SETTINGS_FILE = "studio.ini"

DEFAULTS = {
    "audio/device": -1,
    "audio/blocksize": 256,
    "audio/sample_rate": 48000,
    "inference/backend": "auto",
    "inference/device": "auto",
    "inference/threads": 0,
    "models/folder": "",
}


def studio_settings() -> QSettings:
    """The studio's settings object (INI format, `<user data>/studio.ini`)."""
    path = user_data_dir() / SETTINGS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    return QSettings(str(path), QSettings.Format.IniFormat)


def value(settings: QSettings, key: str):
    """A setting with its default, converted to the default's type."""
    default = DEFAULTS.get(key)
    raw = settings.value(key, default)
    if raw is None or default is None:
        return raw
    try:
        return type(default)(raw)
    except (TypeError, ValueError):
        return default


def recent_files(settings: QSettings) -> list[str]:
    """Recently opened projects and files, newest first."""
    raw = settings.value("recent/files", [])
    items = [raw] if isinstance(raw, str) else list(raw or [])
    return [str(item) for item in items if item][:RECENT_LIMIT]


def add_recent(settings: QSettings, path: str | Path) -> list[str]:
    """Put `path` at the top of the recent list and return the new list."""
    path = str(path)
    items = [path] + [item for item in recent_files(settings) if item != path]
    settings.setValue("recent/files", items[:RECENT_LIMIT])
    return items[:RECENT_LIMIT]
