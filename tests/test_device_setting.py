"""The studio's inference device ("auto" | "cpu" | "cuda") reaches ViT+WaveGAN and separation backends.

"cuda" on a machine without a usable GPU is a ModelError naming the problem (the convention of
`runtime.backend`: no silent fallback), never a traceback and never rough DSP stems instead.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import soundfile as sf
import torch

from musicsim_gui.core.errors import ModelError
from musicsim_gui.generation.base import get_generator
from musicsim_gui.generation.vit_wavegan.export import export_folder
from musicsim_gui.generation.vit_wavegan.loading import load_folder
from musicsim_gui.generation.vit_wavegan.model import build_model
from musicsim_gui.jobs import Done, Failed, Generate, Separate, SyncRunner
from musicsim_gui.runtime.backend import OnnxBackend
from musicsim_gui.runtime.paths import bundled_models_dir
from musicsim_gui.separation.base import get_separator

ORT_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()
TORCH_CUDA = torch.cuda.is_available()
no_gpu_only = pytest.mark.skipif(ORT_CUDA or TORCH_CUDA, reason="checks the message on a machine without a GPU")
needs_builtin = pytest.mark.skipif(not (bundled_models_dir() / "separation-builtin" / "manifest.json").is_file(),
                                   reason="the bundled separator is not in models/")


@pytest.fixture(scope="module")
def vit_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models") / "vit-wavegan-device"
    export_folder(build_model("debug", seed=1), folder, "vit-wavegan-device", "1")
    return folder


@pytest.fixture
def song(tmp_path):
    path = tmp_path / "song.wav"
    t = np.arange(22050, dtype=np.float32) / 22050
    sf.write(path, (0.3 * np.sin(2 * np.pi * 110 * t) * (np.mod(t, 0.5) < 0.1))[:, None], 22050)
    return path


def test_cpu_setting_reaches_the_vit_wavegan_backends(vit_folder):
    on_onnx = load_folder(vit_folder, "onnx", "cpu")
    assert on_onnx.heads.providers == on_onnx.encoder.providers == ("CPUExecutionProvider",)
    assert on_onnx.heads.device == "cpu"
    on_torch = get_generator(str(vit_folder), "torch", device="cpu")
    assert on_torch.heads.device.type == on_torch.encoder.device.type == "cpu"
    assert get_generator("vit-wavegan-debug", device="cpu").heads.device.type == "cpu"


@no_gpu_only
def test_cuda_without_a_gpu_names_the_problem(vit_folder):
    with pytest.raises(ModelError, match="'cuda' requested but ONNX Runtime has no CUDA provider installed and "
                                         "torch sees no CUDA GPU"):
        load_folder(vit_folder, "auto", "cuda")
    with pytest.raises(ModelError, match="'cuda' requested but ONNX Runtime has no CUDA provider"):
        load_folder(vit_folder, "onnx", "cuda")
    with pytest.raises(ModelError, match="'cuda' requested but torch sees no CUDA GPU"):
        get_generator(str(vit_folder), "torch", device="cuda")
    with pytest.raises(ModelError, match="'cuda' requested but torch sees no CUDA GPU"):
        get_generator("vit-wavegan-debug", device="cuda")
    with pytest.raises(ModelError, match="'cuda' requested but ONNX Runtime has no CUDA provider"):
        OnnxBackend(vit_folder / "heads.onnx", device="cuda")


@no_gpu_only
def test_generate_job_on_cuda_fails_with_the_reason_and_cpu_composes(vit_folder, song, tmp_path):
    spec = dict(reference=str(song), out_dir=str(tmp_path / "takes"), model=str(vit_folder), instruments=("bass",),
                seeds=(3,), params=(("seconds", 0.5),))
    failed = SyncRunner().submit(Generate(**spec, device="cuda")).poll()[-1]
    assert isinstance(failed, Failed) and failed.error_type == "ModelError"
    assert "device 'cuda' requested" in failed.message and "Traceback" not in failed.message
    assert not (tmp_path / "takes").exists()
    handle = SyncRunner().submit(Generate(**spec, device="cpu"))
    assert isinstance(handle.poll()[-1], Done), handle.error
    (take,) = handle.result
    assert take.params["backend"] == "onnxruntime:CPUExecutionProvider"


@needs_builtin
def test_cpu_setting_reaches_the_separator_backend():
    separator = get_separator("builtin", device="cpu", cache=False)
    assert separator.fallback_reason is None
    assert separator.backend.device == "cpu" and separator.backend.providers == ("CPUExecutionProvider",)


@no_gpu_only
@needs_builtin
def test_separate_on_cuda_names_the_problem_instead_of_using_dsp(song, tmp_path):
    with pytest.raises(ModelError, match="'cuda' requested"):
        get_separator("builtin", device="cuda", cache=False)
    failed = SyncRunner().submit(Separate(str(song), out_dir=str(tmp_path / "stems"), device="cuda")).poll()[-1]
    assert isinstance(failed, Failed) and "device 'cuda' requested" in failed.message
    assert get_separator("dsp", device="cuda", cache=False).id  # weight-free: the device does not matter
