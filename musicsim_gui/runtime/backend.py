"""Backends that run a model: ONNX Runtime and torch, behind one `run(dict) -> dict` interface.

Architecture:
1. `Backend` is the protocol every model runner satisfies: `run(inputs) -> outputs` on NumPy arrays,
   with `.name` saying what actually ran (e.g. "onnxruntime:CPUExecutionProvider").
2. `OnnxBackend` opens an InferenceSession with the best installed execution providers (TensorRT, CUDA,
   CPU, in that order) and logs which one ran. Sessions are cached per (file, mtime, providers, threads) so
   a second separation does not pay the load again; `unload_all()` drops them and frees GPU memory.
3. Thread budget: a session uses `session_threads()` intra-op threads, which is `$OMP_NUM_THREADS` unless
   the caller passes `threads`. Job workers set that variable to their cap, the same one torch and BLAS
   read when they start; ONNX Runtime itself ignores it and would otherwise start one thread per core.
4. `TorchBackend` wraps an `nn.Module` whose forward takes the inputs as keyword tensors.
5. `choose_backend` resolves "auto" preferences into a concrete (kind, device) with a reason. A device
   that cannot run (device "cuda" without a usable GPU) is a ModelError naming the problem; nothing
   falls back to the CPU behind the user's back.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from musicsim_gui.core.errors import ModelError

log = logging.getLogger(__name__)

_PROVIDER_ORDER = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
_GPU_PROVIDERS = frozenset(_PROVIDER_ORDER[:2])
THREADS_VARIABLE = "OMP_NUM_THREADS"
"""This process's thread budget for model code (job workers set it to their cap; see `session_threads`)."""
_sessions: dict[tuple[str, float, tuple[str, ...], int], Any] = {}
_lock = threading.Lock()


class Backend(Protocol):
    """Runs a model on NumPy inputs and returns NumPy outputs, both keyed by tensor name."""

    name: str

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]: ...


def session_threads(threads: int | None = None) -> int:
    """Intra-op threads for a new ONNX Runtime session.

    `threads` when given (an explicit override), else `$OMP_NUM_THREADS` (the budget a job worker sets), else 0,
    which is ONNX Runtime's default of one thread per physical core.
    """
    if threads is None:
        raw = os.environ.get(THREADS_VARIABLE, "").strip()
        threads = int(raw) if raw.isdecimal() else 0
    if threads < 0:
        raise ModelError(f"ONNX Runtime threads must be 0 (automatic) or more, got {threads}")
    return threads


def _resolve_providers(providers: str | list[str] | tuple[str, ...], device: str = "auto") -> tuple[str, ...]:
    import onnxruntime as ort

    installed = ort.get_available_providers()
    if providers == "auto":
        wanted = ("CPUExecutionProvider",) if device == "cpu" else _PROVIDER_ORDER
        if device == "cuda":
            wanted = _PROVIDER_ORDER[:2]
        chosen = tuple(p for p in wanted if p in installed)
    else:
        chosen = tuple(p for p in providers if p in installed)
    if not chosen and device == "cuda":
        raise ModelError("device 'cuda' requested but ONNX Runtime has no CUDA provider installed "
                         f"(installed: {', '.join(installed)}); choose device 'cpu' or 'auto'")
    if not chosen:
        raise ModelError(f"none of the execution providers {providers!r} (device {device}) is installed; "
                         f"installed: {', '.join(installed)}")
    return chosen


def _session_options(threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1  # sequential execution: graph nodes run one after another
    return options


def _open_session(path: Path, providers: tuple[str, ...], threads: int) -> Any:
    import onnxruntime as ort

    try:
        key = (str(path.resolve()), path.stat().st_mtime, providers, threads)
    except OSError as error:
        raise ModelError(f"{path}: cannot read the ONNX model ({error.strerror})") from error
    with _lock:
        if key in _sessions:
            return _sessions[key]
        try:
            session = ort.InferenceSession(str(path), sess_options=_session_options(threads),
                                           providers=list(providers))
        except Exception as error:  # ORT raises its own exception types for corrupt or unsupported graphs
            raise ModelError(f"{path}: not a valid ONNX model ({str(error).splitlines()[0][:200]})") from error
        if set(providers) <= _GPU_PROVIDERS and session.get_providers()[0] not in _GPU_PROVIDERS:
            raise ModelError(f"{path}: the GPU was requested but ONNX Runtime could not start "
                             f"{' or '.join(providers)} (no usable GPU or driver); choose device 'cpu' or 'auto'")
        _sessions[key] = session
        return session


class OnnxBackend:
    """An ONNX Runtime session on `path`.

    Args:
        path: the .onnx file.
        providers: "auto" (TensorRT, CUDA, CPU — whichever are installed) or an explicit list.
        device: "auto", "cpu" or "cuda"; narrows the automatic provider choice ("cuda" without a usable GPU
            raises ModelError).
        threads: intra-op threads; None takes this process's budget (see `session_threads`).

    Attributes:
        providers: the execution providers the session runs with, best first.
        device: "cuda" when a GPU provider runs the model, else "cpu".
        threads: the intra-op thread count the session was opened with (0: ONNX Runtime's default).
    """

    def __init__(self, path: str | Path, providers: str | list[str] = "auto", device: str = "auto",
                 threads: int | None = None) -> None:
        self.path = Path(path)
        self.session = _open_session(self.path, _resolve_providers(providers, device), session_threads(threads))
        self.providers = tuple(self.session.get_providers())
        self.device = "cuda" if self.providers[0] in _GPU_PROVIDERS else "cpu"
        self.threads = self.session.get_session_options().intra_op_num_threads
        self.name = f"onnxruntime:{self.providers[0]}"
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_names = [o.name for o in self.session.get_outputs()]
        log.info("%s runs on %s with %s intra-op threads", self.path.name, self.name, self.threads or "default")

    def metadata(self) -> dict[str, str]:
        """The model's ONNX `metadata_props` as a dict."""
        return dict(self.session.get_modelmeta().custom_metadata_map)

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        feeds = {name: np.ascontiguousarray(inputs[name]) for name in self.input_names}
        results = self.session.run(self.output_names, feeds)
        return dict(zip(self.output_names, results, strict=True))


class TorchBackend:
    """Runs an `nn.Module` (forward takes the inputs as keyword tensors, returns a tensor or a dict)."""

    def __init__(self, module: Any, device: str = "auto", output_names: tuple[str, ...] = ("output",)) -> None:
        import torch

        self.device = torch.device(torch_device(device))
        self.module = module.to(self.device).eval()
        self.output_names = output_names
        self.name = f"torch:{self.device.type}"

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        with torch.inference_mode():
            tensors = {k: torch.from_numpy(np.ascontiguousarray(v)).to(self.device) for k, v in inputs.items()}
            out = self.module(**tensors)
        if not isinstance(out, dict):
            out = dict(zip(self.output_names, out if isinstance(out, tuple) else (out,), strict=True))
        return {k: v.detach().cpu().numpy() for k, v in out.items()}


def torch_device(device: str) -> str:
    """"auto" | "cpu" | "cuda" → the torch device to use ("auto": a CUDA GPU when torch sees one); ModelError
    for "cuda" without one."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        _require_torch_cuda()
    return device


@dataclass(frozen=True)
class BackendChoice:
    """A resolved backend: `kind` ("onnx" | "torch"), `device` ("cpu" | "cuda") and why."""

    kind: str
    device: str
    reason: str


def _onnx_has_cuda() -> bool:
    import onnxruntime as ort

    return bool({"CUDAExecutionProvider", "TensorrtExecutionProvider"} & set(ort.get_available_providers()))


def _torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def choose_backend(preference: str = "auto", device: str = "auto") -> BackendChoice:
    """Resolve `preference` ("auto" | "onnx" | "torch") and `device` ("auto" | "cpu" | "cuda").

    "auto" prefers ONNX Runtime (no torch needed); a forced choice that cannot run raises ModelError.
    """
    if preference not in ("auto", "onnx", "torch") or device not in ("auto", "cpu", "cuda"):
        raise ModelError(f"unknown backend {preference!r} or device {device!r} "
                         "(backends: auto, onnx, torch; devices: auto, cpu, cuda)")
    if preference in ("auto", "onnx"):
        cuda = _onnx_has_cuda()
        if device == "cuda" and not cuda:
            if preference == "onnx":
                raise ModelError("device 'cuda' requested but ONNX Runtime has no CUDA provider installed; "
                                 "choose device 'cpu' or 'auto'")
        else:
            chosen = device if device != "auto" else ("cuda" if cuda else "cpu")
            return BackendChoice("onnx", chosen, f"ONNX Runtime on {chosen}")
    if preference == "auto" and device == "cuda":
        _require_torch_cuda("ONNX Runtime has no CUDA provider installed and ")
    if not _torch_available():
        raise ModelError("the torch backend was requested but torch is not installed")
    chosen = torch_device(device)
    return BackendChoice("torch", chosen, f"torch on {chosen}")


def _require_torch_cuda(before: str = "") -> None:
    """Raise ModelError unless torch is installed and sees a CUDA GPU (`before` starts the reason)."""
    if not _torch_available():
        raise ModelError(f"device 'cuda' requested but {before}torch is not installed; choose device 'cpu' or 'auto'")
    import torch

    if not torch.cuda.is_available():
        raise ModelError(f"device 'cuda' requested but {before}torch sees no CUDA GPU; "
                         "choose device 'cpu' or 'auto'")


def unload_all() -> int:
    """Drop every cached ONNX session and release torch's cached GPU memory; returns sessions dropped."""
    import sys

    with _lock:
        count = len(_sessions)
        _sessions.clear()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()
    return count


def loaded_sessions() -> int:
    """How many ONNX sessions are cached (the counter "Unload models" resets)."""
    return len(_sessions)
