"""Benchmark: separation speed in × real time — the built-in network through ONNX Runtime, the same network
through torch, and the DSP fallback, on the same audio in the same run.

1. Model load time is printed separately (it is paid once; the studio keeps the session warm).
2. Each separator runs `--repeats` times after one warm-up run; the median wall time and the CPU time
   (all threads of this process) are printed, with the ratio to real time.
3. A repeat request served from the separation cache is timed last.

Audio: the middle `--seconds` of `--song`, by default the bundled demo song (a synthetic stereo signal if
neither can be read). The network is `models/separation-builtin` if installed, else the same architecture with random
weights (identical cost), exported to a temporary folder.

`--model DIR` times another separator folder instead; `--compare-model DIR` also times that folder through
ONNX Runtime in the same run (e.g. an earlier version, or the same weights with a chunk graph rather than a
song-wide one) and prints the ratio.

Run: `.venv/bin/python bench/bench_separation.py [--seconds 60] [--repeats 3] [--threads 2] [--compare-model DIR]`
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.runtime.paths import bundled_models_dir
from musicsim_gui.separation.builtin import open_masknet
from musicsim_gui.separation.cache import CachedSeparator
from musicsim_gui.separation.dsp import DspSeparator

DEMO_SONG = Path(__file__).resolve().parents[1] / "resources" / "demo" / "reference.flac"
"""The default input: the bundled demo song, present on every checkout."""


def test_audio(song: Path | None, seconds: float) -> AudioClip:
    from musicsim_gui.audio.io import load_audio

    candidates = [song] if song else [DEMO_SONG]
    for path in candidates:
        if path and path.is_file():
            clip = load_audio(path)
            length = min(clip.frames, int(seconds * clip.sample_rate))
            start = (clip.frames - length) // 2
            return AudioClip(clip.samples[:, start:start + length], clip.sample_rate, str(path))
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * 44100)) / 44100
    tone = 0.2 * np.sin(2 * np.pi * 110 * t) + 0.05 * rng.standard_normal(t.size)
    return AudioClip(np.stack([tone, np.roll(tone, 100)]).astype(np.float32), 44100, "synthetic")


def model_dir(tmp: Path, chosen: Path | None = None) -> tuple[Path, str]:
    if chosen is not None:
        return chosen, "given folder"
    bundled = bundled_models_dir() / "separation-builtin"
    if (bundled / "manifest.json").is_file():
        return bundled, "trained weights"
    import torch

    from musicsim_gui.separation.masknet import build_masknet
    from musicsim_gui.separation.masknet_config import MaskNetConfig
    from musicsim_gui.training.separation.export import export_model

    torch.manual_seed(0)
    config = MaskNetConfig()
    export_model(build_masknet(config), config, tmp / "model", name="bench", version="random")
    return tmp / "model", "random weights, same architecture"


def timed(separator, clip: AudioClip, repeats: int) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds) over `repeats` runs after one warm-up."""
    separator.separate(clip)
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        separator.separate(clip)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (ONNX Runtime uses its default)")
    parser.add_argument("--song", type=Path, default=None)
    parser.add_argument("--model", type=Path, default=None, help="separator folder (default: the bundled one)")
    parser.add_argument("--compare-model", type=Path, default=None,
                        help="also time this separator folder through ONNX Runtime, same audio, same run")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    clip = test_audio(args.song, args.seconds)
    print(f"audio: {clip.duration:.1f} s, {clip.channels} ch, {clip.sample_rate} Hz ({clip.source}); "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder, weights = model_dir(Path(tmp), args.model)
        rows = []
        for backend in ("onnx", "torch"):
            started = time.perf_counter()
            separator = open_masknet(folder, backend, "cpu")
            load = time.perf_counter() - started
            rows.append((f"builtin {separator.version} ({separator.backend_name})", load,
                         *timed(separator, clip, args.repeats)))
        rows.append(("dsp (numpy/scipy)", 0.0, *timed(DspSeparator(), clip, args.repeats)))
        if args.compare_model is not None:
            started = time.perf_counter()
            other = open_masknet(args.compare_model, "onnx", "cpu")
            load = time.perf_counter() - started
            rows.append((f"{args.compare_model.name} {other.version} ({other.backend_name})", load,
                         *timed(other, clip, args.repeats)))
        cached = CachedSeparator(open_masknet(folder, "onnx", "cpu"), root=Path(tmp) / "cache")
        cached.separate(clip)
        hit = time.perf_counter()
        cached.separate(clip)
        hit = time.perf_counter() - hit
    print(f"network: {folder} ({weights})")
    print(f"{'separator':44} {'load s':>7} {'wall s':>7} {'× real time':>12} {'CPU s':>7} {'× RT (CPU)':>11}")
    for name, load, wall, cpu in rows:
        print(f"{name:44} {load:7.2f} {wall:7.2f} {clip.duration / wall:12.1f} {cpu:7.2f} "
              f"{clip.duration / cpu:11.1f}")
    onnx_wall, torch_wall, dsp_wall = rows[0][2], rows[1][2], rows[2][2]
    print(f"ONNX Runtime vs torch: {torch_wall / onnx_wall:.2f}x faster; vs dsp: {dsp_wall / onnx_wall:.2f}x faster")
    if args.compare_model is not None:
        print(f"{rows[0][0]} vs {rows[3][0]}: {rows[3][2] / onnx_wall:.2f}x the speed")
    print(f"cache hit: {hit * 1000:.0f} ms")


if __name__ == "__main__":
    main()
