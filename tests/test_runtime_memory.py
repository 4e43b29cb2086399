"""Working memory after a job: ONNX Runtime's arena gives back what a run allocated, and separators end every
separation (finished or cancelled) with a run that does so."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from separation_support import synthetic_stems

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.core.errors import CancelledError
from musicsim_gui.runtime.backend import OnnxBackend, unload_all
from musicsim_gui.separation.builtin import RELEASE_FRAMES, open_masknet
from musicsim_gui.separation.masknet import build_masknet, debug_config
from musicsim_gui.training.separation.export import export_model

RATE = 44100
STATUS = Path("/proc/self/status")


def resident_mb() -> float:
    for line in STATUS.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


class Spread(torch.nn.Module):
    """y = sum over a wide intermediate: each row of x is spread over 4096 columns, so a batch of 4096 rows
    holds 64 MB in the middle of the graph (ONNX Runtime's arena keeps it for later runs)."""

    def __init__(self) -> None:
        super().__init__()
        self.spread = torch.nn.Linear(16, 4096)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.spread(x)).sum(dim=1, keepdim=True)


@pytest.fixture()
def spread_graph(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "spread.onnx"
    torch.onnx.export(Spread().eval(), (torch.zeros(2, 16),), str(path), input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "rows"}, "y": {0: "rows"}}, opset_version=17, dynamo=False)
    unload_all()
    yield path
    unload_all()


@pytest.mark.skipif(not STATUS.exists(), reason="resident memory is read from /proc")
def test_a_releasing_run_gives_the_same_outputs_and_gives_back_what_earlier_runs_left_in_the_arena(spread_graph):
    backend = OnnxBackend(spread_graph, device="cpu", threads=1)
    small = np.random.default_rng(1).standard_normal((4, 16)).astype(np.float32)
    expected = backend.run({"x": small})["y"]
    assert np.array_equal(backend.run({"x": small}, release_memory=True)["y"], expected)

    before = resident_mb()
    large = np.random.default_rng(2).standard_normal((16384, 16)).astype(np.float32)  # 256 MB intermediate
    backend.run({"x": large})
    grown = resident_mb() - before
    assert grown > 150, f"the large run added only {grown:.0f} MB: nothing to give back"
    backend.run({"x": small})
    kept = resident_mb() - before
    assert kept > 0.6 * grown, "a plain run already gave the memory back: the arena is not what this test thinks"
    assert np.array_equal(backend.run({"x": small}, release_memory=True)["y"], expected)
    left = resident_mb() - before
    assert left < 0.3 * grown, f"after a releasing run {left:.0f} of {grown:.0f} MB were still held"


class RecordingBackend:
    """The real ONNX backend, with each run's frame count and `release_memory` flag written down."""

    def __init__(self, backend) -> None:
        self.backend, self.name, self.calls = backend, backend.name, []

    def run(self, inputs, release_memory=False):
        self.calls.append((inputs["magnitude"].shape[-1], release_memory))
        return self.backend.run(inputs, release_memory=release_memory)


@pytest.fixture(scope="module")
def separator_folder(tmp_path_factory):
    config = replace(debug_config(), song_context=True, stereo_cue=True)
    torch.manual_seed(5)
    folder = tmp_path_factory.mktemp("release") / "model"
    export_model(build_masknet(config).eval(), config, folder, name="separation-release", version="1.0",
                 chunk_seconds=4.0)
    return folder


@pytest.fixture(scope="module")
def clip():
    stems = synthetic_stems(9.0, RATE, 21)
    return AudioClip(sum(stems.values()).astype(np.float32), RATE)


def test_a_separation_ends_with_a_silent_run_that_releases_memory_and_keeps_the_stems(separator_folder, clip):
    separator = open_masknet(separator_folder, backend="onnx")
    recording = RecordingBackend(separator.backend)
    separator.backend = recording
    stems = separator.separate(clip)
    assert recording.calls[-1] == (RELEASE_FRAMES, True)
    assert all(not released for _frames, released in recording.calls[:-1])
    assert len(recording.calls) == 4  # three 4 s chunks heard once, then the release
    again = separator.separate(clip)  # the next separation allocates afresh and gives the same stems
    for name, stem in stems.items():
        assert np.array_equal(stem.samples, again[name].samples)


def test_a_cancelled_separation_also_releases_memory(separator_folder, clip):
    separator = open_masknet(separator_folder, backend="onnx")
    recording = RecordingBackend(separator.backend)
    separator.backend = recording
    def cancel() -> bool:
        return len(recording.calls) >= 2

    with pytest.raises(CancelledError):
        separator.separate(clip, cancel=cancel)
    assert recording.calls[-1] == (RELEASE_FRAMES, True)
    assert len(recording.calls) == 3  # two chunks heard, then the release
