"""How much of a song the built-in separator hears at once: the manifest's `chunk_seconds`."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from separation_support import build_debug_model, synthetic_stems

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import ModelError
from musicsim_gui.runtime.manifest import load_manifest, write_manifest
from musicsim_gui.separation.builtin import CHUNK_SECONDS, open_masknet
from musicsim_gui.separation.cache import CachedSeparator
from musicsim_gui.separation.chunking import chunk_spans
from musicsim_gui.separation.masking import apply_masks
from musicsim_gui.training.separation.model_card import model_card

RATE = 44100


def with_config(folder, **changes):
    manifest = load_manifest(folder)
    config = {key: value for key, value in manifest.config.items() if key not in changes or changes[key] is not None}
    config.update({key: value for key, value in changes.items() if value is not None})
    write_manifest(folder, replace(manifest, config=config))


@pytest.fixture()
def model(tmp_path):
    return build_debug_model(tmp_path / "model")


@pytest.fixture(scope="module")
def song():
    return AudioClip(sum(synthetic_stems(9.0, RATE, 5).values()).astype(np.float32), RATE)


def test_an_export_states_its_chunk_length_and_an_older_folder_gets_the_default(model):
    assert json.loads((model / "manifest.json").read_text())["config"]["chunk_seconds"] == CHUNK_SECONDS
    assert open_masknet(model, backend="onnx").settings.chunk_seconds == CHUNK_SECONDS
    with_config(model, chunk_seconds=6)
    separator = open_masknet(model, backend="onnx")
    assert separator.settings.chunk_seconds == 6.0
    assert "chunking (6 s chunks" in model_card(load_manifest(model))
    with_config(model, chunk_seconds=None)  # a folder exported before the field
    assert "chunk_seconds" not in load_manifest(model).config
    assert open_masknet(model, backend="onnx").settings.chunk_seconds == CHUNK_SECONDS


@pytest.mark.parametrize("value", [2, 0, -30, "60", True, float("nan"), float("inf")])
def test_a_chunk_length_that_cannot_be_used_names_the_manifest(model, value):
    manifest = load_manifest(model)
    config = dict(manifest.config, chunk_seconds=value)
    (model / "manifest.json").write_text(json.dumps({**json.loads((model / "manifest.json").read_text()),
                                                     "config": config}, allow_nan=True))
    with pytest.raises(ModelError, match=r"manifest\.json: chunk_seconds .*: need a number of seconds, at least 4"):
        open_masknet(model, backend="onnx")


def test_a_song_within_one_chunk_is_separated_whole_and_shorter_chunks_hear_less_of_it(model, song):
    whole = open_masknet(model, backend="onnx")
    stems = whole.separate(song)
    alone = apply_masks(song.samples, whole.masks, whole.settings)
    for name, clip in stems.items():
        np.testing.assert_allclose(clip.samples, alone[name], atol=1e-6)
    with_config(model, chunk_seconds=4)
    short = open_masknet(model, backend="onnx")
    assert len(chunk_spans(song.frames, 4 * RATE, RATE)) == 3
    pieces = short.separate(song)
    assert max(np.abs(pieces[name].samples - stems[name].samples).max() for name in stems) > 1e-4
    np.testing.assert_allclose(sum(clip.samples for clip in pieces.values()), song.samples, atol=1e-4)


def test_a_changed_chunk_length_is_not_served_from_the_cache_of_the_same_version(model, song, tmp_path):
    first = CachedSeparator(open_masknet(model, backend="onnx"), root=tmp_path / "cache")
    first.separate(song)
    with_config(model, chunk_seconds=4)
    changed = CachedSeparator(open_masknet(model, backend="onnx"), root=tmp_path / "cache")
    assert changed.version == first.version
    changed.separate(song)
    assert changed.hits == 0
