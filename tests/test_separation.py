"""Separation: STFT pair, chunked overlap-add, the DSP fallback, the built-in network, cache and cancel."""

from __future__ import annotations

import json

import numpy as np
import pytest
from separation_support import build_debug_model, synthetic_stems

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import CancelledError, ModelError
from musicsim_gui.runtime.registry import ModelRegistry
from musicsim_gui.separation.base import STEMS, available_separators, get_separator
from musicsim_gui.separation.builtin import open_masknet
from musicsim_gui.separation.cache import CachedSeparator
from musicsim_gui.separation.chunking import chunk_spans, crossfade_weights, overlap_add
from musicsim_gui.separation.dsp import DspSeparator
from musicsim_gui.separation.masking import MaskSettings, separate_with_masks
from musicsim_gui.separation.stft import istft, stft

RATE = 44100


@pytest.fixture(scope="module")
def debug_model(tmp_path_factory):
    return build_debug_model(tmp_path_factory.mktemp("models") / "separation-debug")


def song_clip(seconds=4.0, seed=0, rate=RATE) -> tuple[AudioClip, dict[str, np.ndarray]]:
    stems = synthetic_stems(seconds, rate, seed)
    return AudioClip(sum(stems.values()), rate, "synthetic"), stems


def test_stft_round_trip_any_length():
    x = np.random.default_rng(0).standard_normal((2, 10_001)).astype(np.float32)
    spec = stft(x, 1024, 256)
    assert spec.shape == (2, 513, 1 + 10_001 // 256)
    assert np.abs(istft(spec, x.shape[-1], 1024, 256) - x).max() < 1e-5


def test_chunk_spans_cover_and_weights_sum_to_one():
    spans = chunk_spans(1000, 300, 50)
    assert spans[0][0] == 0 and spans[-1][1] == 1000
    for (_, stop), (start, _) in zip(spans, spans[1:], strict=False):
        assert stop - start == 50
    total = np.zeros(1000)
    for i, (a, b) in enumerate(spans):
        total[a:b] += crossfade_weights(b - a, 50, i > 0, i < len(spans) - 1)
    assert np.allclose(total, 1.0, atol=1e-6)
    assert chunk_spans(10, 300, 50) == [(0, 10)]


def test_identity_mask_overlap_add_reconstructs_without_clicks():
    rate = 8000
    t = np.arange(int(3.3 * rate)) / rate
    x = np.stack([np.sin(2 * np.pi * 220 * t), np.cos(2 * np.pi * 330 * t)]).astype(np.float32) * 0.5
    settings = MaskSettings(rate, 512, 128, ("all",), chunk_seconds=1.0, overlap_seconds=0.25)
    out = separate_with_masks(AudioClip(x, rate), lambda mag: np.ones((mag.shape[0], 1, *mag.shape[1:]),
                                                                        np.float32), settings)
    error = np.abs(out["all"].samples - x)
    assert error.max() < 1e-4
    boundaries = [stop for _, stop in chunk_spans(x.shape[1], rate, rate // 4)][:-1]
    assert len(boundaries) >= 3
    jumps = np.abs(np.diff(out["all"].samples, axis=1)).max()
    assert jumps <= np.abs(np.diff(x, axis=1)).max() + 1e-4


def test_cancel_stops_between_chunks_and_progress_reports():
    calls, seen = [], []
    samples = np.zeros((1, 1000), np.float32)
    with pytest.raises(CancelledError):
        overlap_add(samples, lambda part: {"x": part}, 300, 50, progress=lambda f, m: seen.append(f),
                    cancel=lambda: calls.append(1) or len(calls) > 2)
    assert seen == pytest.approx([0.25, 0.5])
    separator = DspSeparator()
    with pytest.raises(CancelledError, match="Cancelled the separation"):
        separator.separate(song_clip()[0], cancel=lambda: True)


def test_dsp_separator_stems_sum_to_the_mix_at_any_rate():
    clip, _ = song_clip(seconds=2.0, rate=22050)
    stems = DspSeparator().separate(clip)
    assert tuple(stems) == STEMS
    assert all(s.samples.shape == clip.samples.shape and s.sample_rate == 22050 for s in stems.values())
    assert np.abs(sum(s.samples for s in stems.values()) - clip.samples).max() < 2e-3


def test_dsp_separator_puts_low_sines_into_bass():
    clip, truth = song_clip(seconds=3.0)
    stems = DspSeparator().separate(clip)
    bass_energy = {name: float(np.sum(stems["bass"].samples * truth[name])) for name in STEMS}
    assert max(bass_energy, key=bass_energy.get) == "bass"


def test_cache_serves_repeats_and_keys_on_version(tmp_path):
    cached = CachedSeparator(DspSeparator(), root=tmp_path)
    clip, _ = song_clip(seconds=2.0)
    first = cached.separate(clip)
    progress = []
    second = cached.separate(clip, progress=lambda f, m: progress.append(m))
    assert cached.hits == 1 and "cache" in progress[0]
    assert all(np.array_equal(first[s].samples, second[s].samples) for s in STEMS)
    newer = DspSeparator()
    newer.version = "2"
    other = CachedSeparator(newer, root=tmp_path)
    other.separate(clip)
    assert other.hits == 0 and len(list(tmp_path.iterdir())) == 2


def test_builtin_missing_falls_back_to_dsp_with_reason(tmp_path):
    separator = get_separator("builtin", registry=ModelRegistry([tmp_path]), cache=False)
    assert separator.id == "dsp"
    assert "built-in model is unavailable" in separator.fallback_reason
    with pytest.raises(ModelError, match="no installed model named 'other'"):
        get_separator("other", registry=ModelRegistry([tmp_path]))


def test_debug_model_separates_through_the_registry(debug_model):
    registry = ModelRegistry([debug_model.parent])
    assert [i.name for i in available_separators(registry)] == ["dsp", "debug", "separation-debug"]
    separator = get_separator("separation-debug", registry=registry, cache=False)
    assert separator.backend_name == "onnxruntime:CPUExecutionProvider"
    clip, _ = song_clip(seconds=1.5)
    stems = separator.separate(clip)
    assert np.abs(sum(s.samples for s in stems.values()) - clip.samples).max() < 1e-3


def test_a_model_folder_path_loads_without_installing_it(debug_model, tmp_path):
    separator = get_separator(str(debug_model), registry=ModelRegistry([tmp_path]), cache=False)
    assert separator.id == "separation-debug"
    with pytest.raises(ModelError, match="no installed model named"):  # a folder without a manifest is a name
        get_separator(str(tmp_path), registry=ModelRegistry([tmp_path]))


def test_onnx_and_torch_paths_agree(debug_model):
    clip, _ = song_clip(seconds=1.5)
    onnx_stems = open_masknet(debug_model, "onnx").separate(clip)
    torch_stems = open_masknet(debug_model, "torch", "cpu").separate(clip)
    error = max(np.abs(onnx_stems[s].samples - torch_stems[s].samples).max() for s in STEMS)
    assert error < 1e-4, f"max abs error {error}"
    manifest = json.loads((debug_model / "manifest.json").read_text())
    assert manifest["metrics"]["onnx_parity_max_abs"] < 1e-5
    metadata = open_masknet(debug_model, "onnx").backend.metadata()
    assert (metadata["name"], metadata["version"], metadata["family"]) == ("separation-debug", "debug", "masknet")
    assert int(metadata["n_fft"]) == manifest["config"]["n_fft"]


def test_tampered_and_corrupt_model_files_are_model_errors(debug_model, tmp_path):
    import shutil

    from musicsim_gui.runtime.manifest import file_sha256

    copy = tmp_path / "copy"
    shutil.copytree(debug_model, copy)
    onnx_path = copy / "model.onnx"
    onnx_path.write_bytes(onnx_path.read_bytes()[:-100])
    with pytest.raises(ModelError, match=r"model\.onnx: sha256 mismatch"):
        open_masknet(copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["model.onnx"] = file_sha256(onnx_path)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=r"model\.onnx: not a valid ONNX model"):
        open_masknet(copy, "onnx")


def test_debug_separator_is_built_in_code():
    separator = get_separator("debug", cache=False)
    assert separator.backend_name == "torch:cpu" and separator.version == "debug"
    clip, _ = song_clip(seconds=1.0)
    stems = separator.separate(clip)
    assert tuple(stems) == STEMS
    assert np.abs(sum(s.samples for s in stems.values()) - clip.samples).max() < 1e-3
