"""Separator training: augmented sampling, the resumable loop, metrics, export and ONNX parity."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from separation_support import write_corpus

from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.separation.masknet import debug_config
from musicsim_gui.separation.masknet_config import MaskNetConfig
from musicsim_gui.training.separation.dataset import Augmentation, ExampleSampler, SongIndex, validation_batch
from musicsim_gui.training.separation.export import export_run
from musicsim_gui.training.separation.metrics import read_rows
from musicsim_gui.training.separation.train import TrainConfig, learning_rate, train

BUNDLED_SEPARATOR = Path(__file__).resolve().parents[1] / "models" / "separation-builtin"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"), {"train": 3, "valid": 1}, seconds=3.0)


def test_sampler_draws_augmented_segments(corpus):
    index = SongIndex(corpus / "train")
    assert len(index.songs) == 3 and index.sample_rate == 44100
    plain = ExampleSampler(index, 22050, Augmentation(remix=0.0, stem_gain_db=(0, 0), level_db=(0, 0),
                                                     silence=0.0, jitter=0.0), seed=1)
    example = plain.example()
    assert example.shape == (4, 22050) and example.dtype == np.float32
    song = plain.songs[0]
    raw = np.stack([index.read(song, s, 0, 22050, 0) for s in index.stems])
    assert raw.shape == example.shape
    augmented = ExampleSampler(index, 22050, Augmentation(silence=0.5), seed=2).batch(16)
    peaks = np.abs(augmented).max(axis=2)
    assert (peaks < 1e-4).any(), "silenced stems appear"
    assert np.ptp(np.log10(peaks[peaks > 1e-4])) > 0.3, "gains vary"
    valid = validation_batch(SongIndex(corpus / "valid"), 22050, 3)
    assert valid.shape == (3, 4, 22050)
    np.testing.assert_array_equal(valid, validation_batch(SongIndex(corpus / "valid"), 22050, 3))


def test_varispeed_interpolates_each_channel_linearly(corpus):
    index = SongIndex(corpus / "train")
    sampler = ExampleSampler(index, 22050, Augmentation(jitter=0.03), seed=4)
    song, rate = sampler.songs[1], 1.0271
    positions = np.arange(22050) * rate
    for channel in (1, None):
        raw = index.read(song, "piano", 1000, int(np.ceil(22050 * rate)) + 1, channel)
        expected = np.stack([np.interp(positions, np.arange(raw.shape[-1]), row) for row in np.atleast_2d(raw)])
        segment = sampler._segment(song, "piano", 1000, rate, channel)
        assert segment.dtype == np.float32 and segment.shape == ((22050,) if channel else (2, 22050))
        np.testing.assert_allclose(np.atleast_2d(segment), expected, atol=1e-6)


def test_band_sums_match_a_plain_sum_over_each_band():
    from musicsim_gui.separation.masknet_config import MaskNetConfig, band_index
    from musicsim_gui.training.separation.features import BandFeatures

    rng = np.random.default_rng(7)
    for config in (debug_config(), MaskNetConfig(), replace(debug_config(), full_bins=257)):
        index = band_index(config)
        values = rng.random((2, 3, config.bins, 5), dtype=np.float32)
        expected = np.stack([values[..., index == band, :].sum(axis=-2) for band in range(index.max() + 1)], axis=-2)
        sums = BandFeatures(config).band_sums(values)
        assert sums.dtype == np.float32
        np.testing.assert_allclose(sums, expected, rtol=1e-5)


def test_empty_split_is_a_clear_error(tmp_path):
    with pytest.raises(MusicSimError, match="no finished songs"):
        SongIndex(tmp_path)


def test_learning_rate_warms_up_and_decays():
    config = TrainConfig(corpus="", run_dir="", steps=1000, warmup=100, lr=1e-3)
    assert learning_rate(config, 0) == pytest.approx(1e-5)
    assert learning_rate(config, 99) == pytest.approx(1e-3)
    assert learning_rate(config, 1000) == pytest.approx(5e-5)


def test_training_resumes_improves_and_exports(corpus, tmp_path):
    config = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "run"), steps=30, batch=4,
                         segment_seconds=1.0, val_every=15, ckpt_every=15, val_count=4, warmup=5, lr=3e-3,
                         model=debug_config())
    state = train(config, progress=False)
    assert state["step"] == 30
    config.steps = 60
    state = train(config, progress=False)
    assert state["step"] == 60
    rows = read_rows(tmp_path / "run")
    assert [r["step"] for r in rows] == [15, 30, 45, 60]
    assert rows[-1]["val_loss"] < rows[0]["val_loss"]
    assert (tmp_path / "run" / "loss.png").stat().st_size > 5000
    from safetensors import safe_open

    with safe_open(str(tmp_path / "run" / "best.safetensors"), framework="pt") as best:
        kept = int(best.metadata()["step"])
    assert kept == min(rows, key=lambda r: r["val_loss"])["step"]  # best = lowest validation loss
    assert state["best_loss"] == pytest.approx(min(r["val_loss"] for r in rows), rel=1e-5)  # the CSV keeps 6 digits
    songs = int(rows[-1]["train_songs"])
    extra = corpus / "train" / "song_999999"  # a song added to the corpus after the run
    extra.mkdir()
    shutil.copy(next((corpus / "train").glob("*/mix.flac")), extra / "mix.flac")
    try:
        manifest = export_run(tmp_path / "run", tmp_path / "model")
    finally:
        shutil.rmtree(extra)
    assert manifest.metrics["onnx_parity_max_abs"] < 1e-5
    assert manifest.config["training"]["steps"] == kept  # the exported weights' steps, not the run's
    assert manifest.config["training"]["corpus"].endswith(f"({songs} train songs)")
    assert manifest.config["training"]["train_songs"] == songs
    saved = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert set(saved["files"]) == {"model.onnx", "weights.safetensors"}
    assert "## Training" in (tmp_path / "model" / "MODEL_CARD.md").read_text()


def test_new_run_starts_from_an_exported_model(corpus, tmp_path):
    first = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "first"), steps=20, batch=4,
                        segment_seconds=1.0, val_every=10, ckpt_every=10, val_count=4, warmup=5, lr=3e-3,
                        model=debug_config())
    train(first, progress=False)
    export_run(tmp_path / "first", tmp_path / "model", note="The first weights.")
    exported_loss = read_rows(tmp_path / "first")[-1]["val_loss"]

    second = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "second"), steps=10, batch=4,
                         segment_seconds=1.0, val_every=10, ckpt_every=10, val_count=4, warmup=5, lr=1e-4,
                         model=debug_config(), init_from=str(tmp_path / "model"))
    state = train(second, progress=False)
    assert state["prior_steps"] == 20
    # a small learning rate keeps it near the loaded weights (the loss is a negative SDR in dB)
    assert read_rows(tmp_path / "second")[-1]["val_loss"] < exported_loss + 0.5
    manifest = export_run(tmp_path / "second", tmp_path / "model2", version="1.1", note="Ten more steps.")
    assert manifest.config["training"]["steps"] == 30
    card = (tmp_path / "model2" / "MODEL_CARD.md").read_text()
    assert "20 in earlier runs" in card
    songs = len(list((corpus / "train").glob("*/mix.flac")))
    assert manifest.config["training"]["corpus"].endswith(  # the songs the starting weights learnt from, too
        f"({songs} train songs; the last run of the weights it started from had {songs})")
    assert manifest.config["training"]["train_songs"] == songs
    assert manifest.config["history"] == [{"version": "1.0", "text": "The first weights."},
                                          {"version": "1.1", "text": "Ten more steps."}]
    assert card.index("**1.0.** The first weights.") < card.index("**1.1.** Ten more steps.")


def test_card_reads_the_starting_song_count_of_a_folder_exported_before_the_field():
    from musicsim_gui.training.separation.export import _corpus_text

    older = {"corpus": "the project's synthetic multi-stem corpus (1631 train songs)"}
    assert _corpus_text(517, older).endswith("(517 train songs; the last run of the weights it started from had 1631)")
    newer = {"corpus": "described in other words", "train_songs": 517}
    assert _corpus_text(480, newer).endswith("(480 train songs; the last run of the weights it started from had 517)")
    assert _corpus_text(480, {}).endswith("(480 train songs)")


def test_initial_weights_of_another_network_are_a_clear_error(corpus, tmp_path):
    from musicsim_gui.core.errors import ModelError
    from musicsim_gui.separation.masknet_config import MaskNetConfig

    config = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "run"), steps=1, batch=2,
                         segment_seconds=1.0, val_count=2, model=debug_config(), init_from=str(BUNDLED_SEPARATOR))
    assert MaskNetConfig().hidden != debug_config().hidden
    with pytest.raises(ModelError, match="do not fit the configured network"):
        train(config, progress=False)


def test_stereo_sampler_keeps_both_channels_of_the_same_draw(corpus):
    index = SongIndex(corpus / "train")
    plain = Augmentation(remix=0.0, stem_gain_db=(0, 0), level_db=(0, 0), silence=0.0, jitter=0.0)
    mono = ExampleSampler(index, 22050, plain, seed=3).example()
    stereo = ExampleSampler(index, 22050, plain, seed=3, stereo=True).example()
    assert stereo.shape == (4, 2, 22050)
    assert any(np.array_equal(mono, stereo[:, c]) for c in (0, 1))  # the same song and offset, every channel
    valid = validation_batch(SongIndex(corpus / "valid"), 22050, 3, stereo=True)
    assert valid.shape == (3, 4, 2, 22050) and not np.allclose(valid[:, :, 0], valid[:, :, 1])


def test_stereo_features_pair_each_channel_with_the_other():
    from musicsim_gui.training.separation.features import BandFeatures

    features = BandFeatures(debug_config())
    stems = np.random.default_rng(0).standard_normal((3, 4, 2, 4096)).astype(np.float32)
    stem_sums, mix_sums, partner_sums, energy = features(stems)
    assert energy is None  # only asked for by the SDR loss
    left_stems, left_mix, no_partner, _ = features(stems[:, :, 0])
    assert no_partner is None
    right_mix = features(stems[:, :, 1]).mix
    assert stem_sums.shape[0] == mix_sums.shape[0] == partner_sums.shape[0] == 6
    np.testing.assert_allclose(stem_sums[:3], left_stems, rtol=1e-6)
    np.testing.assert_allclose(mix_sums[:3], left_mix, rtol=1e-6)
    np.testing.assert_allclose(partner_sums[:3], right_mix, rtol=1e-6)
    np.testing.assert_allclose(partner_sums[3:], left_mix, rtol=1e-6)


def test_added_parts_start_as_the_network_they_were_made_from(corpus, tmp_path):
    import torch

    from musicsim_gui.separation.masknet import build_masknet
    from musicsim_gui.training.separation.train import load_initial_weights

    first = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "mono"), steps=10, batch=4, segment_seconds=1.0,
                        val_every=10, ckpt_every=10, val_count=4, warmup=5, lr=3e-3, model=debug_config())
    train(first, progress=False)
    export_run(tmp_path / "mono", tmp_path / "mono-model")
    mono = build_masknet(debug_config())
    load_initial_weights(tmp_path / "mono-model", mono)
    stereo = build_masknet(replace(debug_config(), stereo_cue=True))
    assert load_initial_weights(tmp_path / "mono-model", stereo) == 10
    wider = build_masknet(replace(debug_config(), stereo_cue=True, decoder_hidden=24, local_channels=6,
                                  local_layers=2))
    load_initial_weights(tmp_path / "mono-model", wider)
    deeper = build_masknet(replace(debug_config(), blocks=debug_config().blocks + 2))
    load_initial_weights(tmp_path / "mono-model", deeper)
    magnitude, partner = torch.rand(2, 257, 40), torch.rand(2, 257, 40) * 5
    with torch.no_grad():
        torch.testing.assert_close(stereo(magnitude, partner), mono(magnitude))
        torch.testing.assert_close(wider(magnitude, partner), mono(magnitude))
        torch.testing.assert_close(deeper(magnitude), mono(magnitude))
    assert float(deeper.blocks[-1].depthwise.weight.detach().abs().max()) > 0  # a new block is initialised, only its output is 0

    grown_config = replace(debug_config(), decoder_hidden=24, blocks=debug_config().blocks + 1, stereo_cue=True,
                           local_channels=6, local_layers=1)
    grown = TrainConfig(**{**first.__dict__, "run_dir": str(tmp_path / "grown"), "init_from": str(tmp_path / "mono-model"),
                           "model": grown_config})
    train(grown, progress=False)
    manifest = export_run(tmp_path / "grown", tmp_path / "grown-model", torch_weights=False)
    assert manifest.config["decoder_hidden"] == 24 and manifest.metrics["onnx_parity_max_abs"] < 1e-5
    assert manifest.config["blocks"] == grown_config.blocks and manifest.config["local_channels"] == 6
    assert set(manifest.files) == {"model.onnx", "MODEL_CARD.md"} or set(manifest.files) == {"model.onnx"}
    trained = build_masknet(grown_config)
    load_initial_weights(tmp_path / "grown-model", trained)  # read back from the graph: no safetensors shipped
    assert float(trained.refine_out.weight.detach().abs().max()) > 0  # the branch learned something
    assert float(trained.blocks[-1].project.weight.detach().abs().max()) > 0  # and so did the added block
    assert float(trained.local_path.out.weight.detach().abs().max()) > 0  # and the band-resolved path
    assert float(trained.local_path.layers[0].weight.detach().abs().max()) > 0  # with its residual layer
    assert "residual convolution layers (1; 3 bands" in (tmp_path / "grown-model" / "MODEL_CARD.md").read_text()

    from musicsim_gui.separation.builtin import open_masknet

    spectrum = np.random.default_rng(3).random((2, 257, 30)).astype(np.float32)
    graph_masks = open_masknet(tmp_path / "grown-model", backend="onnx").masks(spectrum)
    torch_masks = open_masknet(tmp_path / "grown-model", backend="torch").masks(spectrum)
    np.testing.assert_allclose(torch_masks, graph_masks, atol=1e-5)


def test_song_context_starts_at_zero_reads_the_whole_input_and_trains_alone(corpus, tmp_path):
    import torch
    from safetensors.torch import load_file

    from musicsim_gui.runtime.manifest import load_manifest, write_manifest
    from musicsim_gui.separation.builtin import open_masknet
    from musicsim_gui.separation.masknet import build_masknet
    from musicsim_gui.training.separation.train import initial_weights

    base = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "base"), steps=10, batch=4, segment_seconds=1.0,
                       val_every=10, ckpt_every=10, val_count=4, warmup=5, lr=3e-3,
                       model=replace(debug_config(), stereo_cue=True))
    train(base, progress=False)
    export_run(tmp_path / "base", tmp_path / "base-model")
    plain = build_masknet(base.model).eval()
    initial_weights(tmp_path / "base-model", plain)
    context_config = replace(base.model, song_context=True)
    with_context = build_masknet(context_config).eval()
    _, fresh = initial_weights(tmp_path / "base-model", with_context)
    assert sorted(fresh) == ["song_offsets.bias", "song_offsets.weight"]
    magnitude, partner = torch.rand(1, 257, 60), torch.rand(1, 257, 60)
    with torch.no_grad():
        torch.testing.assert_close(with_context(magnitude, partner), plain(magnitude, partner), rtol=0, atol=0)
        torch.nn.init.normal_(with_context.song_offsets.weight, std=0.5)
        later = magnitude.clone()
        later[:, :, 50:] *= 8.0  # the end of the input changes: with the offsets, so does its first frame
        first_frames = [with_context(m, partner)[..., 0] for m in (magnitude, later)]
    assert float((first_frames[0] - first_frames[1]).abs().max()) > 1e-3

    only = TrainConfig(**{**base.__dict__, "run_dir": str(tmp_path / "only"), "init_from": str(tmp_path / "base-model"),
                          "model": context_config, "train_added_only": True, "fresh_lr_scale": 3.0})
    train(only, progress=False)
    trained = load_file(str(tmp_path / "only" / "best.safetensors"))
    start = load_file(str(tmp_path / "base-model" / "weights.safetensors"))
    assert all(torch.equal(trained[name], value) for name, value in start.items())  # the trained parts stayed
    assert float(trained["song_offsets.weight"].abs().max()) > 0  # the offsets learned
    manifest = export_run(tmp_path / "only", tmp_path / "context-model")
    assert manifest.config["song_context"] is True and manifest.metrics["onnx_parity_max_abs"] < 1e-5
    card = (tmp_path / "context-model" / "MODEL_CARD.md").read_text()
    assert "Song context: the decoder's inputs averaged" in card
    assert "The last run trained only the parts its starting weights lacked" in card
    assert "50% of the examples remix stems across songs, every stem gets a random gain (-9 to +3 dB" in card
    spectrum = np.random.default_rng(4).random((2, 257, 30)).astype(np.float32)
    np.testing.assert_allclose(open_masknet(tmp_path / "context-model", backend="torch").masks(spectrum),
                               open_masknet(tmp_path / "context-model", backend="onnx").masks(spectrum), atol=1e-5)
    assert "band_logits" in load_manifest(tmp_path / "context-model").outputs  # exported song-wide
    shipped = load_manifest(tmp_path / "context-model")
    (tmp_path / "context-model" / "weights.safetensors").unlink()  # a run may start from the song-wide graph alone
    write_manifest(tmp_path / "context-model", replace(shipped, files={"model.onnx": shipped.files["model.onnx"]}))
    again = build_masknet(context_config)
    initial_weights(tmp_path / "context-model", again)
    assert all(torch.allclose(again.state_dict()[name], value, atol=1e-6) for name, value in trained.items())

    from musicsim_gui.core.errors import ModelError

    nothing_added = TrainConfig(**{**only.__dict__, "run_dir": str(tmp_path / "nothing"), "model": base.model})
    with pytest.raises(ModelError, match="--train-added-only: the initial weights lack no part of this network"):
        train(nothing_added, progress=False)
    whole = TrainConfig(**{**only.__dict__, "steps": only.steps + 2, "train_added_only": False})
    with pytest.raises(ModelError, match="this run trains only the added parts; resume it with --train-added-only"):
        train(whole, progress=False)
    no_weights = TrainConfig(**{**only.__dict__, "run_dir": str(tmp_path / "fresh"), "init_from": None})
    with pytest.raises(ModelError, match="--train-added-only trains the parts the --init-from weights lack"):
        train(no_weights, progress=False)
    assert not (tmp_path / "fresh").exists()


def test_a_widened_band_resolved_path_starts_as_the_trained_one(tmp_path):
    import torch
    from safetensors.torch import save_file

    from musicsim_gui.separation.masknet import build_masknet
    from musicsim_gui.training.separation.train import initial_weights

    narrow_config = replace(debug_config(), stereo_cue=True, local_channels=4, local_layers=1)
    narrow = build_masknet(narrow_config)
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():  # trained-looking weights: the zero-initialised read-out and layer carry signal
        for parameter in narrow.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.2)
    save_file({name: value.contiguous() for name, value in narrow.state_dict().items()},
              str(tmp_path / "narrow.safetensors"))
    wide = build_masknet(replace(narrow_config, local_channels=9))
    _, fresh = initial_weights(tmp_path / "narrow.safetensors", wide)
    assert "local_path.out.weight" in fresh and "local_path.layers.0.weight" in fresh and "encoder.weight" not in fresh
    assert wide.local_path.image.weight.shape[0] == 9
    assert float(wide.local_path.image.weight[4:].detach().abs().max()) > 0  # the new channels see the image
    magnitude, partner = torch.rand(2, 257, 40), torch.rand(2, 257, 40) * 5
    with torch.no_grad():
        torch.testing.assert_close(wide(magnitude, partner), narrow(magnitude, partner), rtol=0, atol=0)
    with pytest.raises(MusicSimError, match="do not fit the configured network"):
        initial_weights(tmp_path / "narrow.safetensors", build_masknet(replace(narrow_config, local_channels=2)))


def test_stereo_cue_training_exports_a_two_input_graph_that_separates(corpus, tmp_path):
    from musicsim_gui.audio.clip import AudioClip
    from musicsim_gui.separation.builtin import open_masknet

    config = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "run"), steps=20, batch=4, segment_seconds=1.0,
                         val_every=10, ckpt_every=10, val_count=4, warmup=5, lr=3e-3,
                         model=replace(debug_config(), stereo_cue=True))
    train(config, progress=False)
    rows = read_rows(tmp_path / "run")
    assert rows[-1]["val_loss"] < rows[0]["val_loss"] * 1.5 and np.isfinite(rows[-1]["val_sdr_mean"])
    manifest = export_run(tmp_path / "run", tmp_path / "model")
    assert set(manifest.inputs) == {"magnitude", "partner"} and manifest.metrics["onnx_parity_max_abs"] < 1e-5
    assert "Stereo cue" in (tmp_path / "model" / "MODEL_CARD.md").read_text()
    mix = np.random.default_rng(1).standard_normal((2, 44100)).astype(np.float32) * 0.1
    outputs = {}
    for backend in ("onnx", "torch"):
        separator = open_masknet(tmp_path / "model", backend=backend)
        stems = separator.separate(AudioClip(mix, 44100))
        np.testing.assert_allclose(sum(s.samples for s in stems.values()), mix, atol=1e-4)
        outputs[backend] = stems["piano"].samples
        mono = separator.separate(AudioClip(mix[:1], 44100))  # a mono clip is its own partner
        assert mono["bass"].samples.shape == (1, 44100)
    np.testing.assert_allclose(outputs["onnx"], outputs["torch"], atol=1e-4)


def test_resuming_a_run_with_another_network_is_a_clear_error(corpus, tmp_path):
    from musicsim_gui.core.errors import ModelError

    config = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "run"), steps=2, batch=2, segment_seconds=1.0,
                         val_every=2, ckpt_every=2, val_count=2, warmup=1, model=debug_config())
    train(config, progress=False)
    settings = (tmp_path / "run" / "config.json").read_text()
    stereo = TrainConfig(**{**config.__dict__, "steps": 4, "model": replace(debug_config(), stereo_cue=True)})
    with pytest.raises(ModelError, match="started with another network"):
        train(stereo, progress=False)
    assert (tmp_path / "run" / "config.json").read_text() == settings  # the run's settings are left as they were


def test_added_parts_learn_at_their_own_rate_and_keep_it_when_resumed(corpus, tmp_path):
    from musicsim_gui.training.separation.train import Trainer

    first = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "base"), steps=5, batch=4, segment_seconds=1.0,
                        val_every=5, ckpt_every=5, val_count=4, warmup=2, lr=1e-3, model=debug_config())
    train(first, progress=False)
    export_run(tmp_path / "base", tmp_path / "base-model")
    grown = TrainConfig(**{**first.__dict__, "run_dir": str(tmp_path / "grown"), "init_from": str(tmp_path / "base-model"),
                           "model": replace(debug_config(), local_channels=4), "fresh_lr_scale": 10.0, "steps": 8})
    trainer = Trainer(grown)
    fresh = set(trainer.state["fresh_parameters"])
    assert fresh and all(name.startswith("local_path.") for name in fresh)
    trained_groups = [len(group["params"]) for group in trainer.optimizer.param_groups]
    assert trained_groups == [len(list(trainer.model.parameters())) - len(fresh), len(fresh)]
    trainer.batches = _one_batch_queue(trainer)
    trainer._step(3)  # past the warm-up
    assert trainer.optimizer.param_groups[1]["lr"] == 10 * trainer.optimizer.param_groups[0]["lr"] > 0
    from musicsim_gui.training.separation.checkpoint import save_checkpoint

    save_checkpoint(trainer.run_dir, trainer.model, trainer.optimizer, trainer.state)
    resumed = Trainer(grown)
    assert resumed.state["fresh_parameters"] == trainer.state["fresh_parameters"]
    assert [group["lr_scale"] for group in resumed.optimizer.param_groups] == [1.0, 10.0]


def _one_batch_queue(trainer):
    import queue

    batches: queue.Queue = queue.Queue()
    batches.put(trainer.features(trainer.sampler.batch(trainer.items_per_batch)))
    return batches


def _bin_sdr(masks, spec):
    """SDR (dB) `[N, S]` of complex masking computed bin by bin: the definition the band energies must meet."""
    mix = spec.sum(axis=1, keepdims=True)
    error = (np.abs(masks * mix - spec) ** 2).sum(axis=(2, 3))
    return 10 * np.log10((np.abs(spec) ** 2).sum(axis=(2, 3)) / error)


def test_band_energies_make_the_complex_masking_error_exact():
    import torch

    from musicsim_gui.separation.masknet import build_masknet
    from musicsim_gui.training.separation.features import BandFeatures, stereo_examples
    from musicsim_gui.training.separation.losses import masking_loss

    config = replace(debug_config(), stereo_cue=True)
    features = BandFeatures(config, energy=True)
    rng = np.random.default_rng(5)
    # stems of different levels and spectra, both channels
    stems = (rng.standard_normal((3, 4, 2, 6000)) * np.array([1.0, 0.3, 2.0, 0.05])[None, :, None, None])
    stems = np.cumsum(stems, axis=-1).astype(np.float32) * 0.01  # red noise: most energy low, where bins are bands
    spec = stereo_examples(features.spectra(stems))
    batch = features.sums(spec, paired=True)
    assert batch.stems is None  # the energies stand in for the magnitude sums
    assert batch.energy.cross.shape == batch.energy.stems.shape == (6, 4, *batch.mix.shape[1:])
    assert batch.energy.mix.shape == batch.mix.shape
    model = build_masknet(config)
    torch.nn.init.normal_(model.decoder.weight, std=0.5)  # masks far from uniform
    with torch.no_grad():
        loss, masks = masking_loss(model, batch.to_torch(), torch.from_numpy(features.widths), "sdr")
    expected = _bin_sdr(model.expand(masks).numpy(), spec)
    assert np.ptp(expected) > 3  # the check is not on equal masks
    assert float(loss) == pytest.approx(-expected.mean(), abs=2e-3)


def test_sdr_loss_leaves_silent_stems_out():
    import torch

    from musicsim_gui.separation.masknet import build_masknet
    from musicsim_gui.training.separation.features import BandFeatures
    from musicsim_gui.training.separation.losses import masking_loss

    features = BandFeatures(debug_config(), energy=True)
    stems = np.random.default_rng(6).standard_normal((2, 4, 6000)).astype(np.float32)
    stems[0, 2] = 0.0  # piano silent in the first example
    spec = features.spectra(stems)
    model = build_masknet(debug_config())
    with torch.no_grad():
        loss, masks = masking_loss(model, features.sums(spec, paired=False).to_torch(),
                                   torch.from_numpy(features.widths), "sdr")
    with np.errstate(divide="ignore"):
        sdr = _bin_sdr(model.expand(masks).numpy(), spec)
    assert np.isneginf(sdr[0, 2])
    present = np.ones_like(sdr, dtype=bool)
    present[0, 2] = False
    assert float(loss) == pytest.approx(-sdr[present].mean(), abs=2e-3)


def _trained_tiny_run(corpus, run_dir, **settings):
    """A 40-step run of the debug network (validated twice) with `settings`; asserts it learned."""
    config = TrainConfig(corpus=str(corpus), run_dir=str(run_dir), **{
        "steps": 40, "batch": 4, "segment_seconds": 1.0, "val_every": 20, "ckpt_every": 20, "val_count": 4,
        "warmup": 5, "lr": 3e-3, "model": debug_config(), **settings})
    train(config, progress=False)
    rows = read_rows(run_dir)
    assert rows[-1]["val_loss"] < rows[0]["val_loss"]
    return config, rows


def test_sdr_loss_training_raises_the_validation_sdr_and_is_on_the_card(corpus, tmp_path):
    config, rows = _trained_tiny_run(corpus, tmp_path / "run", loss="sdr")
    # the validation loss is the negative SDR of the same segments, averaged over stems
    assert rows[-1]["val_loss"] == pytest.approx(-rows[-1]["val_sdr_mean"], abs=0.05)
    manifest = export_run(tmp_path / "run", tmp_path / "model")
    assert manifest.config["training"]["loss"] == "sdr"
    assert "Loss: the negative SDR (dB) of complex masking" in (tmp_path / "model" / "MODEL_CARD.md").read_text()

    l1_run = TrainConfig(**{**config.__dict__, "run_dir": str(tmp_path / "l1-then-sdr"), "loss": "l1", "steps": 10})
    train(l1_run, progress=False)
    from musicsim_gui.core.errors import ModelError

    with pytest.raises(ModelError, match="trained with the 'l1' loss; resume it with --loss l1"):
        train(TrainConfig(**{**l1_run.__dict__, "loss": "sdr", "steps": 20}), progress=False)
    assert read_rows(tmp_path / "l1-then-sdr")[-1]["step"] == 10  # nothing was trained or written
    export_run(tmp_path / "l1-then-sdr", tmp_path / "l1-model", note="L1 weights.")
    finetuned = TrainConfig(**{**config.__dict__, "run_dir": str(tmp_path / "finetuned"), "steps": 10,
                               "init_from": str(tmp_path / "l1-model")})
    train(finetuned, progress=False)
    export_run(tmp_path / "finetuned", tmp_path / "finetuned-model")
    card = (tmp_path / "finetuned-model" / "MODEL_CARD.md").read_text()
    assert "relative to the mix magnitude for the first 10 steps; then, for 10, the negative SDR" in card

    # a second SDR run from that model adds its steps to the SDR part of the schedule, not to the L1 part
    again = TrainConfig(**{**finetuned.__dict__, "run_dir": str(tmp_path / "again"), "seed": 3,
                           "init_from": str(tmp_path / "finetuned-model")})
    train(again, progress=False)
    manifest = export_run(tmp_path / "again", tmp_path / "again-model")
    assert manifest.config["training"]["losses"] == [{"loss": "l1", "steps": 10}, {"loss": "sdr", "steps": 20}]
    assert manifest.config["training"]["steps"] == 30
    card = (tmp_path / "again-model" / "MODEL_CARD.md").read_text()
    assert "relative to the mix magnitude for the first 10 steps; then, for 20, the negative SDR" in card


def test_an_unknown_loss_is_a_clear_error(corpus, tmp_path):
    from musicsim_gui.core.errors import ModelError

    config = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "run"), steps=1, batch=2, segment_seconds=1.0,
                         val_count=2, model=debug_config(), loss="l2")
    with pytest.raises(ModelError, match="unknown separator loss 'l2'"):
        train(config, progress=False)


def test_weight_average_follows_the_weights_with_a_ramped_decay():
    import torch

    from musicsim_gui.training.separation.averaging import WeightAverage

    model = torch.nn.Linear(3, 2)
    average = WeightAverage(model, decay=0.99)
    start = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    assert average.rate() == pytest.approx(0.1)  # (1 + 0) / (10 + 0): the first updates move it quickly
    average.update(model)
    assert torch.allclose(average.model.weight, start + 0.9)
    for _ in range(2000):
        average.update(model)
    assert average.rate() == 0.99 and torch.allclose(average.model.weight, model.weight, atol=1e-5)
    assert not average.model.weight.requires_grad
    with pytest.raises(ValueError, match="between 0 and 1"):
        WeightAverage(model, decay=1.0)


def test_a_run_with_a_weight_average_validates_keeps_and_resumes_the_average(corpus, tmp_path):
    from safetensors.torch import load_file

    from musicsim_gui.training.separation.train import Trainer

    config = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "run"), steps=12, batch=4, segment_seconds=1.0,
                         val_every=12, ckpt_every=12, val_count=4, warmup=2, lr=3e-3, model=debug_config(),
                         average_decay=0.9)
    state = train(config, progress=False)
    assert state["average_updates"] == 12
    saved = load_file(str(tmp_path / "run" / "checkpoint.safetensors"))
    average = {k[len("average."):]: v for k, v in saved.items() if k.startswith("average.")}
    trained = {k[len("model."):]: v for k, v in saved.items() if k.startswith("model.")}
    assert average.keys() == trained.keys()
    assert any(not np.allclose(average[k].numpy(), trained[k].numpy()) for k in average)
    best = load_file(str(tmp_path / "run" / "best.safetensors"))  # the one validation was of the average
    assert all(np.array_equal(best[k].numpy(), average[k].numpy()) for k in average)

    from musicsim_gui.core.errors import ModelError

    with pytest.raises(ModelError, match="keeps a weight average \\(decay 0.9\\); resume it with --average-decay 0.9"):
        Trainer(TrainConfig(**{**config.__dict__, "steps": 14, "average_decay": 0.0}))
    resumed = Trainer(TrainConfig(**{**config.__dict__, "steps": 14}))
    assert resumed.average.updates == 12
    restored = resumed.average.state_dict()
    assert all(np.array_equal(restored[k].numpy(), average[k].numpy()) for k in average)
    resumed.run(progress=False)
    manifest = export_run(tmp_path / "run", tmp_path / "model")
    assert manifest.config["training"]["average_decay"] == 0.9
    card = (tmp_path / "model" / "MODEL_CARD.md").read_text()
    assert "exponential moving average of the last run's (decay 0.9 per step)" in card


def test_export_counts_the_steps_of_the_checkpoint_when_a_run_stopped_after_its_last_validation(corpus, tmp_path):
    config = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "run"), steps=10, batch=4, segment_seconds=1.0,
                         val_every=5, ckpt_every=5, val_count=4, warmup=2, model=debug_config())
    train(config, progress=False)
    metrics = tmp_path / "run" / "metrics.csv"
    rows = metrics.read_text().splitlines()
    metrics.write_text("\n".join(rows[:-1]) + "\n")  # as if stopped between the checkpoint and the validation
    assert read_rows(tmp_path / "run")[-1]["step"] == 5
    from safetensors.torch import load_file, save_file

    best = tmp_path / "run" / "best.safetensors"
    save_file(load_file(str(best)), str(best))  # weights that do not record their step
    assert export_run(tmp_path / "run", tmp_path / "model").config["training"]["steps"] == 10


def test_an_impossible_weight_average_is_a_clear_error_before_anything_is_written(corpus, tmp_path):
    from musicsim_gui.core.errors import ModelError

    config = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "run"), steps=1, batch=2, segment_seconds=1.0,
                         val_count=2, model=debug_config(), average_decay=1.5)
    with pytest.raises(ModelError, match="--average-decay 1.5: .* between 0 and 1"):
        train(config, progress=False)
    assert not (tmp_path / "run").exists()


def test_a_bfloat16_forward_pass_gives_the_float32_loss_and_gradient():
    import torch

    from musicsim_gui.separation.masknet import build_masknet
    from musicsim_gui.training.separation.features import BandFeatures, stereo_examples
    from musicsim_gui.training.separation.losses import masking_loss

    config = replace(debug_config(), stereo_cue=True)
    features = BandFeatures(config, energy=True)
    stems = np.random.default_rng(8).standard_normal((2, 4, 2, 6000)).astype(np.float32)
    batch = features.sums(stereo_examples(features.spectra(stems)), paired=True).to_torch()
    torch.manual_seed(8)
    model = build_masknet(config)
    torch.nn.init.normal_(model.decoder.weight, std=0.5)
    widths = torch.from_numpy(features.widths)
    results = {}
    for precision in ("fp32", "bf16"):
        model.zero_grad()
        loss, masks = masking_loss(model, batch, widths, "sdr", precision)
        loss.backward()
        results[precision] = (loss.item(), masks.dtype,
                              torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    (loss32, dtype32, grad32), (loss16, dtype16, grad16) = results["fp32"], results["bf16"]
    assert dtype32 == dtype16 == torch.float32  # the loss always sees float32 masks
    assert loss16 != loss32  # the forward pass did run in bfloat16 ...
    assert loss16 == pytest.approx(loss32, abs=0.05)  # ... and its loss and gradient are those of float32
    assert float(torch.nn.functional.cosine_similarity(grad32.double(), grad16.double(), dim=0)) > 0.99


def test_a_bfloat16_run_trains_validates_in_float32_and_says_so_on_the_card(corpus, tmp_path):
    import torch

    from musicsim_gui.training.separation.losses import masking_loss
    from musicsim_gui.training.separation.train import Trainer

    config, _ = _trained_tiny_run(corpus, tmp_path / "run", precision="bf16")
    trainer = Trainer(config)  # resumed at step 40: its validation is the float32 loss of the same segments
    batch = trainer.features.sums(trainer.features.spectra(np.stack(trainer.valid)), paired=False).to_torch()
    with torch.no_grad():
        loss32, _ = masking_loss(trainer.evaluated, batch, trainer.widths, "sdr")
        loss16, _ = masking_loss(trainer.evaluated, batch, trainer.widths, "sdr", "bf16")
    validated = trainer.validate()[0]
    assert validated == pytest.approx(float(loss32), abs=1e-6)
    # bfloat16 moves this tiny network's loss by as little as 1e-5: told apart at 1e-6 (unless it did not move).
    assert float(loss16) == float(loss32) or validated != pytest.approx(float(loss16), abs=1e-6)
    manifest = export_run(tmp_path / "run", tmp_path / "model")
    assert manifest.config["training"]["precision"] == "bf16"
    assert "forward passes ran in bfloat16" in (tmp_path / "model" / "MODEL_CARD.md").read_text()


def test_an_unknown_precision_is_a_clear_error_before_anything_is_written(corpus, tmp_path):
    from musicsim_gui.core.errors import ModelError

    config = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "run"), steps=1, batch=2, segment_seconds=1.0,
                         val_count=2, model=debug_config(), precision="fp8")
    with pytest.raises(ModelError, match="unknown training precision 'fp8' \\(choose from fp32, bf16\\)"):
        train(config, progress=False)
    assert not (tmp_path / "run").exists()


def test_longer_examples_train_validate_at_their_length_and_are_on_the_card(corpus, tmp_path):
    from musicsim_gui.training.separation.train import Trainer

    config, _ = _trained_tiny_run(corpus, tmp_path / "run", segment_seconds=2.0)
    trainer = Trainer(config)  # resumed: the validation segments have the run's length
    assert {segment.shape[-1] for segment in trainer.valid} == {int(2.0 * config.model.sample_rate)}
    manifest = export_run(tmp_path / "run", tmp_path / "model")
    assert manifest.config["training"]["segment_seconds"] == 2.0
    card = (tmp_path / "model" / "MODEL_CARD.md").read_text()
    assert "is both channels of a 2 s segment" in card or "draws one channel of a 2 s segment" in card
    assert "STFT-domain SDRs of 2 s segments" in card


def test_examples_shorter_than_four_stft_windows_are_a_clear_error_before_anything_is_written(corpus, tmp_path):
    from musicsim_gui.core.errors import ModelError

    for seconds in (0.01, float("nan"), -1.0):
        config = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "run"), steps=1, batch=2,
                             segment_seconds=seconds, val_count=2, model=debug_config())
        with pytest.raises(ModelError, match="--segment-seconds .*: an example must span at least four STFT windows"):
            train(config, progress=False)
        assert not (tmp_path / "run").exists()


def test_metrics_rows_are_rewritten_whole_and_a_resumed_step_replaces_its_earlier_row(tmp_path):
    from musicsim_gui.training.separation.metrics import METRICS_FILE, append_row

    append_row(tmp_path, {"step": 500, "val_loss": -6.25, "val_sdr_mean": 5.9})
    append_row(tmp_path, {"step": 1000, "val_loss": -6.5, "val_sdr_mean": 6.1})
    # the run was killed after validating step 1000 but before checkpointing it, and resumed from step 900
    append_row(tmp_path, {"step": 1000, "val_loss": -6.4, "val_sdr_mean": 6.0, "train_songs": 900})
    rows = read_rows(tmp_path)
    assert [r["step"] for r in rows] == [500, 1000] and rows[-1]["val_loss"] == -6.4
    assert "train_songs" not in rows[0] and rows[1]["train_songs"] == 900  # a column added later
    text = (tmp_path / METRICS_FILE).read_text()
    assert text.splitlines()[1].startswith("500,") and not list(tmp_path.glob(".*"))  # no temporary left


def test_cuda_without_a_gpu_is_a_clear_error_and_auto_trains_where_it_can(corpus, tmp_path):
    import torch

    from musicsim_gui.core.errors import ModelError

    config = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "run"), steps=2, batch=2, segment_seconds=1.0,
                         val_every=2, val_count=2, model=debug_config(), device="cuda")
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="torch sees no CUDA GPU"):
            train(config, progress=False)
        assert not (tmp_path / "run").exists()
    config.device = "auto"
    assert train(config, progress=False)["step"] == 2
    assert json.loads((tmp_path / "run" / "config.json").read_text())["device"] == "auto"


@pytest.mark.skipif("not __import__('torch').cuda.is_available()", reason="needs a CUDA device")
def test_a_run_trains_in_bfloat16_on_the_gpu_and_resumes_on_the_cpu(corpus, tmp_path):
    config = TrainConfig(corpus=str(corpus), run_dir=str(tmp_path / "run"), steps=4, batch=4, segment_seconds=1.0,
                         val_every=2, ckpt_every=2, val_count=4, model=debug_config(), device="cuda",
                         precision="bf16", average_decay=0.9)
    assert train(config, progress=False)["step"] == 4
    config.steps, config.device = 6, "cpu"
    assert train(config, progress=False)["step"] == 6
    rows = read_rows(tmp_path / "run")
    assert [r["step"] for r in rows] == [2, 4, 6] and all(np.isfinite(r["val_loss"]) for r in rows)
    assert export_run(tmp_path / "run", tmp_path / "model").metrics["onnx_parity_max_abs"] < 1e-5


def test_a_run_started_from_a_model_folder_takes_its_network_shape_and_flags_only_grow_it(corpus, tmp_path):
    from musicsim_gui.cli.main import main
    from musicsim_gui.core.errors import ModelError
    from musicsim_gui.separation.masknet import build_masknet
    from musicsim_gui.training.separation.export import export_model
    from musicsim_gui.training.separation.train import network_config

    shape = replace(debug_config(), stereo_cue=True, song_context=True, decoder_hidden=24, local_channels=6,
                    local_layers=1, blocks=debug_config().blocks + 1)
    export_model(build_masknet(shape).eval(), shape, tmp_path / "grown-model", name="separation-grown", version="1.0")
    common = ["train", "separator", "--corpus", str(corpus), "--tiny", "--steps", "2", "--batch", "2",
              "--val-every", "2", "--no-progress", "--init-from", str(tmp_path / "grown-model")]
    assert main([*common, "--run-dir", str(tmp_path / "same")]) == 0  # no flags restating the shape
    stored = json.loads((tmp_path / "same" / "config.json").read_text())["model"]
    assert MaskNetConfig.from_dict(stored) == shape
    assert main([*common, "--run-dir", str(tmp_path / "deeper"), "--blocks", str(shape.blocks + 1)]) == 0
    deeper = MaskNetConfig.from_dict(json.loads((tmp_path / "deeper" / "config.json").read_text())["model"])
    assert deeper == replace(shape, blocks=shape.blocks + 1)
    assert network_config(None, debug_config()) == debug_config()  # from scratch: what the flags ask for
    with pytest.raises(ModelError, match="not a built-in separator to start from"):
        network_config(Path(__file__).resolve().parents[1] / "models" / "vit-wavegan-lofi", debug_config())
