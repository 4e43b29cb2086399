"""`musicsim eval generation` end to end on a tiny corpus made here: report.md, results.json, plots, HE."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from musicsim_gui.core.instruments import INSTRUMENTS
from musicsim_gui.core.ratings import RatingStore
from musicsim_gui.evaluation.report import human_results

RATE = 22050


def make_song(folder, seed: int, seconds: float = 4.0) -> None:
    """Stems: a tone per instrument at a song-specific pitch plus a little noise; mix = their sum."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    stems = {name: (0.1 * np.sin(2 * np.pi * (110 + 40 * seed) * (i + 1) * t)
                    + 0.01 * rng.standard_normal(t.size)).astype(np.float32) for i, name in enumerate(INSTRUMENTS)}
    for name, audio in [("mix", sum(stems.values()) * 0.25), *stems.items()]:
        sf.write(folder / f"{name}.flac", np.stack([audio, audio], 1), RATE)
    (folder / "meta.json").write_text(json.dumps({"tempo_bpm": 100.0 + 10 * seed}))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    for index in range(3):
        make_song(root / "test" / f"song_{index}", index)
    return root


def _run(*args):
    return subprocess.run([sys.executable, "-m", "musicsim_gui", "eval", "generation", *args],
                          capture_output=True, text=True, timeout=120)


def test_report_has_table_plots_json_and_human_results(corpus, tmp_path):
    db = tmp_path / "ratings.sqlite"
    with RatingStore(db) as store:
        for fooled in (True, False, True, True):
            store.add_blind_trial("vit-wavegan-debug", "0-random", "bass", "g.wav", "r.wav", fooled)
        store.add_blind_trial("other-model", "1", "bass", "g.wav", "r.wav", True)
    out = tmp_path / "report"
    result = _run("--models", "vit-wavegan-debug", "--data", str(corpus / "test"), "--out", str(out),
                  "--seconds", "2", "--offset", "0", "--fad-inf", "--ratings", str(db), "--seed", "3")
    assert result.returncode == 0, result.stderr
    data = json.loads((out / "results.json").read_text())
    assert data["models"]["vit-wavegan-debug"]["id"] == "vit-wavegan-debug"
    assert data["models"]["vit-wavegan-debug"]["version"] == "0-random"
    assert data["songs"] == 3 and data["seed"] == 3 and data["generation_seeds"] == [3, 4, 5]
    assert data["embedding_name"] == "offline" and data["segments_per_set"] == 6
    assert set(data["fad"]) == set(data["fad_inf"]) == {"vit-wavegan-debug", "shuffled real", "white noise",
                                                         "pink noise"}
    assert data["fad"]["white noise"]["mean"] > data["fad"]["shuffled real"]["mean"] > 0
    assert data["timings_s"]["total"] > 0 and "--fad-inf" in data["command"]
    report = (out / "report.md").read_text()
    assert report.splitlines()[0] == "# Generation evaluation" and "--fad-inf" in report
    assert "--data CORPUS" in report and str(corpus) not in report  # no path of the machine that scored it
    assert "CORPUS: a folder made by `musicsim corpus make`" in report
    assert data["corpus"] == str(corpus.resolve())
    assert "NOT comparable with VGGish" in report and "FAD∞" in report
    row = next(line for line in report.splitlines() if line.startswith("| vit-wavegan-debug | "))
    assert f"{data['fad']['vit-wavegan-debug']['mean']:.2f}" in row
    assert data["human"]["vit-wavegan-debug"]["bass"]["trials"] == 4
    assert "75 % [" in row and "(n=4)" in row and "n/a" in report  # no trials for the other instruments
    assert (out / "eval_plots.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(data["variety"]) == {"vit-wavegan-debug", "real, another section"}
    assert all(value >= 0 for row in data["variety"].values() for value in row.values())
    assert "## Variety per instrument" in report
    parts = data["fad_parts"]["vit-wavegan-debug"]
    assert set(parts["mean"]) == {"offset", "log-mel mean", "log-mel std", "MFCC mean", "MFCC std", "contrast", "flux"}
    assert all(0 <= parts[i]["offset"] <= data["fad"]["vit-wavegan-debug"][i] + 1e-9 for i in parts)
    assert "## Where the FAD comes from" in report
    parts_row = next(line for line in report.splitlines() if line.startswith("| vit-wavegan-debug | mean | "))
    assert f"{parts['mean']['contrast']:.2f}" in parts_row


def test_same_seed_gives_same_numbers(corpus):
    from musicsim_gui.generation.base import get_generator
    from musicsim_gui.training.vit_wavegan.evaluate import evaluate

    first, second = (evaluate(corpus, {"debug": get_generator("vit-wavegan-debug")}, songs=2, seconds=2.0,
                              offset=0.0, log=lambda m: None, seed=7) for _ in range(2))
    assert first["fad"] == second["fad"] and first["mse"] == second["mse"] and first["match"] == second["match"]
    assert first["variety"] == second["variety"]


def test_variety_is_zero_for_one_take_and_one_for_another_songs_part():
    from musicsim_gui.training.vit_wavegan.evaluate import _variety

    rng = np.random.default_rng(0)
    songs, segments = 5, 4
    centres = rng.standard_normal((songs, 1, 8)) * 3
    real = (centres + rng.standard_normal((songs, segments, 8)) * 0.1).reshape(songs * segments, 8)
    assert _variety(real, real, real, songs) == 0.0
    another_song = np.roll(real.reshape(songs, segments, 8), 1, axis=0).reshape(songs * segments, 8)
    assert 0.8 < _variety(real, real, another_song, songs) < 1.3


def test_human_results_pool_instruments_and_match_version(tmp_path):
    db = tmp_path / "r.sqlite"
    with RatingStore(db) as store:
        for instrument, fooled in (("bass", True), ("drums", False), ("drums", True)):
            store.add_blind_trial("m", "2", instrument, "g", "r", fooled)
        store.add_blind_trial("m", "1", "bass", "g", "r", False)
    he = human_results(db, {"M": {"id": "m", "version": "2"}, "X": {"id": "x", "version": ""}})
    assert he["M"]["all"]["trials"] == 3 and he["M"]["all"]["rate"] == pytest.approx(2 / 3)
    assert he["M"]["bass"]["fooled"] == 1 and he["M"]["piano"]["rate"] is None
    assert he["X"]["all"]["trials"] == 0
    assert not (tmp_path / "absent.sqlite").exists() and human_results(tmp_path / "absent.sqlite", {}) == {}


def test_vggish_without_weights_is_a_clear_error(corpus, tmp_path):
    result = _run("--models", "vit-wavegan-debug", "--data", str(corpus), "--embedding", "vggish")
    assert result.returncode == 2 and "--vggish-weights" in result.stderr


def test_model_names_expand_all_to_registered_generators():
    from musicsim_gui.cli.cmd_eval_generation import model_names
    from musicsim_gui.generation.base import available_generators

    assert model_names("a, b", ["c"]) == ["a", "b", "c"]
    expanded = model_names("all", None)
    assert set(expanded) == set(available_generators()) and "vit-wavegan-debug" in expanded


def test_vggish_embedding_labels_the_report(corpus, tmp_path):
    import torch

    from musicsim_gui.evaluation.embedders import make_embedder
    from musicsim_gui.evaluation.report import write_report
    from musicsim_gui.evaluation.vggish import build_vggish
    from musicsim_gui.generation.base import get_generator
    from musicsim_gui.training.vit_wavegan.evaluate import evaluate

    torch.manual_seed(0)
    weights = tmp_path / "vggish.pt"
    torch.save(build_vggish().state_dict(), weights)
    embedder = make_embedder("vggish", weights)
    result = evaluate(corpus, {"debug": get_generator("vit-wavegan-debug")}, songs=2, seconds=1.0, offset=0.0,
                      log=lambda m: None, embedder=embedder)
    assert result["embedding_name"] == "vggish" and not result["standardised"]
    assert result["segments_per_set"] == 2 and result["fad"]["white noise"]["mean"] > 0
    report = write_report(result, tmp_path / "out", "musicsim eval generation ...", tmp_path / "none.sqlite")
    text = report.read_text()
    assert "**Embedding: VGGish (vggish.pt" in text and "NOT comparable" not in text
    assert "FAD per instrument (embedding: vggish)" in text and "| debug | " in text


def test_params_parse_json_values_and_reach_the_settings(corpus):
    from musicsim_gui.cli.cmd_eval_generation import parse_params
    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.training.vit_wavegan.evaluate import _generate

    assert parse_params(["mode=audio", "prompt_seconds=0", "top_k=50.5"]) == {
        "mode": "audio", "prompt_seconds": 0, "top_k": 50.5}
    with pytest.raises(MusicSimError):
        parse_params(["novalue"])
    from musicsim_gui.audio.io import load_audio
    from musicsim_gui.generation.base import get_generator

    mix = load_audio(corpus / "test" / "song_0" / "mix.flac")
    takes = _generate(get_generator("vit-wavegan-debug"), mix, 0, 1.0, {"seconds": 1.5})
    assert set(takes) == set(INSTRUMENTS) and takes["bass"].shape == (24000,)


def test_takes_are_scored_as_the_studio_gets_them(corpus):
    """Takes are made at the generator's own output rate and only then converted to 16 kHz, like the real stems."""
    from musicsim_gui.generation.base import get_generator
    from musicsim_gui.generation.vit_wavegan.generator import DEFAULT_OUTPUT_RATE
    from musicsim_gui.training.vit_wavegan.evaluate import evaluate

    generator = get_generator("vit-wavegan-debug")
    made = []
    original = generator.generate

    def recording(request, *args, **kwargs):
        takes = original(request, *args, **kwargs)
        made.extend(take.clip.sample_rate for take in takes)
        return takes

    generator.generate = recording
    evaluate(corpus, {"debug": generator}, songs=2, seconds=2.0, offset=0.0, log=lambda m: None)
    assert made and set(made) == {DEFAULT_OUTPUT_RATE}


def test_takes_are_scored_over_the_real_stems_span_of_the_song(corpus):
    """A take runs on the song's timeline from 0 s: it is made `offset + seconds` long and scored from `offset`,
    where the real stems are taken; the older protocol scored its first `seconds`."""
    from musicsim_gui.evaluation import generation as metrics
    from musicsim_gui.evaluation.report import _takes_sentence
    from musicsim_gui.generation.base import get_generator
    from musicsim_gui.generation.vit_wavegan.features import to_model_audio
    from musicsim_gui.training.vit_wavegan.dataset import song_folders
    from musicsim_gui.training.vit_wavegan.evaluate import _candidates, evaluate

    generator = get_generator("vit-wavegan-debug")
    made = []
    original = generator.generate

    def recording(request, *args, **kwargs):
        takes = original(request, *args, **kwargs)
        made.append((request.params["seconds"], {t.instrument: to_model_audio(t.clip, metrics.RATE) for t in takes}))
        return takes

    generator.generate = recording
    folders = song_folders(corpus, "test")[:2]
    for aligned, length, start in ((True, 3.0, 1.0), (False, 2.0, 0.0)):
        made.clear()
        systems, _ = _candidates(folders, {"debug": generator}, 2.0, 1.0, lambda m: None, aligned=aligned)
        assert made[0][0] == length and len(made) == 4              # two songs, a second take each for variety
        first = made[0][1]["bass"][int(start * metrics.RATE): int((start + 2.0) * metrics.RATE)]
        real = systems["real"]["bass"][0]
        np.testing.assert_allclose(systems["debug"]["bass"][0], metrics.match_rms(first, real), atol=1e-6)
    result = evaluate(corpus, {"debug": generator}, songs=2, seconds=2.0, offset=1.0, log=lambda m: None)
    assert result["takes_aligned"] is True
    assert "scored over the same span as the real stems (1-3 s)" in _takes_sentence(result)
    assert "first 2 s" in _takes_sentence({**result, "takes_aligned": False})


def test_corpus_placeholder_covers_both_spellings_and_nothing_else():
    from musicsim_gui.cli.cmd_eval_generation import corpus_as_placeholder

    assert corpus_as_placeholder(["eval", "generation", "--data", "/x/c", "--out", "/x/o"]) == [
        "eval", "generation", "--data", "CORPUS", "--out", "/x/o"]
    assert corpus_as_placeholder(["--data=/x/c", "--seed", "3"]) == ["--data=CORPUS", "--seed", "3"]
