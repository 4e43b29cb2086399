"""Demucs: safe loading of real-format checkpoints (a small random HTDemucs saved the way Demucs saves its
releases), installation, separation with Demucs' chunking/shifts, the 6-stem mapping, refusal of foreign
pickles, cancellation and the CLI."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip("demucs")
import torch  # noqa: E402
from demucs.apply import apply_model  # noqa: E402
from demucs.htdemucs import HTDemucs  # noqa: E402

from musicsim_gui.audio.clip import AudioClip  # noqa: E402
from musicsim_gui.core.errors import CancelledError, ModelError  # noqa: E402
from musicsim_gui.separation.demucs.checkpoint import load_package  # noqa: E402
from musicsim_gui.separation.demucs.install import install_demucs  # noqa: E402
from musicsim_gui.separation.demucs.separator import open_demucs  # noqa: E402

SOURCES = ["drums", "bass", "other", "vocals", "guitar", "piano"]


def _tiny_model() -> HTDemucs:
    torch.manual_seed(0)
    return HTDemucs(SOURCES, channels=8, depth=4, t_layers=1, t_heads=2, t_hidden_scale=1.0,
                    segment=Fraction(1, 1)).eval()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A `.th` file in Demucs' release format: klass, args, kwargs, half-precision state, training args."""
    model = _tiny_model()
    args, kwargs = model._init_args_kwargs
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    path = tmp_path_factory.mktemp("release") / "5c90dfd2-0123abcd.th"
    torch.save({"klass": HTDemucs, "args": args, "kwargs": kwargs, "state": state,
                "training_args": {"dset": {"segment": 1.0}, "seed": 42}}, path)
    return path


class _Exploit:
    def __reduce__(self):
        import os
        return (os.system, ("echo should-never-run",))


def test_foreign_pickles_are_refused(tmp_path):
    path = tmp_path / "evil.th"
    torch.save({"klass": HTDemucs, "args": [], "kwargs": {}, "state": {}, "training_args": _Exploit()}, path)
    with pytest.raises(ModelError, match="refused"):
        load_package(path)
    (tmp_path / "junk.th").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelError, match="not a readable Demucs checkpoint"):
        load_package(tmp_path / "junk.th")


def test_installed_model_matches_demucs_on_the_same_weights(checkpoint, tmp_path):
    folder = install_demucs(checkpoint, tmp_path)
    assert folder.name == "demucs-htdemucs_6s"
    separator = open_demucs(folder, device="cpu")
    rng = np.random.default_rng(3)
    mix = (0.2 * rng.standard_normal((2, 44100))).astype(np.float32)
    stems = separator.separate(AudioClip(mix, 44100, "mix"))
    # Reference: Demucs' own model object with the same (half-rounded) weights, run the way its API does.
    reference = _tiny_model()
    reference.load_state_dict({k: v.float() for k, v in torch.load(checkpoint, weights_only=False)["state"].items()})
    wav = torch.from_numpy(mix)
    mean, std = wav.mean(0).mean(), wav.mean(0).std() + 1e-8
    import random
    random.seed(0)
    with torch.no_grad():
        out = apply_model(reference, ((wav - mean) / std)[None], shifts=1, overlap=0.25)[0] * std + mean
    expected = dict(zip(SOURCES, out.numpy(), strict=True))
    assert np.abs(stems["drums"].samples - expected["drums"]).max() < 1e-5
    assert np.abs(stems["piano"].samples - expected["piano"]).max() < 1e-5
    assert np.abs(stems["other"].samples - (expected["other"] + expected["guitar"])).max() < 1e-5
    assert np.abs(stems["vocals"].samples - expected["vocals"]).max() < 1e-5


def test_mono_clip_at_another_rate_and_cancel(checkpoint, tmp_path):
    separator = open_demucs(install_demucs(checkpoint, tmp_path, name="d6"), device="cpu")
    clip = AudioClip(np.random.default_rng(0).standard_normal((1, 16000)).astype(np.float32) * 0.1, 16000)
    seen = []
    stems = separator.separate(clip, progress=lambda f, m: seen.append(f))
    assert set(stems) == {"bass", "drums", "piano", "other", "vocals"}
    assert all(s.samples.shape == (1, 16000) and np.isfinite(s.samples).all() for s in stems.values())
    assert seen and 0 < seen[-1] <= 1.0
    with pytest.raises(CancelledError):
        separator.separate(clip, cancel=lambda: True)


def test_hash_mismatch_is_a_model_error(checkpoint, tmp_path):
    folder = install_demucs(checkpoint, tmp_path)
    with open(folder / "model0.safetensors", "r+b") as handle:
        handle.seek(-4, 2)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(ModelError, match="sha256 mismatch"):
        open_demucs(folder)


def test_cli_import_demucs(checkpoint, tmp_path):
    result = subprocess.run([sys.executable, "-m", "musicsim_gui", "models", "import-demucs", str(checkpoint),
                             "--models-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demucs-htdemucs_6s" / "manifest.json").is_file()


def test_bag_folder_with_weights_installs_as_a_bag(checkpoint, tmp_path):
    import shutil

    from demucs.apply import BagOfModels

    bag = tmp_path / "bag"
    bag.mkdir()
    shutil.copy(checkpoint, bag / "aaaa1111-00000000.th")
    shutil.copy(checkpoint, bag / "bbbb2222-00000000.th")
    (bag / "tiny_ft.yaml").write_text("models: ['aaaa1111', 'bbbb2222']\n"
                                      "weights: [[1, 0, 0, 0, 0, 0], [0, 1, 1, 1, 1, 1]]\nsegment: 1\n")
    separator = open_demucs(install_demucs(bag, tmp_path / "models"), device="cpu")
    assert separator.id == "demucs-tiny_ft" and isinstance(separator.model, BagOfModels)
    assert len(separator.model.models) == 2
    stems = separator.separate(AudioClip(np.zeros((2, 11025), np.float32), 44100))
    assert all(s.samples.shape == (2, 11025) for s in stems.values())
    (bag / "tiny_ft.yaml").write_text("models: ['aaaa1111', 'bbbb2222']\nweights: [[1, 0]]\n")
    with pytest.raises(ModelError, match="weights"):
        install_demucs(bag, tmp_path / "models")
    (bag / "tiny_ft.yaml").write_text("models: ['cccc3333']\n")
    with pytest.raises(ModelError, match="cccc3333"):
        install_demucs(bag, tmp_path / "models")


def test_hub_layout_safetensors_with_metadata_installs(checkpoint, tmp_path):
    import shutil

    installed = install_demucs(checkpoint, tmp_path / "first")
    hub = tmp_path / "hub"
    hub.mkdir()
    shutil.copy(installed / "model0.safetensors", hub / "5c90dfd2.safetensors")
    (hub / "htdemucs_6s.yaml").write_text("models: ['5c90dfd2']\n")
    package = load_package(hub / "5c90dfd2.safetensors")
    assert package.klass == "demucs.htdemucs.HTDemucs" and package.kwargs["segment"] == Fraction(1, 1)
    separator = open_demucs(install_demucs(hub, tmp_path / "models"), device="cpu")
    assert separator.id == "demucs-htdemucs_6s" and list(separator.model.sources) == SOURCES
