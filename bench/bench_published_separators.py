"""Benchmark: the published separators at full size (random weights, identical cost) in × real time.

Spleeter 5 stems through torch and through ONNX Runtime (the same network exported), and htdemucs_6s
through Demucs' `apply_model` (shifts 1, overlap 0.25), on the same synthetic stereo audio in one run.
Model build/export time is printed separately; each separator runs once after a 1-second warm-up.
The speed-up column is relative to Spleeter on torch.

Run: `.venv/bin/python bench/bench_published_separators.py [--seconds 30] [--threads 2] [--device cpu|cuda]`
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from musicsim_gui.separation.spleeter.config import preset
from musicsim_gui.separation.spleeter.install import export_onnx
from musicsim_gui.separation.spleeter.spectral import separate_waveform
from musicsim_gui.separation.spleeter.unet import build_spleeter


def _timed(run, audio: np.ndarray) -> float:
    run(audio[:, :44100])
    start = time.perf_counter()
    run(audio)
    return time.perf_counter() - start


def spleeter_runs(device: str) -> dict[str, object]:
    config = preset(5)
    start = time.perf_counter()
    net = build_spleeter(config).to(device)
    print(f"spleeter 5stems: built in {time.perf_counter() - start:.1f} s")

    def on_torch(audio: np.ndarray) -> None:
        with torch.inference_mode():
            separate_waveform(audio, lambda m: net(torch.from_numpy(m).to(device)).cpu().numpy(), config)

    runs: dict[str, object] = {"spleeter-5stems torch": on_torch}
    from musicsim_gui.runtime.backend import OnnxBackend

    path = Path(tempfile.mkdtemp()) / "spleeter.onnx"
    start = time.perf_counter()
    export_onnx({k: v.cpu().numpy() for k, v in net.state_dict().items()}, config, path)
    print(f"spleeter 5stems: ONNX export {time.perf_counter() - start:.1f} s, {path.stat().st_size / 1e6:.0f} MB")
    session = OnnxBackend(path, device=device)
    runs[f"spleeter-5stems {session.name}"] = lambda audio: separate_waveform(
        audio, lambda m: session.run({"magnitude": m})["masks"], config)
    return runs


def demucs_run(device: str):
    from demucs.apply import apply_model
    from demucs.htdemucs import HTDemucs

    model = HTDemucs(["drums", "bass", "other", "vocals", "guitar", "piano"]).eval().to(device)

    def run(audio: np.ndarray) -> None:
        with torch.inference_mode():
            apply_model(model, torch.from_numpy(audio)[None], shifts=1, overlap=0.25, device=device)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((2, int(44100 * args.seconds)))).astype(np.float32)
    runs = spleeter_runs(args.device)
    if importlib.util.find_spec("demucs") is not None:
        runs["htdemucs_6s torch"] = demucs_run(args.device)
    baseline = None
    print(f"{'separator':50s} {'seconds':>8s} {'RTF':>6s} {'× real time':>12s} {'vs torch Spleeter':>18s}")
    for name, run in runs.items():
        seconds = _timed(run, audio)
        baseline = baseline or seconds
        print(f"{name:50s} {seconds:8.1f} {seconds / args.seconds:6.2f} {args.seconds / seconds:12.1f} "
              f"{baseline / seconds:17.2f}×")


if __name__ == "__main__":
    main()
