"""Fine-tuning ViT+WaveGAN heads from ratings: a simulated rater's taste moves the new model's takes; CLI lineage."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.ratings import RatingStore, TakeRecord
from musicsim_gui.generation.vit_wavegan.loading import load_folder
from musicsim_gui.runtime.manifest import load_manifest
from musicsim_gui.runtime.paths import bundled_models_dir
from musicsim_gui.training.vit_wavegan.finetune import FinetuneSettings, RatedExample

PARENT = bundled_models_dir() / "vit-wavegan-lofi"
RATE = 22050

pytestmark = pytest.mark.skipif(not (PARENT / "heads.onnx").is_file(), reason="bundled model missing")


def reference_clip() -> AudioClip:
    t = np.arange(6 * RATE) / RATE
    y = 0.3 * np.sin(2 * np.pi * 55 * t) * (np.sin(2 * np.pi * 2 * t) > 0) + 0.1 * np.sin(2 * np.pi * 440 * t)
    return AudioClip(y[None].astype(np.float32), RATE)


def low_share(window: np.ndarray, rate: int = 12000) -> float:
    """The simulated rater's taste: the share of energy below 150 Hz."""
    power = np.abs(np.fft.rfft(window)) ** 2
    return float(power[np.fft.rfftfreq(window.size, 1 / rate) < 150].sum() / power.sum())


def simulated_stars(shares: np.ndarray) -> np.ndarray:
    return 1 + np.digitize(shares, np.quantile(shares, [0.2, 0.4, 0.6, 0.8]))


def test_finetuned_takes_move_the_way_the_simulated_rater_prefers(tmp_path):
    """A rater preferring low end, and the control with inverted stars, move the new takes in opposite ways."""
    import torch

    from musicsim_gui.generation.vit_wavegan.generator import latent
    from musicsim_gui.training.vit_wavegan.finetune import finetune_heads, heads_from_onnx

    reference = reference_clip()
    parent = load_folder(PARENT)
    conditioning = parent.condition(reference)
    head = parent.config.instruments.index("bass")
    seeds = tuple(range(16))
    shares = np.array([low_share(w) for w in parent.windows(conditioning, seeds)[:, head]])
    stars = simulated_stars(shares)
    unseen = tuple(range(1000, 1024))
    old = np.array([low_share(w) for w in parent.windows(conditioning, unseen)[:, head]])
    z = torch.from_numpy(np.stack([np.stack([latent(s, k, parent.config.head.latent) for k in range(4)])
                                   for s in unseen]))
    embedding = torch.from_numpy(np.repeat(conditioning.embedding[None], len(unseen), axis=0))
    tempo = torch.full((len(unseen), 1), conditioning.tempo_bpm * parent.window_seconds / 120.0)
    moved = {}
    for label, given in (("rater", stars), ("inverted", 6 - stars)):
        examples = [RatedExample(reference, "bass", s, int(n)) for s, n in zip(seeds, given, strict=True)]
        heads = heads_from_onnx(PARENT, parent.config)
        figures = finetune_heads(parent, heads, examples, FinetuneSettings(steps=20))
        assert figures["last_loss"] < figures["first_loss"]
        with torch.no_grad():
            moved[label] = np.array([low_share(w) for w in heads(embedding, tempo, z)[:, head].numpy()])
    print(f"low-end share on {len(unseen)} unseen seeds: parent {old.mean():.4f}, fine-tuned on the rater's stars "
          f"{moved['rater'].mean():.4f}, on inverted stars {moved['inverted'].mean():.4f}; rater above inverted "
          f"for {100 * np.mean(moved['rater'] > moved['inverted']):.0f}% of seeds")
    assert moved["rater"].mean() > old.mean() > moved["inverted"].mean()
    assert np.mean(moved["rater"] > moved["inverted"]) >= 0.8


def _musicsim(*args: str, data_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "MUSICSIM_DATA_DIR": str(data_dir)}
    env.pop("MUSICSIM_MODELS_DIR", None)
    return subprocess.run([sys.executable, "-m", "musicsim_gui", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_cli_finetunes_from_the_ratings_database_into_a_new_version(tmp_path):
    from musicsim_gui.audio.project_render import new_project

    song = tmp_path / "song.wav"
    sf.write(song, reference_clip().samples[0], RATE)
    project = new_project(song, tmp_path / "project")
    parent = load_folder(PARENT)
    with RatingStore(tmp_path / "data" / "ratings.sqlite") as store:
        for seed, stars in ((0, 5), (1, 1), (2, 4), (3, 2)):
            store.record_take(TakeRecord(f"t{seed}", str(project.folder), "bass", parent.id, parent.version, seed,
                                         {"chunk": 0}, "", ""))
            store.rate(f"t{seed}", stars)
    result = _musicsim("finetune", "vit-wavegan", "--from-ratings", "--steps", "2", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    v = parent.version
    assert f"vit-wavegan-lofi-ft1 {v}+ft1 (from vit-wavegan-lofi {v}, 4 ratings)" in result.stdout
    folder = tmp_path / "data" / "models" / "vit-wavegan-lofi-ft1"
    lineage = load_manifest(folder, verify=True).config["training"]["lineage"]
    assert (lineage["parent"], lineage["parent_version"], lineage["targets"]) == ("vit-wavegan-lofi", v, 2)
    assert lineage["parent_heads_sha256"] == load_manifest(PARENT, verify=True).files["heads.onnx"]
    result = _musicsim("generate", str(song), "-o", str(tmp_path / "out"), "--model", "vit-wavegan-lofi-ft1",
                       "--instruments", "bass", "--seconds", "1", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr
    takes = json.loads((tmp_path / "out" / "takes.json").read_text())["takes"]
    assert takes[0]["model_id"] == "vit-wavegan-lofi-ft1" and takes[0]["model_version"] == f"{v}+ft1"
    from musicsim_gui.jobs import SyncRunner
    from musicsim_gui.jobs.finetune import FinetuneFromRatings

    spec = FinetuneFromRatings("vit-wavegan-lofi", str(tmp_path / "data" / "ratings.sqlite"),
                               str(tmp_path / "data" / "models"), steps=2)
    handle = SyncRunner().submit(spec)
    handle.poll()
    assert handle.result == str(tmp_path / "data" / "models" / "vit-wavegan-lofi-ft2"), handle.error
    assert load_manifest(folder, verify=True).version == f"{v}+ft1"  # earlier versions stay
    result = _musicsim("finetune", "vit-wavegan", "--from-ratings", data_dir=tmp_path / "empty")
    assert result.returncode == 2 and "no ratings database" in result.stderr


def test_a_rated_phrase_take_counts_every_variation_it_plays():
    import torch

    from musicsim_gui.generation.vit_wavegan.loading import debug_generator
    from musicsim_gui.training.vit_wavegan.finetune import _conditions, _log_spectrum

    generator = debug_generator()
    reference = reference_clip()
    params = {"tempo_bpm": 540.0}  # the debug window holds 2 beats and a crossfade: AB AB AB CD
    phrase = RatedExample(reference, "piano", 5, 4, {**params, "arrangement": "phrase"})
    older = RatedExample(reference, "piano", 5, 2, params)  # recorded before arrangements: one loop
    _, spectra = _conditions(generator, [phrase, older])
    conditioning = generator.condition(reference, None, 540.0)
    windows = generator.variation_windows(conditioning, (5,), 4)[0, :, generator.config.instruments.index("piano")]
    with torch.no_grad():
        each = _log_spectrum(torch.from_numpy(np.ascontiguousarray(windows))).numpy()
    np.testing.assert_allclose(spectra[0], np.array([3, 3, 1, 1]) / 8 @ each, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(spectra[1], each[0], rtol=1e-5, atol=1e-5)
