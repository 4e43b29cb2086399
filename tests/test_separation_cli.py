"""Smoke tests of `musicsim separate`, `models`, `eval separation` and `train separator` (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
from separation_support import build_debug_model, synthetic_stems, write_corpus

from musicsim_gui.runtime.manifest import file_sha256, load_manifest, write_manifest


def musicsim(*args, env=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "musicsim_gui", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    path = tmp_path_factory.mktemp("song") / "song.wav"
    sf.write(path, sum(synthetic_stems(3.0, 44100, 3).values()).T, 44100, subtype="PCM_24")
    return path


def test_separate_with_dsp_writes_four_stems(song, tmp_path):
    result = musicsim("separate", song, "-o", tmp_path / "stems", "--model", "dsp")
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "stems").iterdir())
    assert names == ["bass.wav", "drums.wav", "other.wav", "piano.wav"]
    mix, _ = sf.read(song)
    total = sum(sf.read(tmp_path / "stems" / n)[0] for n in names)
    assert np.abs(total - mix).max() < 1e-3
    assert "real time" in result.stderr


def test_separate_with_a_debug_model_and_list_it(song, tmp_path):
    data = tmp_path / "data"
    build_debug_model(data / "models" / "separation-debug")
    env = {"MUSICSIM_DATA_DIR": str(data)}
    result = musicsim("separate", song, "-o", tmp_path / "a", "--model", "separation-debug", "--format", "flac",
                      env=env)
    assert result.returncode == 0, result.stderr
    assert "onnxruntime:CPUExecutionProvider" in result.stderr
    assert len(list((tmp_path / "a").glob("*.flac"))) == 4
    listing = musicsim("models", "list", env=env)
    assert "separation-debug" in listing.stdout and "MIT" in listing.stdout


def test_separate_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF nonsense")
    result = musicsim("separate", bad, "-o", tmp_path / "out")
    assert result.returncode == 2 and result.stderr.startswith("musicsim: error:")
    assert "bad.wav" in result.stderr and "Traceback" not in result.stderr


def test_models_pull_offline_says_so(tmp_path):
    unreachable = {"https_proxy": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
                   "MUSICSIM_DATA_DIR": str(tmp_path)}
    result = musicsim("models", "pull", "spleeter-4stems", env=unreachable)
    assert result.returncode == 2
    assert "cannot reach github.com" in result.stderr and "offline" in result.stderr
    unknown = musicsim("models", "pull", "nope", env=unreachable)
    assert unknown.returncode == 2 and "no published model named 'nope'" in unknown.stderr


def test_eval_and_train_separator(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"train": 2, "valid": 1, "test": 1}, seconds=3.0)
    result = musicsim("train", "separator", "--corpus", corpus, "--run-dir", tmp_path / "run", "--steps", 4,
                      "--val-every", 2, "--tiny", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "trained to step 4" in result.stdout and (tmp_path / "run" / "best.safetensors").is_file()
    unsaved = musicsim("train", "separator", "--corpus", corpus, "--run-dir", tmp_path / "run2", "--tiny",
                       "--note", "a note with nowhere to go")
    assert unsaved.returncode == 2 and "add --export DIR" in unsaved.stderr and not (tmp_path / "run2").exists()
    too_short = musicsim("train", "separator", "--corpus", corpus, "--run-dir", tmp_path / "run3", "--tiny",
                         "--segment-seconds", 0.02, "--no-progress")
    assert too_short.returncode == 2 and "--segment-seconds 0.02: an example must span" in too_short.stderr
    assert not (tmp_path / "run3").exists()
    short_chunk = musicsim("train", "separator", "--corpus", corpus, "--run-dir", tmp_path / "run4", "--tiny",
                           "--export", tmp_path / "model4", "--chunk-seconds", 2, "--no-progress")
    assert short_chunk.returncode == 2 and "chunk_seconds 2.0: need a number of seconds, at least 4" in short_chunk.stderr
    assert not (tmp_path / "run4").exists()
    exported = musicsim("train", "separator", "--corpus", corpus, "--run-dir", tmp_path / "run", "--steps", 6,
                        "--val-every", 2, "--tiny", "--no-progress", "--export", tmp_path / "model",
                        "--stem-priors", "--chunk-seconds", 30)
    assert exported.returncode == 0, exported.stderr
    assert "stem priors (below 250 Hz, 250-1000 Hz, 1000-4000 Hz, above 4000 Hz) bass 1/1/1/1," in exported.stdout and "validation SDR" in exported.stdout
    stored = json.loads((tmp_path / "model" / "manifest.json").read_text())["config"]
    assert set(stored["stem_priors"]) == {"bass", "drums", "piano", "other"}
    assert stored["stem_priors_fit"] == {**stored["stem_priors_fit"], "data": "corpus/valid", "songs": 1}
    assert stored["chunk_seconds"] == 30.0 and "chunking (30 s chunks" in (tmp_path / "model" / "MODEL_CARD.md").read_text()
    result = musicsim("eval", "separation", "--model", "dsp", "--data", corpus / "test", "--out",
                      tmp_path / "eval", "--seconds", 2)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "eval" / "separation.json").read_text())
    assert set(report["summary"]["sdr"]) == {"dsp", "oracle-irm"}
    assert report["summary"]["sdr"]["oracle-irm"]["mean"] > report["summary"]["sdr"]["dsp"]["mean"]
    assert (tmp_path / "eval" / "separation_sdr.png").stat().st_size > 5000
    assert "| dsp |" in (tmp_path / "eval" / "separation.md").read_text()


def test_eval_separation_records_its_figures_in_the_model_folder(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"test": 2}, seconds=2.0)
    data = tmp_path / "data"
    model = build_debug_model(data / "models" / "separation-debug")
    exported = load_manifest(model, verify=False)         # hashed with its card, as an exported folder is
    (model / "MODEL_CARD.md").write_text("# separation-debug\n")
    write_manifest(model, replace(exported, files={**exported.files,
                                                  "MODEL_CARD.md": file_sha256(model / "MODEL_CARD.md")}))
    result = musicsim("eval", "separation", "--model", "separation-debug", "--model", "dsp", "--data", corpus / "test",
                      "--out", tmp_path / "eval", "--seconds", 1, "--record", model, env={"MUSICSIM_DATA_DIR": str(data)})
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "eval" / "separation.json").read_text())["summary"]["sdr"]
    metrics = json.loads((model / "manifest.json").read_text())["metrics"]
    assert metrics["test_sdr_mean_db"] == round(summary["separation-debug"]["mean"], 2)
    assert metrics["test_sdr_mean_dsp_db"] == round(summary["dsp"]["mean"], 2)
    assert metrics["test_songs"] == 2 and metrics["test_excerpt_s"] == 1 and "onnx_parity_max_abs" in metrics
    card = (model / "MODEL_CARD.md").read_text()
    assert "## Evaluation table" in card and "| separation-debug |" in card and "| oracle-irm |" in card
    assert "**debug.** Random weights, for tests." in card  # the version notes survive the regenerated card
    assert (model / "eval_sdr.png").stat().st_size > 5000
    assert load_manifest(model, verify=True).files["MODEL_CARD.md"] == file_sha256(model / "MODEL_CARD.md")
    again = musicsim("separate", corpus / "test" / "song000" / "mix.flac", "-o", tmp_path / "stems", "--model",
                     "separation-debug", env={"MUSICSIM_DATA_DIR": str(data)})
    assert again.returncode == 0, again.stderr  # the folder still verifies and loads


def test_a_recorded_card_names_the_model_not_the_path_it_was_scored_from(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"test": 1}, seconds=2.0)
    model = build_debug_model(tmp_path / "scored-from-here")
    result = musicsim("eval", "separation", "--model", model, "--data", corpus / "test", "--out", tmp_path / "eval",
                      "--seconds", 1, "--no-oracle", "--record", model)
    assert result.returncode == 0, result.stderr
    assert f"| {model} |" in (tmp_path / "eval" / "separation.md").read_text()  # the run's own report keeps it
    card = (model / "MODEL_CARD.md").read_text()
    assert "| separation-debug |" in card and str(tmp_path) not in card


def test_eval_separation_refuses_to_record_into_another_models_folder(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"test": 1}, seconds=1.0)
    model = build_debug_model(tmp_path / "separation-debug")
    before = (model / "manifest.json").read_bytes()
    result = musicsim("eval", "separation", "--model", "dsp", "--data", corpus / "test", "--out", tmp_path / "eval",
                      "--record", model)
    assert result.returncode == 2 and "holds 'separation-debug'" in result.stderr and "Traceback" not in result.stderr
    assert (model / "manifest.json").read_bytes() == before and not (tmp_path / "eval").exists()
