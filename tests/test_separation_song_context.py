"""A song-context separator hears the whole song: the song-wide graph, its two passes, and re-exporting a folder."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch
from separation_support import synthetic_stems

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import CancelledError, ModelError
from musicsim_gui.runtime.manifest import file_sha256, load_manifest, write_manifest
from musicsim_gui.separation.builtin import SONG_WIDE_OUTPUTS, SongContext, open_masknet
from musicsim_gui.separation.cache import CachedSeparator
from musicsim_gui.separation.masknet import build_masknet, debug_config
from musicsim_gui.training.separation.export import export_model, export_onnx, graph_outputs, reexport_folder

RATE = 44100
CONFIG = replace(debug_config(), song_context=True, stereo_cue=True)


def song_context_network():
    """The debug network with a song context that matters (its offsets map starts at zero in training) and no
    two parameters alike (as after training: a graph keeps one copy of equal constants)."""
    torch.manual_seed(3)
    network = build_masknet(CONFIG).eval()
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
        network.song_offsets.weight.normal_(0.0, 0.3)
        network.song_offsets.bias.normal_(0.0, 0.3)
    return network


@pytest.fixture(scope="module")
def network():
    return song_context_network()


@pytest.fixture(scope="module")
def built(tmp_path_factory, network):
    folder = tmp_path_factory.mktemp("song-wide") / "model"
    export_model(network, CONFIG, folder, name="separation-song", version="1.0", chunk_seconds=4.0,
                 extra_config={"stem_priors": {"drums": 0.8}},
                 history=[{"version": "1.0", "text": "Random weights, for tests."}])
    return folder


@pytest.fixture()
def model(built, tmp_path):
    import shutil

    return shutil.copytree(built, tmp_path / "model")


@pytest.fixture(scope="module")
def song():
    """9 s, three 4 s chunks (1 s crossfades) that sound unlike each other: bass and piano, then drums and other."""
    first, second = synthetic_stems(4.5, RATE, 11), synthetic_stems(4.5, RATE, 12)
    halves = [first["bass"] + first["piano"], second["drums"] + second["other"]]
    return AudioClip(np.concatenate(halves, axis=1).astype(np.float32), RATE)


def as_chunk_graph(folder, network):
    """Turn a song-wide folder into the chunk graph the same weights had before song-wide exports."""
    manifest = load_manifest(folder)
    export_onnx(network, CONFIG, folder / "model.onnx", {"name": manifest.name})
    files = {**manifest.files, "model.onnx": file_sha256(folder / "model.onnx")}
    write_manifest(folder, replace(manifest, files=files, outputs=graph_outputs(CONFIG, song_wide=False)))
    return folder


def test_the_song_wide_network_gives_the_masks_of_the_network_it_shares_its_weights_with(network):
    wide = build_masknet(CONFIG, song_wide=True).eval()
    wide.load_state_dict(network.state_dict())
    magnitude, partner = torch.rand(2, CONFIG.bins, 40) ** 3, torch.rand(2, CONFIG.bins, 40) ** 3
    with torch.no_grad():
        logits, offsets = wide(magnitude, partner)
        masks = network(magnitude, partner)
    assert offsets.shape == (2, len(CONFIG.stems), logits.shape[2])
    assert offsets.abs().max() > 0.1
    expanded = wide.expand(torch.softmax(logits + offsets[..., None], dim=1))
    torch.testing.assert_close(expanded, masks, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="song_context"):
        build_masknet(debug_config(), song_wide=True)


def test_a_song_context_network_is_exported_song_wide_and_both_backends_agree(built, song):
    manifest = load_manifest(built)
    assert tuple(manifest.outputs) == SONG_WIDE_OUTPUTS
    assert manifest.metrics["onnx_parity_max_abs"] < 1e-4
    onnx, torch_backend = open_masknet(built, backend="onnx"), open_masknet(built, backend="torch")
    assert onnx.song_wide and torch_backend.song_wide
    first, second = onnx.separate(song), torch_backend.separate(song)
    assert max(np.abs(first[name].samples - second[name].samples).max() for name in first) < 1e-4
    np.testing.assert_allclose(sum(clip.samples for clip in first.values()), song.samples, atol=1e-4)


def test_each_chunk_gets_the_frame_weighted_song_context(built):
    separator = open_masknet(built, backend="onnx")
    rng = np.random.default_rng(0)
    chunks = [rng.random((2, CONFIG.bins, frames), dtype=np.float32) ** 3 for frames in (50, 50, 20)]
    context = SongContext(separator)
    with pytest.raises(RuntimeError, match="no chunk of the song was heard"):
        context.masks(0)
    for magnitude in chunks:
        context.hear(magnitude)
    outputs = [separator.run_network(magnitude) for magnitude in chunks]
    song_offsets = sum(out["song_offsets"] * m.shape[-1] for out, m in zip(outputs, chunks, strict=True)) / 120
    for index, out in enumerate(outputs):
        expected = separator.song_masks(out["band_logits"], song_offsets.astype(np.float32))
        np.testing.assert_allclose(context.masks(index), expected, atol=1e-6)
        np.testing.assert_array_equal(context.masks(index), context.masks(index))  # asked for once per pass


def test_a_song_within_one_chunk_is_separated_as_before_and_a_longer_one_as_if_heard_whole(model, network, song,
                                                                                         tmp_path):
    import shutil

    whole_folder = shutil.copytree(model, tmp_path / "whole")
    manifest = load_manifest(whole_folder)
    write_manifest(whole_folder, replace(manifest, config=dict(manifest.config, chunk_seconds=60.0)))
    heard_whole = open_masknet(whole_folder, backend="onnx").separate(song)  # the whole song in one chunk
    wide = open_masknet(model, backend="onnx")
    old = open_masknet(as_chunk_graph(model, network), backend="onnx")
    assert wide.song_wide and not old.song_wide and wide.wiener
    short = AudioClip(song.samples[:, : 3 * RATE], RATE)
    np.testing.assert_allclose(wide.separate(short)["piano"].samples, old.separate(short)["piano"].samples,
                               atol=1e-4)  # softmax in numpy or in the graph: ~1e-6 apart, which the filter amplifies
    chunked_wide, chunked_old = wide.separate(song), old.separate(song)
    inside = np.r_[int(0.5 * RATE):int(2.5 * RATE), int(4.5 * RATE):int(5.5 * RATE), int(7.5 * RATE):int(8.5 * RATE)]

    def distance(stems):  # away from the chunks' ends, whose frames see padding
        return sum(np.abs(stems[name].samples[:, inside] - heard_whole[name].samples[:, inside]).mean()
                   for name in stems)

    assert distance(chunked_wide) < 0.1 * distance(chunked_old)
    np.testing.assert_allclose(sum(clip.samples for clip in chunked_wide.values()), song.samples, atol=1e-4)


def test_the_song_pass_reports_progress_and_can_be_cancelled(built, song):
    separator = open_masknet(built, backend="onnx")
    reports = []
    separator.separate(song, progress=lambda fraction, message: reports.append((fraction, message)))
    fractions = [fraction for fraction, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    passes = [message.split(":")[0] for _, message in reports]
    assert passes == ["listening"] * 3 + ["stereo images"] * 3 + ["filtering"] * 3
    calls = []
    with pytest.raises(CancelledError):
        separator.separate(song, cancel=lambda: calls.append(1) or len(calls) > 1)
    assert len(calls) == 2  # stopped during the song pass, after its first chunk


def test_the_song_wide_form_is_its_own_cache_entry(model, network, song, tmp_path):
    wide = CachedSeparator(open_masknet(model, backend="onnx"), root=tmp_path / "cache")
    wide.separate(song)
    again = CachedSeparator(open_masknet(model, backend="onnx"), root=tmp_path / "cache")
    again.separate(song)
    assert again.hits == 1
    old = CachedSeparator(open_masknet(as_chunk_graph(model, network), backend="onnx"), root=tmp_path / "cache")
    assert old.version == wide.version
    old.separate(song)
    assert old.hits == 0


def test_song_wide_outputs_without_a_song_context_name_the_manifest(model):
    manifest = load_manifest(model)
    config = dict(manifest.config, song_context=False)
    write_manifest(model, replace(manifest, config=config))
    with pytest.raises(ModelError, match=r"manifest\.json: outputs band_logits, song_offsets need a song-context"):
        open_masknet(model, backend="onnx")


def test_re_exporting_a_chunk_graph_folder_makes_it_song_wide_and_keeps_the_rest(model, network, song):
    as_chunk_graph(model, network)
    manifest = load_manifest(model)
    write_manifest(model, replace(manifest, metrics={**manifest.metrics, "test_sdr_mean_db": 5.0}))
    before = open_masknet(model, backend="onnx").separate(AudioClip(song.samples[:, : 3 * RATE], RATE))
    result = subprocess.run([sys.executable, "-m", "musicsim_gui", "export", "separator-graph", str(model),
                             "--version", "1.1", "--note", "Song-wide context."],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "graph outputs band_logits, song_offsets" in result.stdout
    updated = load_manifest(model, verify=True)
    assert tuple(updated.outputs) == SONG_WIDE_OUTPUTS and updated.version == "1.1"
    assert updated.config["stem_priors"] == {"drums": 0.8} and updated.config["chunk_seconds"] == 4.0
    assert [entry["version"] for entry in updated.config["history"]] == ["1.0", "1.1"]
    assert "test_sdr_mean_db" not in updated.metrics
    assert "Song-wide context." in (model / "MODEL_CARD.md").read_text()
    after = open_masknet(model, backend="torch").separate(AudioClip(song.samples[:, : 3 * RATE], RATE))
    assert max(np.abs(after[name].samples - before[name].samples).max() for name in before) < 1e-4


def test_re_exporting_from_the_graph_alone_keeps_the_weights(model, song, tmp_path):
    manifest = load_manifest(model)
    (model / "weights.safetensors").unlink()
    write_manifest(model, replace(manifest, files={"model.onnx": manifest.files["model.onnx"]}))
    before = open_masknet(model, backend="onnx").separate(song)
    out = reexport_folder(model, tmp_path / "copy")
    assert "weights.safetensors" not in out.files
    assert json.loads((tmp_path / "copy" / "manifest.json").read_text())["version"] == "1.0"
    after = open_masknet(tmp_path / "copy", backend="torch").separate(song)
    assert max(np.abs(after[name].samples - before[name].samples).max() for name in before) < 1e-4


def test_stem_priors_fitted_on_a_song_wide_separator_score_as_it_separates(model, tmp_path):
    from separation_support import write_corpus

    from musicsim_gui.evaluation.separation import corpus_songs, evaluate
    from musicsim_gui.training.separation.stem_priors import fit_stem_priors, install_stem_priors

    songs = corpus_songs(write_corpus(tmp_path / "corpus", {"valid": 2}, seconds=9.0) / "valid")  # 3 chunks each
    fit = fit_stem_priors(model, songs, seconds=None, log=lambda _line: None)
    assert fit.after["mean"] >= fit.before["mean"] and fit.trials > 6
    install_stem_priors(model, fit, "corpus/valid")
    separator = open_masknet(model, backend="onnx")
    assert separator.song_wide
    scored = evaluate({"builtin": separator}, songs, seconds=None, oracle=False, log=lambda _line: None)
    # The priors fold into the logits here and multiply the masks in the fit: equal up to float32 rounding,
    # which the SDR's Toeplitz solve magnifies on these near-pure-tone references (up to ~1e-3 dB measured).
    assert fit.after["mean"] - fit.before["mean"] > 0.1
    assert scored.summary("sdr")["builtin"]["mean"] == pytest.approx(fit.after["mean"], abs=5e-3)


def test_power_and_priors_fold_into_the_band_logits_only_where_every_band_shares_its_weight(built):
    from musicsim_gui.separation.builtin import band_log_weights

    separator = open_masknet(built, backend="onnx")
    separator.mask_power = 2.0
    bins = CONFIG.bins
    per_bin = np.ones((4, bins), dtype=np.float32)
    per_bin[1, :CONFIG.full_bins // 2] = 0.5          # a region edge among the individual bins: foldable
    per_bin[3, CONFIG.full_bins:] = 2.0
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((2, 4, int(separator.expand_index.max()) + 1, 30)).astype(np.float32)
    offsets = rng.standard_normal(logits.shape[:3]).astype(np.float32)
    separator.stem_priors = per_bin
    assert separator.band_log_priors is not None
    folded = separator.song_masks(logits, offsets)
    unfolded = separator.post_filter(np.take(softmax(logits + offsets[..., None]), separator.expand_index, axis=2))
    np.testing.assert_allclose(folded, unfolded, atol=1e-6)
    straddled = per_bin.copy()
    straddled[2, -1] = 3.0                               # the top band's bins no longer agree
    assert band_log_weights(straddled, separator.expand_index) is None
    separator.stem_priors = straddled
    unfolded = separator.post_filter(np.take(softmax(logits + offsets[..., None]), separator.expand_index, axis=2))
    np.testing.assert_allclose(separator.song_masks(logits, offsets), unfolded, atol=1e-6)


def softmax(logits):
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)
