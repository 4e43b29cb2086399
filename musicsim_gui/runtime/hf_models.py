"""Model folders in the Hugging Face layout (MusicGen and MusicGen-melody): import, remove and pull.

Architecture:
1. `import_hf_model(source)` checks that a folder (or a hub repo id already in the local Hugging Face cache)
   is a checkpoint of a known `model_type`, hard-links (or copies) its files into
   `<user models>/<name>/` and writes the `manifest.json` the registry reads: family, task, sample rate,
   channels, the sha256 of every file, the license (from the model card, else the family's default) and
   where it came from. The folder appears atomically (built under a temporary name, then renamed).
2. `remove_model(name)` deletes a user-installed model folder; bundled models are refused.
3. `pull_hf_model(repo_id)` downloads the checkpoint into the standard Hugging Face cache with
   huggingface_hub and imports it. With `HF_HUB_OFFLINE` set, or without a connection, it says so plainly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from musicsim_gui.core.errors import ModelError
from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.runtime.manifest import Manifest, file_sha256, write_manifest
from musicsim_gui.runtime.paths import user_models_dir

HF_FAMILIES: dict[str, tuple[str, str, str]] = {
    "musicgen": ("musicgen", "generation", "CC-BY-NC-4.0"),
    "musicgen_melody": ("musicgen", "generation", "CC-BY-NC-4.0"),
}
"""Hugging Face `model_type` → (family, task, license of the published weights when the card names none)."""

CHECKPOINT_PATTERNS = ("*.json", "*.safetensors", "*.model", "*.txt", "README.md", "LICENSE*")
"""Files a checkpoint needs (configs, safetensors weights, tokenizer, card); pickled weights are not pulled."""


def read_config_json(folder: Path, kind_of_folder: str = "Hugging Face model") -> Any:
    """The parsed `config.json` of a checkpoint folder; ModelError naming the folder when absent or unreadable."""
    try:
        return json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ModelError(f"{folder}: not a {kind_of_folder} folder (no config.json)") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"{folder / 'config.json'}: unreadable ({error})") from error


def _config(folder: Path) -> dict:
    config = read_config_json(folder)
    kind = config.get("model_type") if isinstance(config, dict) else None
    if kind not in HF_FAMILIES:
        raise ModelError(f"{folder}: model_type {kind!r} is not one this build can import "
                         f"({', '.join(sorted(HF_FAMILIES))})")
    if not any(folder.glob("*.safetensors")):
        raise ModelError(f"{folder}: no safetensors weights (only safetensors checkpoints are imported)")
    return config


def card_license(folder: Path) -> str | None:
    """The `license:` of the model card's YAML header (README.md), upper-cased, or None."""
    try:
        text = (folder / "README.md").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    header = re.match(r"---\s*\n(.*?)\n---", text, re.S)
    found = re.search(r"^license:\s*([^\s#]+)", header.group(1), re.M) if header else None
    return found.group(1).strip("'\"").upper() if found else None


def _model_files(folder: Path) -> list[Path]:
    return sorted(p for pattern in CHECKPOINT_PATTERNS for p in folder.glob(pattern)
                  if p.is_file() and p.name != "manifest.json")


def _place(source: Path, target: Path) -> None:
    """Hard-link `source` to `target` (same file system), else copy it."""
    try:
        os.link(source.resolve(), target)
    except OSError:
        shutil.copy2(source, target)


def import_hf_model(source: str | Path, name: str | None = None, models_dir: Path | None = None,
                    provenance: str | None = None) -> Path:
    """Install a Hugging Face checkpoint folder as a studio model; returns the new model folder.

    Args:
        source: a checkpoint folder, or a hub repo id present in the local Hugging Face cache.
        name: the registry name (default: the folder or repo name).
        models_dir: where to install (default: the user model folder).
        provenance: where the files came from (default: the source path).
    """
    folder = _local_folder(source)
    config = _config(folder)
    family, task, default_license = HF_FAMILIES[config["model_type"]]
    name = name or (str(source).rstrip("/").split("/")[-1] if not Path(source).is_dir() else folder.name)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ModelError(f"{name!r} is not a valid model name (letters, digits, '.', '_', '-')")
    root = Path(models_dir) if models_dir else user_models_dir()
    target = root / name
    if target.exists():
        raise ModelError(f"{target}: a model named {name!r} is already installed; remove it first")
    staging = root / f".{name}.importing"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        files = _model_files(folder)
        for path in files:
            _place(path, staging / path.name)
        write_manifest(staging, _manifest(staging, config, name, family, task,
                                          card_license(folder) or default_license,
                                          provenance or str(Path(source).resolve() if Path(source).is_dir()
                                                            else f"huggingface.co/{source} ({folder.name})")))
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _manifest(folder: Path, config: dict, name: str, family: str, task: str, license_: str,
              provenance: str) -> Manifest:
    codec = config.get("audio_encoder", {})
    decoder = config.get("decoder", {})
    files = {p.name: file_sha256(p) for p in sorted(folder.iterdir()) if p.is_file()}
    return Manifest(family=family, task=task, name=name, version=f"{config['model_type']}-{files['config.json'][:10]}",
                    sample_rate=int(codec.get("sampling_rate", 32000)), files=files,
                    channels=int(decoder.get("audio_channels", 1)), instruments=INSTRUMENTS, license=license_,
                    provenance=provenance, config={"model_type": config["model_type"], "layout": "huggingface"})


def _local_folder(source: str | Path) -> Path:
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    text = str(source)
    if text.count("/") == 1:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            return Path(snapshot_download(text, local_files_only=True))
        except (LocalEntryNotFoundError, ValueError) as error:
            raise ModelError(f"{text}: not in the local Hugging Face cache; `musicsim models pull {text}` "
                             "downloads it when online") from error
    raise ModelError(f"{source}: no such folder")


def remove_model(name: str, models_dir: Path | None = None) -> Path:
    """Delete the user-installed model `name`; returns the removed folder. Bundled models cannot be removed."""
    from musicsim_gui.runtime.registry import ModelRegistry

    registry = ModelRegistry([Path(models_dir)]) if models_dir else ModelRegistry()
    entry = registry.get(name)
    if entry.bundled:
        raise ModelError(f"{name} is bundled with the app ({entry.path}) and cannot be removed")
    shutil.rmtree(entry.path)
    return entry.path


def offline() -> bool:
    """True when the Hugging Face hub is switched off (`HF_HUB_OFFLINE` set to a true value)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def pull_hf_model(repo_id: str, name: str | None = None, models_dir: Path | None = None) -> Path:
    """Download `repo_id` (safetensors, configs, tokenizer, card) into the Hugging Face cache, then import it."""
    if offline():
        raise ModelError(f"cannot download {repo_id}: Hugging Face downloads are switched off (HF_HUB_OFFLINE "
                         "is set). Unset it when online, or import a local folder with `musicsim models import`")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        folder = snapshot_download(repo_id, allow_patterns=list(CHECKPOINT_PATTERNS))
    except LocalEntryNotFoundError as error:
        raise ModelError(f"cannot download {repo_id}: there is no connection to the Hugging Face hub. "
                         "Download it on a connected machine and `musicsim models import` the folder") from error
    except HfHubHTTPError as error:
        raise ModelError(f"cannot download {repo_id}: the hub refused ({error.__class__.__name__}: "
                         f"{str(error).splitlines()[0]})") from error
    return import_hf_model(folder, name or repo_id.split("/")[-1], models_dir,
                           provenance=f"huggingface.co/{repo_id} (revision {Path(folder).name})")
