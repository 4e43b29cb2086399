"""Where models and caches live: the bundled `models/` folder, the user's data folder and the cache folder.

`$MUSICSIM_DATA_DIR` overrides the user data folder (tests and portable installs); the cache then lives in
its `cache/` subfolder so a test run never touches the real user cache.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "musicsim"


def bundled_models_dir() -> Path:
    """The `models/` folder shipped next to the package (`<repo>/models`)."""
    return Path(__file__).resolve().parents[2] / "models"


def user_data_dir() -> Path:
    """The user's data folder (`$MUSICSIM_DATA_DIR`, else the platform's user data dir for musicsim)."""
    override = os.environ.get("MUSICSIM_DATA_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))


def user_models_dir() -> Path:
    """Models the user installed (`$MUSICSIM_MODELS_DIR`, the studio's model folder setting, else
    `<user data>/models`)."""
    override = os.environ.get("MUSICSIM_MODELS_DIR")
    if override:
        return Path(override).expanduser()
    return user_data_dir() / "models"


def cache_dir() -> Path:
    """Disposable cached results (`$MUSICSIM_DATA_DIR/cache`, else the platform's user cache dir)."""
    override = os.environ.get("MUSICSIM_DATA_DIR")
    if override:
        return Path(override).expanduser() / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME))


RATINGS_DATABASE = "ratings.sqlite"


def ratings_db_path() -> Path:
    """The ratings database (`<user data>/ratings.sqlite`; `$MUSICSIM_DATA_DIR` honoured)."""
    return user_data_dir() / RATINGS_DATABASE


def scorer_path() -> Path:
    """The preference scorer trained on the user's ratings (`<user data>/preference_scorer.json`)."""
    return user_data_dir() / "preference_scorer.json"
