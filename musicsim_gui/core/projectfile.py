"""The project file: versioned JSON in the project folder, validated against a schema on load, saved atomically.

Architecture:
1. `project_to_dict` / `project_from_dict` convert between the model and plain JSON data. The file carries
   `"format": "musicsim-project"` and an integer `"version"`; older versions are upgraded step by step by
   the functions in `_UPGRADES` before validation, newer ones are refused with a clear message.
2. Loading validates with JSON Schema (`PROJECT_SCHEMA`) so a hand-edited or damaged file fails with a
   message that names the file and the offending field, never with a KeyError deep in the GUI.
3. Saving writes a temporary sibling, fsyncs and renames it (`core.atomic`): a crash or kill mid-save
   leaves the previous project file intact. The previous version is kept as `project.musicsim.json.bak`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from musicsim_gui.core.atomic import atomic_write_bytes, atomic_write_text
from musicsim_gui.core.errors import ProjectFileError
from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.core.project import MAX_RATING, Project, Take, Track

PROJECT_FILE = "project.musicsim.json"
BACKUP_SUFFIX = ".bak"
FORMAT_NAME = "musicsim-project"
FORMAT_VERSION = 1

_TAKE_SCHEMA = {
    "type": "object",
    "required": ["id", "path", "model_id", "model_version", "seed", "created"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "path": {"type": "string", "minLength": 1},
        "model_id": {"type": "string"},
        "model_version": {"type": "string"},
        "seed": {"type": "integer"},
        "params": {"type": "object"},
        "created": {"type": "string"},
        "rating": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_RATING},
    },
}

_TRACK_SCHEMA = {
    "type": "object",
    "required": ["takes"],
    "properties": {
        "takes": {"type": "array", "items": _TAKE_SCHEMA},
        "chosen_take_id": {"type": ["string", "null"]},
        "gain_db": {"type": "number", "minimum": -150, "maximum": 24},
        "pan": {"type": "number", "minimum": -1, "maximum": 1},
        "mute": {"type": "boolean"},
        "solo": {"type": "boolean"},
        "reference_stem": {"type": ["string", "null"]},
        "listen_reference": {"type": "boolean"},
        "reference_stem_separator": {"type": "string"},
    },
}

PROJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["format", "version", "reference", "tracks"],
    "properties": {
        "format": {"const": FORMAT_NAME},
        "version": {"const": FORMAT_VERSION},
        "title": {"type": "string"},
        "reference": {
            "type": "object",
            "required": ["path"],
            "properties": {
                "path": {"type": "string", "minLength": 1},
                "hash": {"type": "string"},
                "tempo_bpm": {"type": ["number", "null"], "exclusiveMinimum": 0},
                "first_downbeat_s": {"type": "number", "minimum": 0},
            },
        },
        "master_gain_db": {"type": "number", "minimum": -150, "maximum": 24},
        "tracks": {
            "type": "object",
            "properties": {name: _TRACK_SCHEMA for name in INSTRUMENTS},
            "additionalProperties": False,
        },
    },
}

_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""version -> function upgrading a document of that version to version + 1."""


def project_file(folder: str | os.PathLike[str]) -> Path:
    """The project file inside a project folder (a path to the file itself is accepted too)."""
    path = Path(folder)
    return path if path.name == PROJECT_FILE else path / PROJECT_FILE


def _take_to_dict(take: Take) -> dict[str, Any]:
    return {"id": take.id, "path": take.path, "model_id": take.model_id, "model_version": take.model_version,
            "seed": take.seed, "params": take.params, "created": take.created, "rating": take.rating}


def _track_to_dict(track: Track) -> dict[str, Any]:
    return {"takes": [_take_to_dict(take) for take in track.takes], "chosen_take_id": track.chosen_take_id,
            "gain_db": track.gain_db, "pan": track.pan, "mute": track.mute, "solo": track.solo,
            "reference_stem": track.reference_stem, "listen_reference": track.listen_reference,
            "reference_stem_separator": track.reference_stem_separator}


def project_to_dict(project: Project) -> dict[str, Any]:
    """The JSON document of a project (without its folder, which is where the file lives)."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "title": project.title,
        "reference": {"path": project.reference_path, "hash": project.reference_hash,
                      "tempo_bpm": project.tempo_bpm, "first_downbeat_s": project.first_downbeat_seconds},
        "master_gain_db": project.master_gain_db,
        "tracks": {name: _track_to_dict(track) for name, track in project.tracks.items()},
    }


def _track_from_dict(name: str, data: dict[str, Any]) -> Track:
    takes = [Take(id=t["id"], path=t["path"], model_id=t["model_id"], model_version=t["model_version"],
                  seed=t["seed"], params=dict(t.get("params", {})), created=t["created"],
                  rating=t.get("rating")) for t in data["takes"]]
    track = Track(instrument=name, takes=takes, chosen_take_id=data.get("chosen_take_id"),
                  gain_db=float(data.get("gain_db", 0.0)), pan=float(data.get("pan", 0.0)),
                  mute=bool(data.get("mute", False)), solo=bool(data.get("solo", False)),
                  reference_stem=data.get("reference_stem"),
                  listen_reference=bool(data.get("listen_reference", False)),
                  reference_stem_separator=str(data.get("reference_stem_separator", "")))
    if track.chosen_take_id is not None and track.chosen_take_id not in {t.id for t in takes}:
        raise ValueError(f"tracks.{name}.chosen_take_id names a take that does not exist")
    return track


def project_from_dict(data: dict[str, Any], folder: Path) -> Project:
    """Build a Project from a validated JSON document."""
    reference = data["reference"]
    tracks = {name: _track_from_dict(name, data["tracks"].get(name, {"takes": []})) for name in INSTRUMENTS}
    return Project(folder=folder, reference_path=reference["path"], reference_hash=reference.get("hash", ""),
                   tempo_bpm=reference.get("tempo_bpm"), tracks=tracks,
                   master_gain_db=float(data.get("master_gain_db", 0.0)), title=data.get("title", ""),
                   first_downbeat_seconds=float(reference.get("first_downbeat_s", 0.0)))


def _upgrade(data: dict[str, Any], path: Path) -> dict[str, Any]:
    version = data.get("version")
    if data.get("format") != FORMAT_NAME or not isinstance(version, int):
        raise ProjectFileError(f"{path}: not a MuSiC Studio project file")
    if version > FORMAT_VERSION:
        raise ProjectFileError(f"{path}: made by a newer MuSiC Studio (project version {version}; "
                               f"this one reads up to {FORMAT_VERSION})")
    while version < FORMAT_VERSION:
        if version not in _UPGRADES:
            raise ProjectFileError(f"{path}: project version {version} can no longer be read")
        data = _UPGRADES[version](data)
        version = data["version"]
    return data


def validate_project_document(data: Any, path: Path) -> None:
    """Raise ProjectFileError naming the first schema violation, if any."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(PROJECT_SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise ProjectFileError(f"{path}: invalid project file at {where}: {error.message}")


def load_project(folder: str | os.PathLike[str]) -> Project:
    """Read, upgrade, validate and build the project stored in `folder` (or at the given project file)."""
    path = project_file(folder)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProjectFileError(f"{path}: no project file here") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ProjectFileError(f"{path}: cannot read the project file ({error})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProjectFileError(f"{path}: damaged project file (not valid JSON: {error})") from None
    if not isinstance(data, dict):
        raise ProjectFileError(f"{path}: not a MuSiC Studio project file")
    data = _upgrade(data, path)
    validate_project_document(data, path)
    try:
        return project_from_dict(data, path.parent.resolve())
    except (ValueError, KeyError) as error:
        raise ProjectFileError(f"{path}: invalid project file: {error}") from None


def save_project(project: Project) -> Path:
    """Write the project file atomically into `project.folder`, keeping the previous one as a backup."""
    path = project_file(project.folder)
    data = project_to_dict(project)
    validate_project_document(data, path)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    project.folder.mkdir(parents=True, exist_ok=True)
    if path.exists():
        backup = path.with_name(path.name + BACKUP_SUFFIX)
        try:
            atomic_write_bytes(backup, path.read_bytes())
        except OSError:
            pass  # a backup is a courtesy; the atomic write below is what protects the project
    atomic_write_text(path, text)
    return path
