"""The model registry: every model folder (one with a `manifest.json`) under the bundled and user model dirs.

Folders are scanned lazily and read without hashing (`verify=False`); hashes are checked when a model is
actually loaded. A user model with the same name as a bundled one takes precedence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from musicsim_gui.core.errors import ModelError
from musicsim_gui.runtime.manifest import MANIFEST_FILE, Manifest, load_manifest
from musicsim_gui.runtime.paths import bundled_models_dir, user_models_dir


@dataclass(frozen=True)
class ModelEntry:
    """One installed model: its folder, its manifest, and whether it came bundled with the app."""

    path: Path
    manifest: Manifest
    bundled: bool

    @property
    def name(self) -> str:
        return self.manifest.name


class ModelRegistry:
    """Installed models by name.

    Args:
        paths: folders to scan, in increasing precedence; default: bundled `models/`, then the user's models.
    """

    def __init__(self, paths: list[Path] | None = None) -> None:
        self._default = paths is None
        self.paths = [bundled_models_dir(), user_models_dir()] if paths is None else [Path(p) for p in paths]
        self.problems: list[str] = []

    def _scan(self) -> dict[str, ModelEntry]:
        entries: dict[str, ModelEntry] = {}
        self.problems = []
        for index, root in enumerate(self.paths):
            if not root.is_dir():
                continue
            for folder in sorted(p for p in root.iterdir() if (p / MANIFEST_FILE).is_file()):
                try:
                    manifest = load_manifest(folder, verify=False)
                except ModelError as error:
                    self.problems.append(str(error))
                    continue
                bundled = self._default and index == 0
                entries[manifest.name] = ModelEntry(folder, manifest, bundled)
        return entries

    def list(self, task: str | None = None) -> list[ModelEntry]:
        """Installed models (optionally only those of `task`), sorted by name."""
        entries = self._scan().values()
        return sorted((e for e in entries if task is None or e.manifest.task == task), key=lambda e: e.name)

    def get(self, name: str) -> ModelEntry:
        """The model called `name`, or ModelError listing the installed names."""
        entries = self._scan()
        if name not in entries:
            known = ", ".join(sorted(entries)) or "none"
            raise ModelError(f"no installed model named {name!r} (installed: {known})")
        return entries[name]
