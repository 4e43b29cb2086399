"""Fetching published model files into the user model folder, with a plain message when offline.

`PUBLISHED` maps a model name to the URL of its released archive or checkpoint; model families add
their entries. A download goes to `<user models>/downloads/<name>/` (atomically), where the family's
import command turns it into a model folder with a manifest.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from musicsim_gui.core.atomic import atomic_path
from musicsim_gui.core.errors import ModelError
from musicsim_gui.runtime.paths import user_models_dir

PUBLISHED: dict[str, str] = {
    "spleeter-2stems": "https://github.com/deezer/spleeter/releases/download/v1.4.0/2stems.tar.gz",
    "spleeter-4stems": "https://github.com/deezer/spleeter/releases/download/v1.4.0/4stems.tar.gz",
    "spleeter-5stems": "https://github.com/deezer/spleeter/releases/download/v1.4.0/5stems.tar.gz",
}


def pull(name: str, timeout_s: float = 10.0) -> Path:
    """Download the published files of `name`; ModelError names the host when it cannot be reached."""
    if name not in PUBLISHED:
        raise ModelError(f"no published model named {name!r} (known: {', '.join(sorted(PUBLISHED))})")
    url = PUBLISHED[name]
    host = urllib.parse.urlparse(url).hostname
    target = user_models_dir() / "downloads" / name / Path(urllib.parse.urlparse(url).path).name
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response, atomic_path(target) as tmp:
            with open(tmp, "wb") as handle:
                while block := response.read(1 << 20):
                    handle.write(block)
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ModelError(f"cannot reach {host} to download {name} ({reason}); this machine seems to be "
                         f"offline. Download {url} elsewhere and import it from a local file.") from error
    return target.parent
