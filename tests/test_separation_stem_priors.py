"""Per-stem prior weights of the built-in separator: reweighting, fitting on songs, storing, loading, CLI."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
from separation_support import trained_debug_model, write_corpus

from musicsim_gui.cli.main import main
from musicsim_gui.core.errors import ModelError, MusicSimError
from musicsim_gui.evaluation.separation import corpus_songs, evaluate
from musicsim_gui.runtime.manifest import load_manifest, write_manifest
from musicsim_gui.separation.builtin import open_masknet, reweight_masks, stem_prior_weights
from musicsim_gui.training.separation.stem_priors import fit_stem_priors, install_stem_priors


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"), {"train": 2, "valid": 2}, seconds=3.0)


@pytest.fixture(scope="module")
def model(corpus, tmp_path_factory):
    return trained_debug_model(tmp_path_factory.mktemp("priors"), corpus)


def test_reweighting_keeps_masks_summing_to_one_and_moves_them_toward_heavier_stems():
    rng = np.random.default_rng(0)
    masks = rng.random((2, 4, 9, 5)).astype(np.float32)
    masks /= masks.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(reweight_masks(masks, np.ones(4, np.float32)), masks, atol=1e-6)
    heavier = reweight_masks(masks, np.array([4.0, 1, 1, 1], np.float32))
    np.testing.assert_allclose(heavier.sum(axis=1), 1.0, atol=1e-5)
    assert (heavier[:, 0] > masks[:, 0]).all() and (heavier[:, 1:] < masks[:, 1:]).all()


def test_priors_in_a_manifest_are_checked():
    stems = ("bass", "drums", "piano", "other")
    assert stem_prior_weights(None, stems) is None
    np.testing.assert_array_equal(stem_prior_weights({"piano": 2.0}, stems), [1, 1, 2, 1])
    with pytest.raises(ModelError, match="positive weight per stem"):
        stem_prior_weights({"piano": -1.0}, stems)
    with pytest.raises(ModelError, match="vocals is not a stem"):
        stem_prior_weights({"vocals": 2.0}, stems)


def test_per_region_priors_give_each_bin_its_regions_weight():
    stems = ("bass", "drums", "piano", "other")
    frequencies = np.array([0.0, 100.0, 249.9, 250.0, 999.0, 1000.0, 5000.0])
    weights = stem_prior_weights({"drums": [0.5, 2.0, 4.0], "other": 3.0}, stems, [250.0, 1000.0], frequencies)
    assert weights.shape == (4, 7) and weights.dtype == np.float32
    np.testing.assert_array_equal(weights[1], [0.5, 0.5, 0.5, 2.0, 2.0, 4.0, 4.0])
    np.testing.assert_array_equal(weights[3], 3.0)  # one number: the same in every region
    np.testing.assert_array_equal(weights[0], 1.0)  # not named: 1
    with pytest.raises(ModelError, match="one per frequency region"):
        stem_prior_weights({"drums": [0.5, 2.0]}, stems, [250.0, 1000.0], frequencies)
    with pytest.raises(ModelError, match="one per frequency region"):
        stem_prior_weights({"drums": [0.5, 0.0, 1.0]}, stems, [250.0, 1000.0], frequencies)
    with pytest.raises(ModelError, match="ascending positive"):
        stem_prior_weights({"drums": [0.5, 1.0, 1.0]}, stems, [1000.0, 250.0], frequencies)
    with pytest.raises(ModelError, match="positive weight per stem"):  # a list without regions
        stem_prior_weights({"drums": [0.5, 1.0]}, stems)

    rng = np.random.default_rng(1)
    masks = rng.random((2, 4, 7, 3)).astype(np.float32)
    masks /= masks.sum(axis=1, keepdims=True)
    out = reweight_masks(masks, weights)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    # a bin's masks are those of one weight per stem equal to that bin's column
    np.testing.assert_allclose(out[..., 6:7, :], reweight_masks(masks[..., 6:7, :], weights[:, 6]), atol=1e-6)


def test_fitted_priors_are_stored_and_the_separator_scores_what_the_fit_promised(model, corpus, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    songs = corpus_songs(corpus / "valid")
    fit = fit_stem_priors(folder, songs, seconds=None, log=lambda _line: None)
    assert list(fit.weights) == ["bass", "drums", "piano", "other"] and fit.weights["bass"] == 1.0
    assert fit.after["mean"] >= fit.before["mean"] and fit.trials > 6
    manifest = install_stem_priors(folder, fit, "corpus/valid")
    assert manifest.config["stem_priors"] == fit.weights
    assert "test_sdr_mean_db" not in manifest.metrics  # measured without the priors: removed, not left stale
    card = (folder / "MODEL_CARD.md").read_text()
    assert "Stem priors:" in card and f"{fit.before['mean']:.2f} → {fit.after['mean']:.2f}" in card
    load_manifest(folder, verify=True)  # the model's files are untouched: hashes still hold

    separator = open_masknet(folder, backend="onnx")
    np.testing.assert_allclose(separator.stem_priors, list(fit.weights.values()), rtol=1e-6)
    scored = evaluate({"builtin": separator}, songs, seconds=None, oracle=False, log=lambda _line: None)
    assert scored.summary("sdr")["builtin"]["mean"] == pytest.approx(fit.after["mean"], abs=1e-3)


def test_per_region_priors_are_fitted_stored_and_score_what_the_fit_promised(model, corpus, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    songs = corpus_songs(corpus / "valid")
    lines: list[str] = []
    fit = fit_stem_priors(folder, songs, seconds=None, edges_hz=(300, 3000), min_gain_db=0.0, log=lines.append)
    assert fit.edges_hz == [300.0, 3000.0] and fit.weights["bass"] == [1.0, 1.0, 1.0]
    assert all(len(weights) == 3 for weights in fit.weights.values())
    assert fit.after["mean"] >= fit.before["mean"] and fit.trials > 18
    manifest = install_stem_priors(folder, fit, "corpus/valid")
    assert manifest.config["stem_prior_edges_hz"] == [300.0, 3000.0]
    card = (folder / "MODEL_CARD.md").read_text()
    assert "per frequency region (below 300 Hz, 300-3000 Hz, above 3000 Hz)" in card

    separator = open_masknet(folder, backend="onnx")
    assert separator.stem_priors.shape == (4, separator.config.bins)
    scored = evaluate({"builtin": separator}, songs, seconds=None, oracle=False, log=lambda _line: None)
    assert scored.summary("sdr")["builtin"]["mean"] == pytest.approx(fit.after["mean"], abs=1e-3)

    whole = fit_stem_priors(folder, songs, seconds=None, log=lambda _line: None)  # back to one weight per stem
    assert "stem_prior_edges_hz" not in install_stem_priors(folder, whole, "corpus/valid").config
    assert open_masknet(folder, backend="onnx").stem_priors.shape == (4,)
    with pytest.raises(MusicSimError, match="ascending positive"):
        fit_stem_priors(folder, songs, edges_hz=(3000, 300))


def test_priors_change_the_stems_which_still_add_up_to_the_mix(model, corpus, tmp_path):
    from musicsim_gui.evaluation.separation import load_excerpt

    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    mix = load_excerpt(corpus_songs(corpus / "valid")[0], None).mix
    plain = open_masknet(folder, backend="onnx").separate(mix)
    manifest = load_manifest(folder)
    write_manifest(folder, replace(manifest, config=dict(manifest.config, stem_priors={"drums": 8.0})))
    weighted = open_masknet(folder, backend="onnx").separate(mix)
    energy = {name: float(np.sum(clip.samples ** 2)) for name, clip in weighted.items()}
    assert energy["drums"] > 1.2 * float(np.sum(plain["drums"].samples ** 2))
    np.testing.assert_allclose(sum(clip.samples for clip in weighted.values()), mix.samples, atol=1e-4)


def test_cli_fits_and_stores_or_only_reports_on_dry_run(model, corpus, tmp_path, capsys):
    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    before = (folder / "manifest.json").read_text()
    assert main(["export", "stem-priors", str(folder), "--data", str(corpus / "valid"), "--seconds", "0",
                 "--songs", "1", "--dry-run"]) == 0
    assert "mean SDR" in capsys.readouterr().out
    assert (folder / "manifest.json").read_text() == before
    assert main(["export", "stem-priors", str(folder), "--data", str(corpus / "valid"), "--seconds", "0",
                 "--version", "9.1", "--note", "Priors fitted."]) == 0
    assert "re-run musicsim eval separation --record" in capsys.readouterr().out
    stored = json.loads((folder / "manifest.json").read_text())["config"]
    assert set(stored["stem_priors"]) == {"bass", "drums", "piano", "other"}
    assert stored["stem_prior_edges_hz"] == [250.0, 1000.0, 4000.0]  # the default regions
    assert stored["stem_priors_fit"]["songs"] == 2
    assert json.loads((folder / "manifest.json").read_text())["version"] == "9.1"
    assert stored["history"][-1] == {"version": "9.1", "text": "Priors fitted."}
    assert "**9.1.** Priors fitted." in (folder / "MODEL_CARD.md").read_text()
    assert main(["export", "stem-priors", str(tmp_path / "missing"), "--data", str(corpus / "valid")]) == 2
    assert main(["export", "stem-priors", str(folder), "--data", str(corpus / "valid"), "--regions", "1000,250"]) == 2
    assert "positive and ascending" in capsys.readouterr().err


def test_changed_priors_are_not_served_from_the_cache_of_the_same_version(model, corpus, tmp_path):
    from musicsim_gui.evaluation.separation import load_excerpt
    from musicsim_gui.separation.cache import CachedSeparator

    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    mix = load_excerpt(corpus_songs(corpus / "valid")[0], None).mix
    plain = CachedSeparator(open_masknet(folder, backend="onnx"), root=tmp_path / "cache")
    first = plain.separate(mix)
    assert plain.separate(mix)["drums"].samples.tobytes() == first["drums"].samples.tobytes() and plain.hits == 1
    manifest = load_manifest(folder)
    write_manifest(folder, replace(manifest, config=dict(manifest.config, stem_priors={"drums": 8.0})))
    weighted = CachedSeparator(open_masknet(folder, backend="onnx"), root=tmp_path / "cache")
    assert weighted.version == plain.version
    stems = weighted.separate(mix)
    assert weighted.hits == 0
    assert np.sum(stems["drums"].samples ** 2) > 1.2 * np.sum(first["drums"].samples ** 2)


def test_a_model_folder_of_another_kind_or_with_bad_priors_is_named_in_the_error(model, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    manifest = load_manifest(folder)
    write_manifest(folder, replace(manifest, config=dict(manifest.config, stem_priors={"piano": 0.0})))
    with pytest.raises(ModelError, match=r"manifest\.json: stem_priors .* positive weight"):
        open_masknet(folder, backend="onnx")
    write_manifest(folder, replace(manifest, family="vit-wavegan"))
    with pytest.raises(MusicSimError, match="not a mask-network separator"):
        open_masknet(folder, backend="onnx")


def test_card_says_when_stem_priors_were_fitted_for_an_earlier_version_and_kept():
    from musicsim_gui.training.separation.model_card import _stem_priors

    figures = {"sdr_before": {"other": 2.5, "mean": 6.04}, "sdr_after": {"other": 2.9, "mean": 6.14}}
    config = {"stem_priors": {"other": 0.55}, "stem_priors_fit": {"data": "corpus/valid", "songs": 16, **figures}}
    fitted = _stem_priors(config, ("bass", "drums", "piano", "other"))
    assert "Fitted on 16 songs of corpus/valid (mean SDR 6.04 → 6.14 dB: other 2.50 → 2.90)." in fitted
    config["stem_priors_fit"]["kept_from"] = "2.5"
    kept = _stem_priors(config, ("bass", "drums", "piano", "other"))
    assert ("Fitted for 2.5 on 16 songs of corpus/valid and kept; with this version's weights there "
            "(mean SDR 6.04 → 6.14 dB" in " ".join(kept.split()))
