"""A MusicGen take records the decoder and dtype that made it, and its stored seed and params make it again.

Runs the tiny random debug checkpoint on the CPU, through the generator and through `musicsim generate` in
process. Takes are compared bit for bit: the codec is deterministic, so one different token changes the audio.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from musicgen_support import DEBUG_RATE as RATE
from musicgen_support import one_thread  # noqa: F401 (autouse fixture)

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.io import load_audio, save_audio
from musicsim_gui.cli.main import main
from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.generation.base import GenerationRequest
from musicsim_gui.generation.musicgen.debug import build_debug_model
from musicsim_gui.generation.musicgen.generator import MusicGenGenerator


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return build_debug_model(tmp_path_factory.mktemp("provenance") / "musicgen-debug")


@pytest.fixture(scope="module")
def generator(checkpoint):
    return MusicGenGenerator(checkpoint, device="cpu")


@pytest.fixture(scope="module")
def reference():
    t = np.arange(RATE) / RATE
    return AudioClip((0.5 * np.sin(2 * np.pi * 220.0 * t))[None].astype(np.float32), RATE, source="ref.wav")


def _takes(generator, reference, seed=3, **params):
    base = {"seconds": 0.1, "prompt_seconds": 0.03, "mode": "text+audio", "tempo_bpm": 90.0}
    return generator.generate(GenerationRequest(reference, ("piano",), (seed,), 2, {**base, **params}))


@pytest.mark.parametrize(("asked", "recorded"), [
    ({}, {"decoder": "fast", "dtype": "float32", "fast_decoding": True}),
    ({"dtype": "bfloat16"}, {"decoder": "fast", "dtype": "bfloat16", "fast_decoding": True}),
    ({"decoder": "generate"}, {"decoder": "generate", "dtype": "float32", "fast_decoding": False}),
    ({"fast_decoding": False}, {"decoder": "generate", "dtype": "float32", "fast_decoding": False}),
])
def test_takes_record_the_decoder_and_dtype_used_and_their_params_make_them_again(generator, reference, asked,
                                                                                    recorded):
    first = _takes(generator, reference, **asked)
    for take in first:
        assert {key: take.params[key] for key in recorded} == recorded
    again = generator.generate(GenerationRequest(reference, ("piano",), (first[0].seed,), 2, first[0].params))
    for made, remade in zip(first, again, strict=True):
        assert remade.seed == made.seed
        assert _without_template(remade.params) == _without_template(made.params)  # the filled prompt is kept
        np.testing.assert_array_equal(remade.clip.samples, made.clip.samples)
    other_seed = _takes(generator, reference, seed=4, **asked)[0]
    assert not np.array_equal(other_seed.clip.samples, first[0].clip.samples)


def _without_template(params: dict) -> dict:
    return {key: value for key, value in params.items() if key != "template"}


def test_the_fast_loop_and_generate_make_the_same_take(generator, reference):
    fast = _takes(generator, reference)
    plain = _takes(generator, reference, decoder="generate")
    for a, b in zip(fast, plain, strict=True):
        np.testing.assert_array_equal(a.clip.samples, b.clip.samples)


@pytest.mark.parametrize(("params", "message"), [
    ({"decoder": "generate", "dtype": "bfloat16"}, "dtype bfloat16 needs the fast decoder"),
    ({"fast_decoding": False, "dtype": "float16"}, "dtype float16 needs the fast decoder"),
    ({"decoder": "beam"}, "decoder must be one of fast, generate, got 'beam'"),
    ({"decoder": "generate", "fast_decoding": True}, "decoder 'generate' contradicts fast_decoding=True"),
])
def test_bad_decoder_settings_name_the_problem(generator, reference, params, message):
    with pytest.raises(MusicSimError, match=message):
        _takes(generator, reference, **params)


def test_the_onnx_backend_refuses_another_dtype_before_loading(checkpoint, reference):
    onnx = MusicGenGenerator(checkpoint, device="cpu", backend="onnx")
    with pytest.raises(MusicSimError, match="the ONNX backend decodes in float32, not bfloat16"):
        _takes(onnx, reference, dtype="bfloat16")
    assert onnx._loaded is None


def _cli_generate(checkpoint, song, out, *options: str) -> dict:
    code = main(["generate", str(song), "-o", str(out), "--model", "musicgen", "--model-path", str(checkpoint),
                 "--instruments", "bass", "--takes", "2", "--seed", "11", "--seconds", "0.1", "--prompt-seconds",
                 "0.03", "--tempo", "84", *options])
    assert code == 0
    return json.loads((out / "takes.json").read_text())


def test_cli_decoder_and_dtype_options_reach_the_takes(checkpoint, reference, tmp_path, capsys):
    song = tmp_path / "song.wav"
    save_audio(song, reference)
    fast = _cli_generate(checkpoint, song, tmp_path / "fast")
    plain = _cli_generate(checkpoint, song, tmp_path / "plain", "--decoder", "generate", "--dtype", "float32")
    assert [(t["params"]["decoder"], t["params"]["dtype"]) for t in fast["takes"]] == [("fast", "float32")] * 2
    assert [(t["params"]["decoder"], t["params"]["dtype"]) for t in plain["takes"]] == [("generate", "float32")] * 2
    for a, b in zip(fast["takes"], plain["takes"], strict=True):
        assert a["file"] == b["file"]
        np.testing.assert_array_equal(load_audio(tmp_path / "fast" / a["file"]).samples,
                                      load_audio(tmp_path / "plain" / b["file"]).samples)
    half = _cli_generate(checkpoint, song, tmp_path / "half", "--dtype", "bfloat16")
    assert {t["params"]["dtype"] for t in half["takes"]} == {"bfloat16"}
    capsys.readouterr()
    code = main(["generate", str(song), "-o", str(tmp_path / "bad"), "--model", "musicgen", "--model-path",
                 str(checkpoint), "--instruments", "bass", "--seconds", "0.1", "--prompt-seconds", "0.03", "--decoder", "generate",
                 "--dtype", "float16"])
    error = capsys.readouterr().err
    assert code == 2 and "dtype float16 needs the fast decoder" in error and "Traceback" not in error
    assert not (tmp_path / "bad" / "takes.json").exists()
