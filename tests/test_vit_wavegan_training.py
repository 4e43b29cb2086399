"""ViT+WaveGAN training pipeline on a tiny corpus made here: pairing, losses, resume, export, evaluation, CLI."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
import torch

from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.evaluation import generation as metrics
from musicsim_gui.generation.vit_wavegan.config import get_config
from musicsim_gui.training.vit_wavegan import dataset, losses
from musicsim_gui.training.vit_wavegan.train import TrainSettings, train

RATE = 22050


def make_song(folder, tempo: float, level: float, seconds: float = 8.0) -> None:
    """A song whose stems are constant `level` × (1, 2, 3, 4) plus a click on each beat in the mix."""
    folder.mkdir(parents=True)
    frames = int(seconds * RATE)
    beat_times = list(np.arange(0.0, seconds, 60.0 / tempo))
    stems = {name: np.full(frames, level * (i + 1), np.float32) for i, name in enumerate(INSTRUMENTS)}
    mix = sum(stems.values()) * 0.25
    for t in beat_times:
        mix[int(t * RATE): int(t * RATE) + 200] += 0.3
    for name, audio in [("mix", mix), *stems.items()]:
        sf.write(folder / f"{name}.flac", np.stack([audio, audio], 1), RATE)
    (folder / "meta.json").write_text(json.dumps({"tempo_bpm": tempo, "beat_times": beat_times}))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    for split, specs in {"train": [(90.0, 0.05), (120.0, 0.1)], "valid": [(100.0, 0.07)],
                         "test": [(80.0, 0.04), (110.0, 0.08)]}.items():
        for index, (tempo, level) in enumerate(specs):
            make_song(root / split / f"song_{split}_{index}", tempo, level)
    return root


def test_pairings_choose_same_song_or_another(corpus, tmp_path):
    feats = get_config("debug").features
    songs = dataset.prepare_split(corpus, "train", feats, tmp_path)
    assert [s.tempo_bpm for s in songs] == [90.0, 120.0] and songs[0].mels.shape == (1, 1, 32, 64)
    levels = {90.0: 0.05, 120.0: 0.1}
    for pairing, same in (("same-song", True), ("paper", False)):
        batch = dataset.sample_batch(songs, 16, 1024, feats, pairing, np.random.default_rng(0))
        for tempo, target in zip(batch["tempo"], batch["target"], strict=True):
            own = levels[float(tempo)]
            expected = own if same else next(v for k, v in levels.items() if k != float(tempo))
            np.testing.assert_allclose(target[:, 10], expected * np.arange(1, 5), rtol=2e-2)
    assert dataset.prepare_split(corpus, "train", feats, tmp_path)[1].stems.shape == songs[1].stems.shape  # cached


def test_songs_prepared_in_worker_processes_equal_those_prepared_in_one(corpus, tmp_path):
    feats = get_config("debug").features
    alone = dataset.prepare_split(corpus, "train", feats, tmp_path / "one")
    parallel = dataset.prepare_split(corpus, "train", feats, tmp_path / "two", workers=2)
    assert [s.name for s in parallel] == [s.name for s in alone]
    for a, b in zip(alone, parallel, strict=True):
        np.testing.assert_array_equal(a.mels, b.mels)
        np.testing.assert_array_equal(a.stems, b.stems)
        np.testing.assert_array_equal(a.beats, b.beats)
    broken = tmp_path / "broken"
    shutil.copytree(corpus, broken)
    (broken / "train" / "song_train_1" / "bass.flac").write_bytes(b"not audio")
    with pytest.raises(MusicSimError, match="bass.flac"):
        dataset.prepare_split(broken, "train", feats, tmp_path / "three", workers=2)


def test_stft_loss_is_zero_for_identical_audio_and_grows_with_difference():
    real = torch.randn(2, 4, 4096) * 0.1
    assert float(losses.stft_loss(real, real)) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.stft_loss(real * 0.5, real)) < float(losses.stft_loss(torch.zeros_like(real), real))


def test_sliced_distance_ignores_frame_order_but_not_content():
    torch.manual_seed(0)
    frames = torch.randn(3, 40, 25)
    shuffled = frames[:, :, torch.randperm(25)]
    assert float(losses.sliced_wasserstein(shuffled, frames)) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.sliced_wasserstein(frames + 0.5, frames)) > 0.4


def test_sliced_objective_lets_a_phrase_come_in_another_order_but_not_as_noise():
    t = torch.arange(6144) / 12000.0
    phrase = torch.cat([0.3 * torch.sin(2 * torch.pi * f * t) * torch.exp(-3 * t) for f in (220, 330, 440, 550)])
    real = phrase.reshape(1, 1, -1).repeat(2, 4, 1)
    reordered = torch.roll(real, 2 * 6144, dims=-1)  # the same four notes, the last two first
    noise = torch.randn_like(real) * real.std()
    assert float(losses.sliced_loss(real, real)) == pytest.approx(0.0, abs=1e-5)
    sliced = float(losses.sliced_loss(reordered, real)) / float(losses.sliced_loss(noise, real))
    aligned = float(losses.stft_loss(reordered, real)) / float(losses.stft_loss(noise, real))
    assert sliced < 0.1 and aligned > 2 * sliced


@pytest.mark.parametrize("objective", ["stft", "sliced"])
def test_both_objectives_train_and_log_both_validation_losses(corpus, tmp_path, objective):
    run = tmp_path / "run"
    settings = TrainSettings(config="debug", steps=2, batch=2, checkpoint_every=2, sample_every=2, objective=objective,
                             log_every=1)
    result = train(corpus, run, settings, log=lambda m: None, progress_bar=False)
    assert np.isfinite(result["valid_stft"]) and np.isfinite(result["valid_sliced"])
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert {"stft", "sliced", "valid_stft", "valid_sliced"} <= set(header)
    assert rows[0][objective] and not rows[0]["stft" if objective == "sliced" else "sliced"]


def test_train_resume_export_generate_and_evaluate(corpus, tmp_path):
    run = tmp_path / "run"
    settings = TrainSettings(config="debug", steps=4, batch=2, checkpoint_every=2, sample_every=4, adv_start=1,
                             log_every=1)
    result = train(corpus, run, settings, log=lambda m: None, progress_bar=False)
    assert result["step"] == 4 and (run / "checkpoint.safetensors").is_file() and (run / "losses.png").is_file()
    assert sorted(p.name for p in (run / "samples").iterdir())[0] == "step_000004_bass.wav"
    logged = (run / "metrics.csv").read_text().splitlines()
    assert logged[0].startswith("step,seconds,stft,sliced") and len(logged) == 1 + 4 + 2
    messages = []
    result = train(corpus, run, TrainSettings(**{**settings.__dict__, "steps": 6}), log=messages.append,
                   progress_bar=False)
    assert result["step"] == 6 and any("resumed" in m and "step 4" in m for m in messages)
    model_dir = tmp_path / "models" / "vit-wavegan-tiny"
    exported = subprocess.run([sys.executable, "-m", "musicsim_gui", "export", "onnx", str(run), "-o", str(model_dir),
                               "--bandwidth-corpus", str(corpus)], capture_output=True, text=True, timeout=120)
    assert exported.returncode == 0, exported.stderr
    manifest = json.loads((model_dir / "manifest.json").read_text())
    extension = manifest["config"]["bandwidth_extension"]
    assert extension["edges_hz"] == [8000.0, 11000.0, 11025.0] and set(extension["ratios_db"]) == set(INSTRUMENTS)
    assert "Bandwidth extension: the band above 8 kHz" in (model_dir / "MODEL_CARD.md").read_text()
    assert manifest["metrics"]["onnx_parity_max_abs"] <= 1e-3 and manifest["config"]["training"]["steps"] == 6
    assert "MODEL_CARD.md" in manifest["files"] and "6 steps" in (model_dir / "MODEL_CARD.md").read_text()
    evaluated = subprocess.run([sys.executable, "-m", "musicsim_gui", "eval", "generation", "--data", str(corpus),
                                "--model", str(model_dir), "--seconds", "3", "--offset", "0", "-o", str(tmp_path / "eval.json")],
                               capture_output=True, text=True, timeout=120)
    assert evaluated.returncode == 0, evaluated.stderr
    table = json.loads((tmp_path / "eval.json").read_text())
    assert set(table["fad"]) == {"shuffled real", "white noise", "pink noise", "vit-wavegan-tiny"}
    assert table["fad"]["white noise"]["mean"] > 0 and "vit-wavegan-tiny" in evaluated.stdout
    assert 0.0 <= table["match"]["vit-wavegan-tiny"]["mean"] <= 1.0 and "match rate" in evaluated.stdout


def test_match_rate_counts_own_song_nearest():
    from musicsim_gui.training.vit_wavegan.evaluate import _match_rate

    real = np.repeat(np.eye(3) * 5.0, 4, axis=0)  # 3 songs × 4 segments, well separated
    assert _match_rate(real, real + 0.1, 3) == 1.0
    assert _match_rate(real, np.roll(real, 4, axis=0), 3) == 0.0


def test_post_filter_matches_spectra_and_exports(corpus, tmp_path):
    from musicsim_gui.generation.vit_wavegan.export import export_folder, parity
    from musicsim_gui.generation.vit_wavegan.model import build_model
    from musicsim_gui.training.vit_wavegan import postfilter

    model = build_model("debug")
    songs = dataset.prepare_split(corpus, "train", model.config.features, tmp_path / "prepared")
    filtered = postfilter.fit_post_filter(model, songs, taps=63)
    assert filtered.config.head.post_filter == 63 and model.config.head.post_filter == 0
    before = postfilter.average_spectra(model, songs, 64, batches=2, seed=5)
    after = postfilter.average_spectra(filtered, songs, 64, batches=2, seed=5)

    def log_error(real, fake):
        return float(np.mean(np.abs(np.log10(real + 1e-10) - np.log10(fake + 1e-10))))

    assert log_error(*after) < 0.5 * log_error(*before)
    folder = tmp_path / "filtered"
    export_folder(filtered, folder, "filtered", "1")
    assert parity(filtered, folder) <= 1e-3


def test_train_cli_reports_missing_corpus(tmp_path):
    result = subprocess.run([sys.executable, "-m", "musicsim_gui", "train", "vit-wavegan", "--data",
                             str(tmp_path / "nowhere"), "--config", "debug", "--out", str(tmp_path / "run"),
                             "--steps", "1", "--quiet"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "no corpus songs" in result.stderr


def test_embedding_separates_noise_from_tones():
    rng = np.random.default_rng(0)
    t = np.arange(4 * metrics.RATE) / metrics.RATE
    tone = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    assert metrics.embed(tone).shape == (4, 115)
    noise_a, noise_b = metrics.embed(metrics.white_noise(t.size, rng)), metrics.embed(metrics.white_noise(t.size, rng))
    tones = metrics.embed(tone)
    assert np.linalg.norm(noise_a.mean(0) - noise_b.mean(0)) < 0.2 * np.linalg.norm(noise_a.mean(0) - tones.mean(0))
    pink = metrics.pink_noise(t.size, rng)
    assert np.sqrt(np.mean(pink**2)) == pytest.approx(0.1, rel=1e-3)
    assert metrics.paper_mse(tone, tone) == 0.0


def test_weights_recovered_from_onnx_only_folder_and_a_new_run_starts_from_them(corpus, tmp_path):
    """An ONNX-only export (post-filter included) gives back the exact torch weights; training continues from them."""
    import onnx

    from musicsim_gui.core.errors import ModelError, MusicSimError
    from musicsim_gui.generation.vit_wavegan.export import export_folder
    from musicsim_gui.generation.vit_wavegan.model import build_model
    from musicsim_gui.training.vit_wavegan import postfilter
    from musicsim_gui.training.vit_wavegan.onnx_weights import encoder_from_onnx, model_from_folder

    model = build_model("debug", seed=3)
    songs = dataset.prepare_split(corpus, "train", model.config.features, tmp_path / "prepared")
    folder = tmp_path / "exported"
    export_folder(postfilter.fit_post_filter(model, songs, taps=63), folder, "exported", "1", weights=False)
    assert not (folder / "weights.safetensors").exists()
    recovered = model_from_folder(folder)
    assert recovered.config == model.config  # the post-filter is dropped for training
    for name, value in model.state_dict().items():
        assert torch.equal(recovered.state_dict()[name], value), name

    run = tmp_path / "run"
    messages = []
    result = train(corpus, run, TrainSettings(config="debug", steps=2, batch=2, checkpoint_every=2, sample_every=2,
                                              init_from=str(folder)), log=messages.append, progress_bar=False)
    assert result["step"] == 2 and not any("resumed" in m for m in messages)
    from musicsim_gui.training.vit_wavegan.export_run import export_run

    export_folder(model, folder, "exported", "2", weights=False)  # the parent folder moves on to a newer version
    child = export_run(run, tmp_path / "child", "child", "1.1", weights=False)
    assert child.config["training"]["parent"] == "exported 1"  # the version the run started from, not the folder's
    assert child.config["training"]["steps"] == 2  # the steps trained, not the step budget asked for
    assert "those of exported 1 (0 steps" in (tmp_path / "child" / "MODEL_CARD.md").read_text()
    with pytest.raises(MusicSimError, match="not the 'small' config"):
        train(corpus, tmp_path / "other", TrainSettings(config="small", steps=1, init_from=str(folder)),
              log=lambda m: None, progress_bar=False)

    graph = onnx.load(str(folder / "encoder.onnx"))
    lost = next(item for item in graph.graph.initializer if item.name == "blocks.0.attn.qkv.bias")
    graph.graph.initializer.remove(lost)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    onnx.save(graph, str(damaged / "encoder.onnx"))
    with pytest.raises(ModelError, match="cannot recover the torch weights"):
        encoder_from_onnx(damaged, model.config)


def test_diversity_term_rewards_takes_that_differ_in_sound_not_in_phase():
    torch.manual_seed(0)
    t = torch.arange(8192) / 12000.0
    tone = torch.sin(2 * torch.pi * 330 * t).reshape(1, 1, -1).repeat(2, 4, 1) * 0.3
    shifted = torch.sin(2 * torch.pi * 330 * t + 1.0).reshape(1, 1, -1).repeat(2, 4, 1) * 0.3
    other_note = torch.sin(2 * torch.pi * 495 * t).reshape(1, 1, -1).repeat(2, 4, 1) * 0.3
    z, other_z = torch.randn(2, 4, 8), torch.randn(2, 4, 8)
    assert float(losses.seed_spread(tone, tone).max()) == 0.0
    # the same note with another phase differs far less than another note does
    assert float(losses.seed_spread(tone, shifted).max()) < float(losses.seed_spread(tone, other_note).min()) / 3
    same = float(losses.diversity_loss(tone, shifted, z, other_z))
    different = float(losses.diversity_loss(tone, other_note, z, other_z))
    assert different < same / 2


def test_diversity_weight_makes_seeds_matter_and_is_logged(corpus, tmp_path):
    spreads = {}
    for weight in (0.0, 1.0):
        run = tmp_path / f"run{weight}"
        settings = TrainSettings(config="debug", steps=30, batch=2, checkpoint_every=30, sample_every=30,
                                 objective="sliced", log_every=1, diversity_weight=weight, adv_weight=0.0)
        result = train(corpus, run, settings, log=lambda m: None, progress_bar=False)
        spreads[weight] = result["valid_seed_spread"]
        rows = list(csv.DictReader((run / "metrics.csv").open()))
        assert bool(rows[0]["diversity"]) == (weight > 0) and rows[-1]["valid_seed_spread"]
    assert spreads[1.0] > 1.5 * spreads[0.0]
    from musicsim_gui.training.vit_wavegan.export_run import export_run

    export_run(tmp_path / "run1.0", tmp_path / "model", "vit-wavegan-varied", "1.0", weights=False)
    assert "mode-seeking term (weight 1.0)" in (tmp_path / "model" / "MODEL_CARD.md").read_text()


def test_bfloat16_training_and_device_choice_are_checked_before_anything_is_written(corpus, tmp_path):
    import torch

    from musicsim_gui.core.errors import MusicSimError

    settings = TrainSettings(config="debug", steps=3, batch=2, checkpoint_every=3, sample_every=3, log_every=1,
                             adv_start=0, critic_every=1, diversity_weight=0.1, precision="bf16", device="auto")
    result = train(corpus, tmp_path / "run", settings, log=lambda m: None, progress_bar=False)
    assert result["step"] == 3 and np.isfinite(result["valid_stft"])
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    assert all(np.isfinite(float(row["stft"])) for row in rows if row.get("stft"))
    assert json.loads((tmp_path / "run" / "settings.json").read_text())["precision"] == "bf16"
    with pytest.raises(MusicSimError, match="unknown training precision 'fp8'"):
        train(corpus, tmp_path / "fp8", replace(settings, precision="fp8"), log=lambda m: None, progress_bar=False)
    if not torch.cuda.is_available():
        with pytest.raises(MusicSimError, match="torch sees no CUDA GPU"):
            train(corpus, tmp_path / "gpu", replace(settings, device="cuda"), log=lambda m: None,
                  progress_bar=False)
    assert not (tmp_path / "fp8").exists() and not (tmp_path / "gpu").exists()


@pytest.mark.skipif("not __import__('torch').cuda.is_available()", reason="needs a CUDA device")
def test_a_run_trains_in_mixed_precision_on_the_gpu_and_resumes_on_the_cpu(corpus, tmp_path):
    settings = TrainSettings(config="debug", steps=4, batch=2, checkpoint_every=2, sample_every=2, log_every=1,
                             adv_start=0, critic_every=1, device="cuda", precision="bf16")
    assert train(corpus, tmp_path / "run", settings, log=lambda m: None, progress_bar=False)["step"] == 4
    resumed = train(corpus, tmp_path / "run", replace(settings, steps=6, device="cpu", precision="fp32"),
                    log=lambda m: None, progress_bar=False)
    assert resumed["step"] == 6 and np.isfinite(resumed["valid_stft"])
