"""Model manifests: the `manifest.json` every model folder carries, and its verification on load.

A manifest says what a model is (family, task, name, version), what it expects (sample rate, channels,
instruments, input and output tensors) and what it is made of (`files`: name → sha256). `load_manifest`
checks every listed file's hash, so a truncated download or a swapped weight file is caught before a
backend ever opens it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from musicsim_gui.core.atomic import atomic_write_text
from musicsim_gui.core.errors import ModelError

MANIFEST_FILE = "manifest.json"
_REQUIRED = ("family", "task", "name", "version", "sample_rate", "files")


@dataclass(frozen=True)
class Manifest:
    """What a model folder contains and expects.

    Attributes:
        family: the model family (e.g. "masknet", "vit-wavegan").
        task: "separation" or "generation".
        name: the registry name (unique among installed models).
        version: the model version string (part of every cache key).
        sample_rate: the rate, in Hz, the model's audio runs at.
        channels: audio channels the model takes (1 = mono, applied per channel).
        instruments: stems or instruments the model produces.
        inputs / outputs: tensor name → {"shape": [...], "dtype": ...} (symbolic dims as strings).
        files: file name (relative to the folder) → sha256 hex digest.
        license / provenance: where the weights come from and under which terms.
        metrics: evaluation figures (free-form, e.g. {"sdr_mean_db": 8.1}).
        config: family-specific settings (STFT sizes, layer sizes).
    """

    family: str
    task: str
    name: str
    version: str
    sample_rate: int
    files: dict[str, str]
    channels: int = 1
    instruments: tuple[str, ...] = ()
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    license: str = ""
    provenance: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        data = asdict(self)
        data["instruments"] = list(self.instruments)
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _parse(path: Path) -> Manifest:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ModelError(f"{path}: no manifest.json in the model folder") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"{path}: unreadable manifest ({error})") from error
    if not isinstance(data, dict):
        raise ModelError(f"{path}: the manifest is not a JSON object")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ModelError(f"{path}: the manifest lacks {', '.join(missing)}")
    known = set(Manifest.__dataclass_fields__)
    values = {key: value for key, value in data.items() if key in known}
    values["instruments"] = tuple(values.get("instruments", ()))
    try:
        return Manifest(**values)
    except TypeError as error:
        raise ModelError(f"{path}: malformed manifest ({error})") from error


def verify_files(model_dir: Path, manifest: Manifest) -> None:
    """Raise ModelError naming the first listed file that is missing or whose sha256 differs."""
    for name, expected in manifest.files.items():
        path = model_dir / name
        if not path.is_file():
            raise ModelError(f"{path}: model file listed in the manifest is missing")
        actual = file_sha256(path)
        if actual != expected:
            raise ModelError(f"{path}: sha256 mismatch (expected {expected[:12]}…, found {actual[:12]}…); "
                             "the file is corrupt or was replaced")


def load_manifest(model_dir: str | Path, verify: bool = True) -> Manifest:
    """Read `model_dir/manifest.json`; with `verify`, check every listed file's sha256 (ModelError on mismatch)."""
    model_dir = Path(model_dir)
    manifest = _parse(model_dir / MANIFEST_FILE)
    if verify:
        verify_files(model_dir, manifest)
    return manifest


def write_manifest(model_dir: str | Path, manifest: Manifest) -> Path:
    """Write `manifest` atomically as `model_dir/manifest.json` and return its path."""
    path = Path(model_dir) / MANIFEST_FILE
    atomic_write_text(path, manifest.to_json())
    return path
