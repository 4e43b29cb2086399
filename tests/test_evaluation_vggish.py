"""VGGish: the front end's mel layout, and the loader on random weights saved in the released layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import ModelError
from musicsim_gui.evaluation.vggish import (
    EMBEDDING_SIZE,
    EXAMPLE_FRAMES,
    MEL_BANDS,
    SAMPLE_RATE,
    build_vggish,
    htk_mel,
    load_vggish,
    log_mel_examples,
    vggish_mel_matrix,
)


def test_mel_matrix_triangles_peak_at_their_centres():
    weights = vggish_mel_matrix()
    assert weights.shape == (257, MEL_BANDS)
    assert np.all(weights[0] == 0.0)
    hz = np.linspace(0, SAMPLE_RATE / 2, 257)
    centres = np.linspace(htk_mel(125.0), htk_mel(7500.0), MEL_BANDS + 2)[1:-1]
    peak_mels = htk_mel(hz[weights.argmax(axis=0)])
    spacing = centres[1] - centres[0]
    assert np.all(np.abs(peak_mels - centres) < spacing)
    assert np.all(weights.max(axis=0) > 0.5)


def test_examples_are_096_s_and_a_tone_lands_in_its_band():
    seconds = 3.0
    t = np.arange(int(seconds * 44100)) / 44100
    clip = AudioClip(np.stack([np.sin(2 * np.pi * 1000 * t)] * 2).astype(np.float32), 44100)
    examples = log_mel_examples(clip)
    assert examples.shape == (3, EXAMPLE_FRAMES, MEL_BANDS)
    loudest_band = int(examples.mean(axis=(0, 1)).argmax())
    band_centres_hz = 700 * (np.exp(np.linspace(htk_mel(125.0), htk_mel(7500.0), MEL_BANDS + 2)[1:-1] / 1127) - 1)
    assert abs(band_centres_hz[loudest_band] - 1000) < 150
    assert log_mel_examples(AudioClip(np.zeros((1, 8000), np.float32), 16000)).shape[0] == 0


@pytest.fixture(scope="module")
def released_layout_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vggish")
    torch.manual_seed(0)
    module = build_vggish()
    torch.save(module.state_dict(), folder / "vggish.pth")
    rng = np.random.default_rng(0)
    vectors = np.linalg.qr(rng.normal(size=(EMBEDDING_SIZE, EMBEDDING_SIZE)))[0].astype(np.float32)
    means = rng.normal(size=EMBEDDING_SIZE).astype(np.float32)
    np.savez(folder / "pca.npz", pca_eigen_vectors=vectors, pca_means=means)
    return folder, module, vectors, means


def test_loader_reproduces_the_saved_network_and_applies_pca(released_layout_files):
    folder, module, vectors, means = released_layout_files
    examples = np.random.default_rng(1).normal(size=(3, EXAMPLE_FRAMES, MEL_BANDS)).astype(np.float32)
    with torch.inference_mode():
        raw = module(torch.from_numpy(examples)[:, None]).numpy()
    plain = load_vggish(folder / "vggish.pth").embed_examples(examples)
    np.testing.assert_allclose(plain, raw, rtol=1e-5, atol=1e-6)
    whitened = load_vggish(folder / "vggish.pth", pca=folder / "pca.npz").embed_examples(examples)
    np.testing.assert_allclose(whitened, (raw - means) @ vectors.T, rtol=1e-4, atol=1e-5)


def test_loader_errors_name_the_file(tmp_path, released_layout_files):
    folder = released_layout_files[0]
    with pytest.raises(ModelError, match="not found"):
        load_vggish(tmp_path / "absent.pth")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x00not a checkpoint")
    with pytest.raises(ModelError, match="garbage.pth"):
        load_vggish(garbage)
    partial = tmp_path / "partial.pth"
    torch.save({"features.0.weight": torch.zeros(64, 1, 3, 3)}, partial)
    with pytest.raises(ModelError, match="not VGGish weights"):
        load_vggish(partial)
    bad_pca = tmp_path / "pca.npz"
    np.savez(bad_pca, pca_eigen_vectors=np.zeros((4, 4)), pca_means=np.zeros(4))
    with pytest.raises(ModelError, match="wrong shapes"):
        load_vggish(folder / "vggish.pth", pca=bad_pca)
