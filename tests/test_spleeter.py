"""Spleeter port: the checkpoint reader, the converter and network against TensorFlow's own outputs
(fixtures saved by tests/faithfulness/spleeter_tf_graph.py from a real TF graph), the separator and the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import CancelledError, ModelError
from musicsim_gui.separation.spleeter.convert import convert_release
from musicsim_gui.separation.spleeter.crc32c import crc32c, mask, unmask
from musicsim_gui.separation.spleeter.install import install_spleeter
from musicsim_gui.separation.spleeter.separator import open_spleeter
from musicsim_gui.separation.spleeter.spectral import separate_waveform
from musicsim_gui.separation.spleeter.tfbundle import CheckpointReader
from musicsim_gui.separation.spleeter.unet import build_spleeter

FIXTURES = Path(__file__).parent / "fixtures" / "spleeter"
SMALL_STFT = {"frame_length": 256, "frame_step": 64, "T": 64, "F": 64}


def _net(release: str):
    config, tensors, _ = convert_release(FIXTURES / release, **SMALL_STFT)
    net = build_spleeter(config)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
    return config, net


def test_crc32c_matches_the_standard_check_value_and_masking_round_trips():
    assert crc32c(b"123456789") == 0xE3069283
    data = np.random.default_rng(0).integers(0, 256, 70_001, dtype=np.uint8)
    slow = 0xFFFFFFFF
    from musicsim_gui.separation.spleeter.crc32c import TABLE
    for byte in data.tolist():
        slow = int(TABLE[(slow ^ byte) & 0xFF]) ^ (slow >> 8)
    assert crc32c(data.tobytes()) == slow ^ 0xFFFFFFFF
    assert unmask(mask(0xDEADBEEF)) == 0xDEADBEEF


def test_reader_lists_every_keras_variable_with_shapes():
    reader = CheckpointReader(FIXTURES / "5stems-tiny" / "model")
    assert reader.shards == 1
    assert len(reader.names()) == 5 * (7 * 2 + 6 * 2 + 12 * 4)
    assert reader.entries["conv2d_34/kernel"].shape == (4, 4, 1, 2)           # last instrument's final layer
    assert reader.entries["conv2d_transpose_5/kernel"].shape == (5, 5, 1, 4)  # [kh, kw, out, in]
    assert reader.read_tensor("batch_normalization_59/moving_variance").shape == (1,)


@pytest.mark.parametrize("release", ["5stems-tiny", "2stems-tiny"])
def test_converted_network_reproduces_tensorflow_masks_and_stems(release):
    config, net = _net(release)
    reference = np.load(FIXTURES / release / "reference.npz")
    with torch.no_grad():
        masks = net(torch.from_numpy(reference["spectrogram"])[None]).numpy()[0]
        stems = separate_waveform(reference["waveform"], lambda m: net(torch.from_numpy(m)).numpy(), config)
    assert config.softmax == (release == "5stems-tiny")
    assert np.abs(masks - reference["masks"]).max() < 1e-4
    ours = np.stack([stems[name] for name in config.instruments])
    assert np.abs(ours - reference["stems"]).max() < 1e-5


def test_corrupt_data_and_index_are_clear_errors(tmp_path):
    folder = tmp_path / "5stems"
    shutil.copytree(FIXTURES / "5stems-tiny", folder)
    data = folder / "model.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[100] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(ModelError, match="checksum mismatch"):
        convert_release(folder)
    (folder / "model.index").write_bytes(b"not a table")
    with pytest.raises(ModelError, match="not a TensorFlow checkpoint index"):
        convert_release(folder)


def test_install_from_archive_reads_the_variant_from_the_name(tmp_path):
    archive = tmp_path / "5stems-16kHz.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("checkpoint", "model.index", "model.data-00000-of-00001"):
            tar.add(FIXTURES / "5stems-tiny" / name, arcname=name)
    folder = install_spleeter(archive, tmp_path / "models")
    assert folder.name == "spleeter-5stems-16kHz"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["family"] == "spleeter" and manifest["instruments"] == ["vocals", "piano", "drums", "bass", "other"]
    assert manifest["config"]["F"] == 1536 and manifest["config"]["softmax"] is True


def test_separator_maps_stems_for_mono_and_stereo_clips(tmp_path):
    folder = install_spleeter(FIXTURES / "2stems-tiny", tmp_path, **SMALL_STFT)
    separator = open_spleeter(folder, backend="torch", device="cpu")
    rng = np.random.default_rng(1)
    for channels in (2, 1):
        clip = AudioClip(rng.standard_normal((channels, 4410)).astype(np.float32) * 0.1, 22050, "mix")
        stems = separator.separate(clip)
        assert set(stems) == {"bass", "drums", "piano", "other", "vocals"}
        assert all(s.samples.shape == clip.samples.shape and s.sample_rate == 22050 for s in stems.values())
        assert all(np.isfinite(s.samples).all() for s in stems.values())
        assert not stems["piano"].samples.any() and not stems["drums"].samples.any()   # 2 stems: silence
        assert np.abs(stems["other"].samples).max() > 0                               # accompaniment


def test_cancel_stops_between_segments():
    config, net = _net("2stems-tiny")
    with pytest.raises(CancelledError):
        separate_waveform(np.zeros((2, 9000), np.float32), lambda m: net(torch.from_numpy(m)).detach().numpy(),
                          config, cancel=lambda: True)


def test_onnx_export_matches_torch(tmp_path):
    pytest.importorskip("onnxruntime")
    folder = install_spleeter(FIXTURES / "2stems-tiny", tmp_path, onnx=True, **SMALL_STFT)
    on_ort = open_spleeter(folder, backend="onnx", device="cpu")
    on_torch = open_spleeter(folder, backend="torch", device="cpu")
    assert on_ort.backend_name.startswith("onnxruntime") and on_torch.backend_name.startswith("torch")
    metadata = on_ort.backend.metadata()
    assert metadata["family"] == "spleeter" and json.loads(metadata["config"])["F"] == 64
    magnitude = np.load(FIXTURES / "2stems-tiny" / "reference.npz")["spectrogram"][None]
    expected, got = on_torch.masks(magnitude), on_ort.masks(magnitude)
    net = on_torch.backend.module
    with torch.no_grad():
        x = torch.from_numpy(magnitude)
        power = ((torch.stack([unet(x) for unet in net.unets], 1) * x[:, None]) ** 2).sum(1, keepdim=True)
    error = np.abs(got - expected)
    # Where every stem's sigmoid is saturated (estimates ~1e-5 or less), the 1e-10 epsilon terms dominate and
    # ORT's sigmoid (which flushes ~1e-10 to 0) moves the ratio by up to ~1e-2; elsewhere the two agree.
    assert np.isfinite(got).all() and error.max() < 2e-2
    assert error[np.broadcast_to(power.numpy() > 1e-6, error.shape)].max() < 1e-4


def test_cli_import_spleeter(tmp_path):
    result = subprocess.run([sys.executable, "-m", "musicsim_gui", "models", "import-spleeter",
                             str(FIXTURES / "2stems-tiny"), "--models-dir", str(tmp_path), "--name", "sp2", "--no-onnx"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "sp2" / "manifest.json").is_file()
    bad = subprocess.run([sys.executable, "-m", "musicsim_gui", "models", "import-spleeter", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "no such checkpoint" in bad.stderr


def test_registry_offers_an_imported_model_and_the_cli_separates_with_it(tmp_path):
    import os

    import soundfile

    from musicsim_gui.runtime.registry import ModelRegistry
    from musicsim_gui.separation.base import available_separators, get_separator
    from musicsim_gui.separation.spleeter.separator import SpleeterSeparator

    env = {**os.environ, "MUSICSIM_DATA_DIR": str(tmp_path / "data")}
    run = [sys.executable, "-m", "musicsim_gui"]
    imported = subprocess.run([*run, "models", "import-spleeter", str(FIXTURES / "2stems-tiny")],
                              capture_output=True, text=True, timeout=120, env=env)
    assert imported.returncode == 0, imported.stderr
    registry = ModelRegistry([tmp_path / "data" / "models"])
    assert "spleeter-2stems" in [info.name for info in available_separators(registry)]
    assert isinstance(get_separator("spleeter-2stems", backend="torch", cache=False, registry=registry),
                      SpleeterSeparator)
    song = tmp_path / "song.wav"
    soundfile.write(song, np.random.default_rng(2).standard_normal((44100, 2)).astype(np.float32) * 0.1, 44100)
    separated = subprocess.run([*run, "separate", str(song), "-o", str(tmp_path / "stems"), "--model",
                                "spleeter-2stems"],
                               capture_output=True, text=True, timeout=120, env=env)
    assert separated.returncode == 0, separated.stderr
    assert (tmp_path / "data" / "models" / "spleeter-2stems" / "model.onnx").is_file()
    assert {p.stem for p in (tmp_path / "stems").iterdir()} >= {"bass", "drums", "piano", "other"}


def _ld(field: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (tag, length, payload); sizes here are < 128 bytes."""
    return bytes([field << 3 | 2, len(payload)]) + payload


def test_bandwidth_is_read_from_the_saved_graph(tmp_path):
    from musicsim_gui.separation.spleeter.convert import meta_bins

    # The fixture's model.meta holds the real first-convolution node TensorFlow saved (output [-1, 32, 32, 2]).
    assert meta_bins(FIXTURES / "2stems-tiny" / "model") == 64
    folder = tmp_path / "renamed"
    shutil.copytree(FIXTURES / "2stems-tiny", folder)
    dims = b"".join(_ld(2, b"\x08" + bytes(v)) for v in ([0x7F], [0x80, 0x02], [0x80, 0x06], [0x10]))
    shapes = _ld(1, _ld(7, dims))                                    # AttrValue.list.shape
    attr = _ld(5, _ld(1, b"_output_shapes") + _ld(2, shapes))       # NodeDef.attr entry
    node = _ld(1, b"conv2d/Conv2D") + _ld(2, b"Conv2D") + attr
    (folder / "model.meta").write_bytes(_ld(2, _ld(1, node)))
    assert meta_bins(folder / "model") == 1536
    config, _, _ = convert_release(folder)
    assert config.F == 1536


def test_cached_separation_keeps_the_vocals_extra(tmp_path):
    from musicsim_gui.separation.cache import CachedSeparator

    folder = install_spleeter(FIXTURES / "2stems-tiny", tmp_path, **SMALL_STFT)
    cached = CachedSeparator(open_spleeter(folder, backend="torch", device="cpu"), root=tmp_path / "cache")
    clip = AudioClip(np.random.default_rng(4).standard_normal((2, 3000)).astype(np.float32) * 0.1, 44100, "mix")
    first = cached.separate(clip)
    again = cached.separate(clip)
    assert cached.hits == 1 and list(first) == list(again) == ["bass", "drums", "piano", "other", "vocals"]
    assert np.array_equal(first["vocals"].samples, again["vocals"].samples)


def test_wiener_filter_reproduces_spleeter_mwf_and_runs_in_the_separator(tmp_path):
    from musicsim_gui.separation.spleeter.wiener import separate_waveform_wiener

    config, tensors, _ = convert_release(FIXTURES / "5stems-tiny", **SMALL_STFT)
    net = build_spleeter(config, estimates=True)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()})
    reference = np.load(FIXTURES / "5stems-tiny" / "reference.npz")
    with torch.no_grad():
        stems = separate_waveform_wiener(reference["waveform"], lambda m: net(torch.from_numpy(m))[1].numpy(),
                                         config)
    ours = np.stack([stems[name] for name in config.instruments])
    assert np.abs(ours - reference["wiener"]).max() < 1e-5          # norbert.wiener as Spleeter calls it
    assert np.abs(reference["wiener"] - reference["stems"]).max() > 0.1  # and not the ratio-mask result
    folder = install_spleeter(FIXTURES / "5stems-tiny", tmp_path, wiener=True, **SMALL_STFT)
    separator = open_spleeter(folder, backend="torch", device="cpu")
    clip = AudioClip(reference["waveform"], 44100, "mix")
    seen = []
    result = separator.separate(clip, progress=lambda f, m: seen.append(m))
    assert any("Wiener" in m for m in seen)
    assert np.abs(result["piano"].samples - stems["piano"]).max() < 1e-5
