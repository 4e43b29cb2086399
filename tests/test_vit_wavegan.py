"""ViT+WaveGAN model code: shapes, head independence, paper sizes, weights I/O, ONNX export parity, model folders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import ModelError
from musicsim_gui.generation.base import GenerationRequest, get_generator
from musicsim_gui.generation.vit_wavegan.config import get_config
from musicsim_gui.generation.vit_wavegan.export import example_inputs, export_folder, parity
from musicsim_gui.generation.vit_wavegan.loading import load_folder
from musicsim_gui.generation.vit_wavegan.model import build_model, load_weights, save_weights
from musicsim_gui.generation.vit_wavegan.vit import ViTEncoder
from musicsim_gui.generation.vit_wavegan.wavegan import WaveGANCritic, WaveGANHeads, phase_shuffle
from musicsim_gui.runtime.paths import bundled_models_dir


def tensors(config, batch=2, seed=0):
    return {k: torch.from_numpy(v) for k, v in example_inputs(config, batch=batch, seed=seed).items()}


def test_debug_model_shapes_and_range():
    model = build_model("debug")
    x = tensors(model.config)
    with torch.no_grad():
        audio = model(x["mel"], x["tempo"], x["z"])
    assert audio.shape == (2, 4, model.config.head.window)
    assert float(audio.abs().max()) <= 1.0


def test_heads_are_independent():
    model = build_model("debug")
    x = tensors(model.config)
    z2 = x["z"].clone()
    z2[:, 0] += 1.0
    with torch.no_grad():
        emb = model.encoder(x["mel"])
        a, b = model.heads(emb, x["tempo"], x["z"]), model.heads(emb, x["tempo"], z2)
    assert float((a[:, 0] - b[:, 0]).abs().max()) > 1e-4
    torch.testing.assert_close(a[:, 1:], b[:, 1:])


def test_paper_config_has_vit_b16_and_wavegan_sizes():
    config = get_config("paper")
    with torch.device("meta"):
        encoder = ViTEncoder(config.vit, config.features)
        heads = WaveGANHeads(config.head, config.vit.embedding, 4)
    assert 85e6 < sum(p.numel() for p in encoder.parameters()) < 87e6  # ViT-B/16, one input channel
    conv_params = sum(p.numel() for p in heads.ups.parameters()) / 4
    assert 17.3e6 < conv_params < 17.5e6  # Donahue et al. d=64: 5 transposed convs, kernel 25
    assert config.head.window == 16384


def test_phase_shuffle_only_shifts():
    x = torch.arange(40, dtype=torch.float32).reshape(2, 1, 20).repeat(1, 3, 1)
    shuffled = phase_shuffle(x, 2)
    assert shuffled.shape == x.shape
    for row in range(2):
        offset = float(shuffled[row, 0, 10] - x[row, 0, 10])
        assert abs(offset) <= 2
        torch.testing.assert_close(shuffled[row, :, 2:18], x[row, :, 2:18] + offset)
    torch.testing.assert_close(phase_shuffle(x, 0), x)


def test_critic_scores_each_instrument_and_passes_gradients():
    config = get_config("debug")
    critic = WaveGANCritic(config.head, config.vit.embedding, 4)
    audio = torch.randn(3, 4, config.head.window, requires_grad=True)
    scores = critic(audio, torch.randn(3, config.vit.embedding))
    assert scores.shape == (3, 4)
    (grad,) = torch.autograd.grad(scores[:, 2].sum(), audio)
    assert float(grad[:, 2].abs().sum()) > 0 and float(grad[:, [0, 1, 3]].abs().sum()) == 0.0


def test_weights_round_trip(tmp_path):
    model = build_model("debug", seed=3)
    save_weights(model, tmp_path / "w.safetensors")
    loaded = load_weights(tmp_path / "w.safetensors")
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)
    (tmp_path / "bad.safetensors").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="bad.safetensors"):
        load_weights(tmp_path / "bad.safetensors")


def test_onnx_export_parity_and_folder_backends_agree(tmp_path):
    model = build_model("debug", seed=1)
    folder = tmp_path / "vit-wavegan-test"
    manifest = export_folder(model, folder, "vit-wavegan-test", "1.0", metrics={"note": "random"})
    assert set(manifest.files) == {"encoder.onnx", "heads.onnx", "weights.safetensors"}
    assert parity(model, folder) <= 1e-3
    t = np.arange(2 * 44100) / 44100
    ref = AudioClip(np.sin(2 * np.pi * 220 * t).astype(np.float32)[None] * (np.mod(t, 0.5) < 0.1), 44100, "ref")
    request = GenerationRequest(ref, ("bass", "other"), (1, 2), 2, {"seconds": 1.0, "tempo_bpm": 120.0})
    onnx_gen, torch_gen = load_folder(folder, "onnx"), load_folder(folder, "torch")
    assert onnx_gen.backend_name.startswith("onnxruntime") and torch_gen.backend_name.startswith("torch")
    for a, b in zip(onnx_gen.generate(request), torch_gen.generate(request), strict=True):
        assert (a.instrument, a.seed) == (b.instrument, b.seed)
        np.testing.assert_allclose(a.clip.samples, b.clip.samples, atol=1e-3)
    assert get_generator(str(folder)).id == "vit-wavegan-test"


def test_corrupt_model_file_is_named(tmp_path):
    folder = tmp_path / "m"
    export_folder(build_model("debug"), folder, "m", "1", weights=False)
    (folder / "heads.onnx").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="heads.onnx"):
        load_folder(folder)


@pytest.mark.skipif(not (bundled_models_dir() / "vit-wavegan-lofi" / "manifest.json").is_file(),
                    reason="the trained default model is not in models/")
def test_shipped_default_generates_one_second():
    generator = load_folder(bundled_models_dir() / "vit-wavegan-lofi")
    t = np.arange(3 * 44100) / 44100
    ref = AudioClip((0.3 * np.sin(2 * np.pi * 110 * t) * (np.mod(t, 0.5) < 0.1)).astype(np.float32)[None], 44100)
    takes = generator.generate(GenerationRequest(ref, ("bass", "drums", "piano", "other"), (0,), 1, {"seconds": 1.0}))
    assert len(takes) == 4
    for take in takes:
        assert take.clip.samples.shape == (2, 44100)
        assert np.isfinite(take.clip.samples).all() and np.abs(take.clip.samples).max() > 1e-3
