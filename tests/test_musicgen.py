"""MusicGen end to end on tiny random checkpoints saved in the Hugging Face layout and loaded offline."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.io import save_audio
from musicsim_gui.core.errors import CancelledError, ModelError
from musicsim_gui.generation.base import GenerationRequest
from musicsim_gui.generation.musicgen.debug import build_debug_model
from musicsim_gui.generation.musicgen.generator import MusicGenGenerator
from musicsim_gui.generation.musicgen.loading import load_musicgen

RATE = 8000  # the debug codec's rate; 200 codec frames per second


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest single-threaded (and the test machine is shared)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, one_thread):
    root = tmp_path_factory.mktemp("musicgen")
    return {"plain": build_debug_model(root / "musicgen-debug"),
            "melody": build_debug_model(root / "musicgen-melody-debug", melody=True)}


@pytest.fixture(scope="module")
def generators(checkpoints):
    return {kind: MusicGenGenerator(folder, device="cpu") for kind, folder in checkpoints.items()}


@pytest.fixture
def reference():
    t = np.arange(RATE) / RATE
    return AudioClip((0.5 * np.sin(2 * np.pi * 220.0 * t))[None].astype(np.float32), RATE, source="ref.wav")


def _request(reference, instruments=("piano",), seeds=(7,), takes=1, **params):
    base = {"seconds": 0.1, "prompt_seconds": 0.03, "mode": "text+audio", "tempo_bpm": 90.0}
    return GenerationRequest(reference, instruments, seeds, takes, {**base, **params})


@pytest.mark.parametrize("kind", ["plain", "melody"])
def test_takes_have_the_length_seeds_and_params_asked_for(generators, reference, kind):
    takes = generators[kind].generate(_request(reference, ("bass", "piano"), (3,), 2))
    assert [(t.instrument, t.seed) for t in takes] == [("bass", 3), ("bass", 4), ("piano", 3), ("piano", 4)]
    for take in takes:
        assert take.clip.sample_rate == RATE and take.clip.frames == int(0.1 * RATE)
        assert np.isfinite(take.clip.samples).all()
        assert take.model_id.startswith("musicgen:") and take.model_version.startswith("musicgen")
        assert take.params["prompt"] == f"lofi hip hop {take.instrument}, 90 bpm"
        json.dumps(take.params)
    assert not np.array_equal(takes[0].clip.samples, takes[1].clip.samples)


@pytest.mark.parametrize("kind", ["plain", "melody"])
def test_seeds_reproduce_in_both_modes(generators, reference, kind):
    for mode in ("audio", "text+audio"):
        first = generators[kind].generate(_request(reference, seeds=(11,), takes=2, mode=mode))
        again = generators[kind].generate(_request(reference, seeds=(11,), takes=2, mode=mode))
        for a, b in zip(first, again, strict=True):
            np.testing.assert_array_equal(a.clip.samples, b.clip.samples)
    alone = generators[kind].generate(_request(reference, seeds=(12,), takes=1))
    batched = generators[kind].generate(_request(reference, seeds=(11,), takes=2))
    np.testing.assert_allclose(alone[0].clip.samples, batched[1].clip.samples, atol=1e-5)


def test_long_takes_are_windowed_without_a_gap(generators, reference):
    events = []
    params = {"seconds": 0.5, "window_seconds": 0.2, "overlap_seconds": 0.08, "crossfade_seconds": 0.01}
    take = generators["plain"].generate(_request(reference, **params), lambda f, m: events.append((f, m)))[0]
    assert take.clip.frames == int(0.5 * RATE)
    blocks = take.clip.samples[0].reshape(-1, 40)  # one codec frame per block
    assert (np.abs(blocks - blocks.mean(axis=1, keepdims=True)).max(axis=1) > 1e-6).all(), "a frame is flat"
    steps = [f for f, _ in events if f > 0]
    assert steps == sorted(steps) and steps[-1] == 1.0
    windows = 4  # 100 frames in windows of 40: 40 + 24 + 24 + 12 new frames (prompt 6, overlap 16)
    assert len(steps) == 100 - 6 + windows * 1  # new frames plus the codebook delay per window
    assert "left" in events[-1][1]


def test_stem_files_condition_their_instrument(generators, reference, tmp_path):
    stem = tmp_path / "bass.wav"
    save_audio(stem, AudioClip(np.zeros((1, RATE), np.float32) + 0.1, RATE), bit_depth=24)
    params = {"mode": "audio", "stem_paths": {"bass": str(stem)}, "temperature": 0.0}
    bass, piano = generators["melody"].generate(_request(reference, ("bass", "piano"), (5,), **params))
    assert bass.params["stem_paths"] == {"bass": str(stem)} and piano.params["stem_paths"] == {}
    assert not np.allclose(bass.clip.samples, piano.clip.samples)


def test_cancel_takes_effect_within_one_step(generators, reference):
    events = []
    with pytest.raises(CancelledError):
        generators["plain"].generate(_request(reference, seconds=0.2), lambda f, m: events.append(f),
                                     cancel=lambda: sum(f > 0 for f in events) >= 3)
    assert sum(f > 0 for f in events) == 3


def test_broken_model_folders_give_clear_errors(checkpoints, tmp_path):
    with pytest.raises(ModelError, match="no config.json"):
        MusicGenGenerator(tmp_path)
    broken = tmp_path / "truncated"
    shutil.copytree(checkpoints["plain"], broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelError, match="truncated.*cannot load"):
        load_musicgen(broken, device="cpu")
    (broken / "model.safetensors").unlink()
    with pytest.raises(ModelError, match="no weights"):
        load_musicgen(broken, device="cpu")
    config = json.loads((broken / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "model_type": "bert"}))
    with pytest.raises(ModelError, match="'bert' is not musicgen"):
        MusicGenGenerator(broken)
    with pytest.raises(ModelError, match="not in the local Hugging Face cache"):
        MusicGenGenerator("facebook/no-such-musicgen")


def test_the_registry_finds_musicgen_by_prefix(checkpoints):
    from musicsim_gui.generation.base import get_generator

    generator = get_generator(f"musicgen:{checkpoints['melody']}", backend="auto")
    assert generator.id == "musicgen:musicgen-melody-debug"
    with pytest.raises(ModelError, match="torch backend only"):
        get_generator(f"musicgen:{checkpoints['plain']}", backend="onnx")
