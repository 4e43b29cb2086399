"""ONNX Runtime sessions honour one thread budget: the job worker's cap, or an explicit per-session override."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from musicsim_gui.core.errors import ModelError
from musicsim_gui.jobs import Done, JobContext, JobSpec, ProcessRunner, job_function
from musicsim_gui.runtime.backend import THREADS_VARIABLE, OnnxBackend, session_threads, unload_all


def write_matmul_onnx(path) -> None:
    """A one-node graph `y [1, 2] = x [1, 3] @ W`, built with the onnx helpers (no exporter needed)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(3, 2), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "matmul",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


@dataclass(frozen=True)
class OnnxThreads(JobSpec):
    """Opens an ONNX session inside the worker; reports its thread setting and the OS threads it started."""

    model: str


@job_function(OnnxThreads)
def run_onnx_threads(spec: OnnxThreads, context: JobContext) -> tuple[int, int, int]:
    import onnxruntime  # noqa: F401 - loaded first, so only the session's own threads are counted below

    before = len(os.listdir("/proc/self/task"))
    backend = OnnxBackend(spec.model)
    started = len(os.listdir("/proc/self/task")) - before
    return backend.threads, backend.session.get_session_options().intra_op_num_threads, started


@pytest.fixture
def matmul_onnx(tmp_path):
    path = tmp_path / "matmul.onnx"
    write_matmul_onnx(path)
    unload_all()
    yield path
    unload_all()


def test_sessions_take_the_process_budget_unless_overridden(matmul_onnx, monkeypatch):
    monkeypatch.setenv(THREADS_VARIABLE, "3")
    budgeted = OnnxBackend(matmul_onnx)
    assert budgeted.threads == 3
    assert budgeted.session.get_session_options().intra_op_num_threads == 3
    assert budgeted.session.get_session_options().inter_op_num_threads == 1
    overridden = OnnxBackend(matmul_onnx, threads=2)
    assert overridden.threads == 2 and overridden.session is not budgeted.session
    assert OnnxBackend(matmul_onnx).session is budgeted.session  # cached per thread count
    monkeypatch.delenv(THREADS_VARIABLE)
    assert OnnxBackend(matmul_onnx).threads == 0  # no budget: ONNX Runtime's own default


def test_thread_budget_values(monkeypatch):
    monkeypatch.setenv(THREADS_VARIABLE, "not a number")
    assert session_threads() == 0
    monkeypatch.setenv(THREADS_VARIABLE, " 4 ")
    assert session_threads() == 4 and session_threads(1) == 1
    with pytest.raises(ModelError, match="threads must be 0"):
        session_threads(-2)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads through /proc")
def test_a_session_opened_in_a_worker_uses_the_worker_cap(matmul_onnx, monkeypatch):
    monkeypatch.setenv(THREADS_VARIABLE, "64")  # an inherited oversubscription is overridden in the worker
    cap = max(1, (os.cpu_count() or 2) - 1)
    for runner, expected in ((ProcessRunner(), cap), (ProcessRunner(threads=3), 3)):
        handle = runner.submit(OnnxThreads(str(matmul_onnx)))
        assert isinstance(handle.wait(60.0)[-1], Done), handle.error
        threads, read_back, started = handle.result
        assert threads == read_back == expected
        assert started == expected - 1  # the intra-op pool: the calling thread plus `expected - 1` workers
