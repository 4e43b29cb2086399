"""Runtime: manifests and their hash checks, the model registry, backends and the session cache."""

from __future__ import annotations

import numpy as np
import pytest

from musicsim_gui.core.errors import ModelError
from musicsim_gui.runtime import backend as backend_module
from musicsim_gui.runtime.backend import (
    OnnxBackend,
    TorchBackend,
    choose_backend,
    loaded_sessions,
    unload_all,
)
from musicsim_gui.runtime.manifest import Manifest, file_sha256, load_manifest, write_manifest
from musicsim_gui.runtime.paths import cache_dir, user_data_dir, user_models_dir
from musicsim_gui.runtime.registry import ModelRegistry


def make_model_dir(folder, name="m1", task="separation", payload=b"weights"):
    folder.mkdir(parents=True)
    (folder / "w.bin").write_bytes(payload)
    manifest = Manifest(family="fam", task=task, name=name, version="1", sample_rate=44100,
                        files={"w.bin": file_sha256(folder / "w.bin")}, instruments=("bass", "drums"))
    write_manifest(folder, manifest)
    return manifest


def test_manifest_round_trip_and_verification(tmp_path):
    written = make_model_dir(tmp_path / "m")
    loaded = load_manifest(tmp_path / "m")
    assert loaded == written
    assert loaded.instruments == ("bass", "drums")


def test_hash_mismatch_names_the_file(tmp_path):
    make_model_dir(tmp_path / "m")
    (tmp_path / "m" / "w.bin").write_bytes(b"tampered")
    with pytest.raises(ModelError, match=r"w\.bin: sha256 mismatch"):
        load_manifest(tmp_path / "m")
    assert load_manifest(tmp_path / "m", verify=False).name == "m1"


def test_missing_file_and_broken_manifest(tmp_path):
    make_model_dir(tmp_path / "m")
    (tmp_path / "m" / "w.bin").unlink()
    with pytest.raises(ModelError, match="missing"):
        load_manifest(tmp_path / "m")
    (tmp_path / "m" / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="unreadable manifest"):
        load_manifest(tmp_path / "m")
    (tmp_path / "m" / "manifest.json").write_text('{"family": "x"}')
    with pytest.raises(ModelError, match="lacks task"):
        load_manifest(tmp_path / "m")


def test_registry_lists_gets_and_user_models_take_precedence(tmp_path):
    make_model_dir(tmp_path / "bundled" / "a", name="a")
    make_model_dir(tmp_path / "bundled" / "g", name="g", task="generation")
    make_model_dir(tmp_path / "user" / "a2", name="a", payload=b"newer")
    (tmp_path / "user" / "junk").mkdir()
    (tmp_path / "user" / "junk" / "manifest.json").write_text("[]")
    registry = ModelRegistry([tmp_path / "bundled", tmp_path / "user"])
    assert [e.name for e in registry.list()] == ["a", "g"]
    assert [e.name for e in registry.list(task="separation")] == ["a"]
    assert registry.get("a").path == tmp_path / "user" / "a2"
    assert any("junk" in problem for problem in registry.problems)
    with pytest.raises(ModelError, match="installed: a, g"):
        registry.get("nope")


def test_paths_follow_the_data_dir_override(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICSIM_DATA_DIR", str(tmp_path))
    assert user_data_dir() == tmp_path
    assert user_models_dir() == tmp_path / "models"
    assert cache_dir() == tmp_path / "cache"


def test_choose_backend():
    assert choose_backend().kind == "onnx"
    assert choose_backend("torch", "cpu") == choose_backend("torch", "cpu")
    assert choose_backend("torch", "cpu").kind == "torch"
    with pytest.raises(ModelError, match="unknown backend"):
        choose_backend("tensorflow")


def _tiny_onnx(path):
    import torch

    module = torch.nn.Linear(3, 2)
    torch.onnx.export(module, (torch.zeros(1, 3),), str(path), input_names=["x"], output_names=["y"],
                      dynamo=False)
    return module


def test_onnx_and_torch_backends_agree_and_sessions_unload(tmp_path):
    import torch

    module = _tiny_onnx(tmp_path / "lin.onnx")
    unload_all()
    onnx = OnnxBackend(tmp_path / "lin.onnx")
    assert onnx.name == "onnxruntime:CPUExecutionProvider"
    assert OnnxBackend(tmp_path / "lin.onnx").session is onnx.session  # cached
    assert loaded_sessions() == 1
    x = np.random.default_rng(0).standard_normal((1, 3)).astype(np.float32)
    ours = onnx.run({"x": x})["y"]
    with torch.no_grad():
        reference = TorchBackend(module, "cpu", output_names=("y",)).run({"input": x})["y"]
    assert np.abs(ours - reference).max() < 1e-5
    assert unload_all() == 1 and loaded_sessions() == 0


def test_corrupt_onnx_file_is_a_model_error(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x08\x07garbage that is not a protobuf graph" * 10)
    with pytest.raises(ModelError, match="broken.onnx: not a valid ONNX model"):
        OnnxBackend(path)
    with pytest.raises(ModelError, match="cannot read"):
        OnnxBackend(tmp_path / "absent.onnx")
    assert not any("broken" in key[0] for key in backend_module._sessions)
