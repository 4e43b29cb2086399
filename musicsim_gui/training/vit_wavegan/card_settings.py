"""Storing a fitted finishing setting (tone match, temporal smoothing) in a model folder: manifest and card together.

A setting lives under one key of the manifest's `config` and is described by one line of `MODEL_CARD.md` that
starts with a fixed prefix. Installing replaces an earlier line with the same prefix (or places the new one
after the line its `after` prefixes name, the first that is present, else at the end), updates the card's
hash in the manifest and writes both atomically, so a folder never holds a card its manifest does not verify.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from musicsim_gui.core.atomic import atomic_write_text
from musicsim_gui.runtime.manifest import Manifest, file_sha256, load_manifest, write_manifest

CARD_FILE = "MODEL_CARD.md"


def install_setting(folder: Path, key: str, value: dict[str, Any], line: str, prefix: str,
                    after: tuple[str, ...] = ()) -> Manifest:
    """`value` stored as `config[key]` of the folder's manifest and `line` (starting with `prefix`) in its card;
    returns the updated manifest (see module docstring)."""
    folder = Path(folder)
    manifest = load_manifest(folder, verify=True)
    card_path = folder / CARD_FILE
    files = dict(manifest.files)
    if card_path.is_file():
        kept = [text for text in card_path.read_text().splitlines() if not text.startswith(prefix)]
        anchors = (next((i for i, text in enumerate(kept) if text.startswith(anchor)), None) for anchor in after)
        anchor = next((i for i in anchors if i is not None), None)
        kept.insert(len(kept) if anchor is None else anchor + 1, line)
        atomic_write_text(card_path, "\n".join(kept) + "\n")
        if CARD_FILE in files:
            files[CARD_FILE] = file_sha256(card_path)
    updated = replace(manifest, config={**manifest.config, key: value}, files=files)
    write_manifest(folder, updated)
    return updated
