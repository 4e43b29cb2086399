"""Exported ONNX files carry their identity and no trace of the machine that exported them."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import torch

from musicsim_gui.runtime.onnx_files import finish_onnx_file


def test_finish_drops_stack_traces_keeps_the_model_and_adds_metadata(tmp_path):
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()).eval()
    path = tmp_path / "tiny.onnx"
    torch.onnx.export(module, (torch.zeros(2, 4),), str(path), input_names=["x"], output_names=["y"],
                      dynamo=True, external_data=False, verbose=False)
    raw = path.read_bytes()
    assert __file__.encode() in raw or b"stack_trace" in raw  # the exporter records where it traced from
    finish_onnx_file(path, {"family": "test", "version": 3})
    finished = path.read_bytes()
    assert __file__.encode() not in finished and b"stack_trace" not in finished
    assert {p.key: p.value for p in onnx.load(str(path)).metadata_props}["version"] == "3"
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        expected = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(session.run(["y"], {"x": x})[0], expected, atol=1e-6)
