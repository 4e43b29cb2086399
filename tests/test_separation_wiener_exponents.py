"""Per-stem exponents of the built-in separator's Wiener filter: fitting on songs, storing, loading, CLI."""

from __future__ import annotations

import json
import shutil

import pytest
from separation_support import trained_debug_model, write_corpus

from musicsim_gui.cli.main import main
from musicsim_gui.evaluation.separation import corpus_songs, evaluate
from musicsim_gui.runtime.manifest import load_manifest
from musicsim_gui.separation.builtin import open_masknet
from musicsim_gui.training.separation.wiener_exponents import fit_wiener_exponents, install_wiener_exponents


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"), {"train": 2, "valid": 2}, seconds=3.0)


@pytest.fixture(scope="module")
def model(corpus, tmp_path_factory):
    return trained_debug_model(tmp_path_factory.mktemp("exponents"), corpus)


def test_fitted_exponents_are_stored_and_the_separator_scores_what_the_fit_promised(model, corpus, tmp_path):
    folder = shutil.copytree(model, tmp_path / "model")
    songs = corpus_songs(corpus / "valid")
    fit = fit_wiener_exponents(folder, songs, seconds=None, min_gain_db=0.0, log=lambda _line: None)
    assert list(fit.exponents) == ["bass", "drums", "piano", "other"]
    assert fit.after["mean"] > fit.before["mean"] and fit.trials > 8     # random weights: some exponent helps
    assert any(value != 1.0 for value in fit.exponents.values())
    manifest = install_wiener_exponents(folder, fit, "corpus/valid", version="9.2", note="Exponents fitted.")
    assert manifest.config["wiener_exponents"] == fit.exponents and manifest.version == "9.2"
    assert manifest.config["wiener_exponents_fit"]["songs"] == 2
    assert "test_sdr_mean_db" not in manifest.metrics                    # measured without them: removed
    card = (folder / "MODEL_CARD.md").read_text()
    assert "with e = 1 except" in card and "**9.2.** Exponents fitted." in card
    load_manifest(folder, verify=True)                                   # the model's files are untouched

    separator = open_masknet(folder, backend="onnx")
    assert separator.settings.power_exponents == tuple(fit.exponents.values())
    scored = evaluate({"builtin": separator}, songs, seconds=None, oracle=False, log=lambda _line: None)
    assert scored.summary("sdr")["builtin"]["mean"] == pytest.approx(fit.after["mean"], abs=5e-3)


def test_cli_fits_and_stores_or_only_reports_on_dry_run(model, corpus, tmp_path, capsys):
    folder = shutil.copytree(model, tmp_path / "model")
    before = (folder / "manifest.json").read_text()
    args = ["export", "wiener-exponents", str(folder), "--data", str(corpus / "valid"), "--seconds", "0"]
    assert main([*args, "--songs", "1", "--dry-run"]) == 0
    assert "Wiener exponents bass" in capsys.readouterr().out
    assert (folder / "manifest.json").read_text() == before
    assert main([*args, "--min-gain", "0"]) == 0
    assert "re-run musicsim eval separation --record" in capsys.readouterr().out
    assert set(json.loads((folder / "manifest.json").read_text())["config"]["wiener_exponents"]) == {
        "bass", "drums", "piano", "other"}
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["config"]["wiener"] = False
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert main([*args]) == 2
    assert "has no Wiener filter" in capsys.readouterr().err
