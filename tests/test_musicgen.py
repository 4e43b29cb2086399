"""MusicGen end to end on tiny random checkpoints saved in the Hugging Face layout and loaded offline.

The CLI tests (`musicsim generate --model musicgen`, `musicsim models import|list|remove|pull`) run the command
as a user does; the checkpoint is also placed in a Hugging Face cache layout so the same offline cache lookup a
real `facebook/musicgen-small` download uses is exercised.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from musicgen_support import DEBUG_RATE as RATE
from musicgen_support import one_thread  # noqa: F401 (autouse fixture)

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.io import save_audio
from musicsim_gui.core.errors import CancelledError, ModelError
from musicsim_gui.generation.base import GenerationRequest
from musicsim_gui.generation.musicgen.debug import build_debug_model
from musicsim_gui.generation.musicgen.generator import MusicGenGenerator
from musicsim_gui.generation.musicgen.loading import load_musicgen


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
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


def test_stereo_checkpoints_make_stereo_takes(tmp_path, reference):
    generator = MusicGenGenerator(build_debug_model(tmp_path / "stereo", stereo=True), device="cpu")
    take = generator.generate(_request(reference, seconds=0.2, window_seconds=0.12, overlap_seconds=0.04))[0]
    assert take.clip.samples.shape == (2, int(0.2 * RATE)) and np.isfinite(take.clip.samples).all()
    assert not np.array_equal(take.clip.samples[0], take.clip.samples[1])


def test_stem_files_condition_their_instrument(generators, reference, tmp_path):
    stem = tmp_path / "bass.wav"
    save_audio(stem, AudioClip(np.zeros((1, RATE), np.float32) + 0.1, RATE), bit_depth=24)
    params = {"mode": "audio", "stem_paths": {"bass": str(stem)}, "temperature": 0.0}
    bass, piano = generators["melody"].generate(_request(reference, ("bass", "piano"), (5,), **params))
    assert bass.params["stem_paths"] == {"bass": str(stem)} and piano.params["stem_paths"] == {}
    assert not np.allclose(bass.clip.samples, piano.clip.samples)


def test_the_onnx_decoder_path_reproduces_the_torch_path(checkpoints, reference):
    onnx = MusicGenGenerator(checkpoints["plain"], device="cpu", backend="onnx")
    torch_path = MusicGenGenerator(checkpoints["plain"], device="cpu", backend="torch")
    windowed = {"seconds": 0.3, "window_seconds": 0.15, "overlap_seconds": 0.05, "crossfade_seconds": 0.01}
    for params in ({}, {"mode": "audio"}, windowed):
        request = _request(reference, ("bass", "piano"), (3,), 2, **params)
        for a, b in zip(torch_path.generate(request), onnx.generate(request), strict=True):
            np.testing.assert_allclose(a.clip.samples, b.clip.samples, atol=1e-5)
    with pytest.raises(ModelError, match="ONNX backend supports MusicGen, not musicgen_melody"):
        MusicGenGenerator(checkpoints["melody"], backend="onnx")


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
    assert get_generator(f"musicgen:{checkpoints['plain']}", backend="onnx").backend == "onnx"


def test_a_generate_job_runs_musicgen_with_stems_and_reports_progress(checkpoints, reference, tmp_path):
    from musicsim_gui.jobs.events import Done, Progress
    from musicsim_gui.jobs.kinds import Generate
    from musicsim_gui.jobs.runners import SyncRunner

    song, stem = tmp_path / "song.wav", tmp_path / "piano.wav"
    save_audio(song, reference)
    save_audio(stem, AudioClip(reference.samples[:, ::-1].copy(), RATE))
    params = (("seconds", 0.1), ("prompt_seconds", 0.03), ("mode", "text+audio"), ("stem_paths", (("piano", str(stem)),)))
    spec = Generate(reference=str(song), out_dir=str(tmp_path / "takes"), model=f"musicgen:{checkpoints['plain']}",
                    instruments=("piano",), seeds=(1,), takes=2, params=params)
    events = SyncRunner().submit(spec).poll()
    done = [e for e in events if isinstance(e, Done)]
    assert len(done) == 1 and [t.seed for t in done[0].result] == [1, 2]
    assert all(Path(t.path).is_file() and t.params["stem_paths"] == {"piano": str(stem)} for t in done[0].result)
    assert any("step" in e.message for e in events if isinstance(e, Progress))


def test_installed_models_are_generators_by_name(checkpoints, tmp_path, monkeypatch):
    from musicsim_gui.generation.base import available_generators, get_generator
    from musicsim_gui.runtime.hf_models import import_hf_model
    from musicsim_gui.runtime.manifest import load_manifest

    monkeypatch.setenv("MUSICSIM_DATA_DIR", str(tmp_path / "data"))
    folder = import_hf_model(checkpoints["melody"], name="mg-melody-installed")
    manifest = load_manifest(folder)  # verifies every file's sha256
    assert manifest.license == "CC-BY-NC-4.0" and manifest.family == "musicgen"
    assert "mg-melody-installed" in available_generators()
    generator = get_generator("mg-melody-installed")
    assert generator.folder == folder and generator.version == manifest.version


REVISION = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory, checkpoints):
    """The plain debug checkpoint in a Hugging Face cache layout (`models--owner--name/snapshots/<rev>`)."""
    root = tmp_path_factory.mktemp("hub")
    repo = root / "models--local--musicgen-debug"
    shutil.copytree(checkpoints["plain"], repo / "snapshots" / REVISION)
    (repo / "snapshots" / REVISION / "README.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n# debug\n")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(REVISION)
    return root


def _musicsim(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "musicsim_gui", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1", **env})


def test_cli_generates_text_and_audio_takes_from_the_hub_cache(hub_cache, tmp_path):
    reference = tmp_path / "song.wav"
    t = np.arange(16000) / 16000
    save_audio(reference, AudioClip((0.4 * np.sin(2 * np.pi * 330 * t))[None].astype(np.float32), 16000))
    out = tmp_path / "takes"
    result = _musicsim("generate", str(reference), "-o", str(out), "--model", "musicgen", "--model-path",
                       "local/musicgen-debug", "--mode", "text+audio", "--prompt", "dusty {instrument}, {tempo} bpm",
                       "--tempo", "84", "--instruments", "piano", "--takes", "2", "--seed", "5", "--seconds", "0.1",
                       "--prompt-seconds", "0.03", "--top-k", "20", "--progress",
                       env={"HF_HUB_CACHE": str(hub_cache), "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert "100.0%" in result.stderr and "left" in result.stderr
    summary = json.loads((out / "takes.json").read_text())
    assert summary["model"] == "musicgen:local/musicgen-debug"
    assert [(t["file"], t["params"]["prompt"], t["params"]["top_k"]) for t in summary["takes"]] == [
        ("piano_take1_seed5.flac", "dusty piano, 84 bpm", 20), ("piano_take2_seed6.flac", "dusty piano, 84 bpm", 20)]
    assert summary["takes"][0]["duration_s"] == 0.1 and (out / "piano_take2_seed6.flac").is_file()


def test_cli_models_import_list_remove_and_broken_folders(hub_cache, tmp_path):
    env = {"HF_HUB_CACHE": str(hub_cache), "HF_HUB_OFFLINE": "1", "MUSICSIM_DATA_DIR": str(tmp_path / "data")}
    imported = _musicsim("models", "import", "local/musicgen-debug", "--name", "mg-debug", env=env)
    assert imported.returncode == 0, imported.stderr
    assert "license: CC-BY-NC-4.0" in imported.stdout
    folder = tmp_path / "data" / "models" / "mg-debug"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["family"] == "musicgen" and manifest["task"] == "generation" and manifest["sample_rate"] == 8000
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(manifest["files"])
    listed = _musicsim("models", "list", "--task", "generation", env=env)
    assert "mg-debug" in listed.stdout and "CC-BY-NC-4.0" in listed.stdout
    again = _musicsim("models", "import", str(folder), "--name", "mg-debug", env=env)
    assert again.returncode == 2 and "already installed" in again.stderr
    removed = _musicsim("models", "remove", "mg-debug", env=env)
    assert removed.returncode == 0 and not folder.exists()
    broken = tmp_path / "broken"
    shutil.copytree(hub_cache / "models--local--musicgen-debug" / "snapshots" / REVISION, broken)
    (broken / "config.json").unlink()
    failed = _musicsim("models", "import", str(broken), env=env)
    assert failed.returncode == 2 and "no config.json" in failed.stderr and len(failed.stderr.splitlines()) == 1


def test_cli_pull_says_plainly_when_offline(tmp_path):
    env = {"MUSICSIM_DATA_DIR": str(tmp_path / "data"), "HF_HUB_CACHE": str(tmp_path / "hub")}
    switched_off = _musicsim("models", "pull", "facebook/musicgen-small", env={**env, "HF_HUB_OFFLINE": "1"})
    assert switched_off.returncode == 2 and "HF_HUB_OFFLINE" in switched_off.stderr
    unreachable = _musicsim("models", "pull", "facebook/musicgen-small",
                            env={**env, "HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert unreachable.returncode == 2 and "no connection" in unreachable.stderr, unreachable.stderr
