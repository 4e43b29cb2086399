"""Benchmark: ViT+WaveGAN, 4 stems × 30 s, ONNX Runtime vs torch eager — same model, same process, same inputs.

Usage: python bench/bench_generation.py [MODEL_FOLDER] [--repeats 5] [--threads N]
(default folder: models/vit-wavegan-lofi; when it is missing or ships ONNX only, the `small` config with random
weights is exported to a temporary folder — the timing does not depend on the weights).

Three timings per backend (median of `repeats`, after one warm-up):
- take: `Generator.generate` of 4 instruments × 30 s, end to end with the embedding cache emptied first
  (features, tempo, encoder, heads, loop, resample).
- +stems: the same take with the reference's stems given, as the studio gives a separated project's (the band
  statistics of each stem's 30 s chunk and the reference match of the loops; the separation itself is not
  timed: the studio has the stems already).
- model: the encoder plus one heads call (what the backend itself runs for that request).
- dense: heads for 15 consecutive windows per instrument (≈ 30 s of audio without looping), the cost a
  non-looping generator of the same architecture would pay.
Goal: take ≤ 2 s on this CPU and ORT ≥ 1.5× faster than torch on the model part.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.generation.base import GenerationRequest
from musicsim_gui.generation.vit_wavegan.config import ModelConfig, get_config
from musicsim_gui.generation.vit_wavegan.export import example_inputs, export_folder
from musicsim_gui.generation.vit_wavegan.loading import load_folder
from musicsim_gui.generation.vit_wavegan.model import build_model
from musicsim_gui.runtime.paths import bundled_models_dir


def median_seconds(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def reference_song(seconds: float = 30.0, rate: int = 44100) -> AudioClip:
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 110 * t) * (np.mod(t, 0.6) < 0.15) + 0.05 * np.sin(2 * np.pi * 440 * t)
    return AudioClip(np.stack([x, x]).astype(np.float32), rate, "bench")


def bench(folder: Path, repeats: int) -> dict[str, dict[str, float]]:
    instruments = ("bass", "drums", "piano", "other")
    request = GenerationRequest(reference_song(), instruments, (0,), 1, {"seconds": 30.0})
    with_stems = GenerationRequest(request.reference, instruments, (0,), 1, {"seconds": 30.0},
                                   {name: reference_song(rate=44100 + index) for index, name in enumerate(instruments)})
    results = {}
    for backend in ("onnx", "torch"):
        generator = load_folder(folder, backend)
        config = generator.config
        inputs = example_inputs(config, batch=1)
        dense = example_inputs(config, batch=int(np.ceil(30.0 / generator.window_seconds)))

        def model(g=generator, x=inputs):
            embedding = g.encoder.run({"mel": x["mel"]})["embedding"]
            g.heads.run({"embedding": embedding, "tempo": x["tempo"], "z": x["z"]})

        results[generator.backend_name] = {
            "take": median_seconds(lambda g=generator: (g.forget(), g.generate(request)), repeats),
            "+stems": median_seconds(lambda g=generator: (g.forget(), g.generate(with_stems)), repeats),
            "model": median_seconds(model, repeats),
            "dense": median_seconds(lambda g=generator, x=dense: g.heads.run(
                {k: x[k] for k in ("embedding", "tempo", "z")}), repeats),
        }
    return results


def shipped_config(folder: Path) -> ModelConfig:
    """The architecture recorded in a model folder's manifest, or the `small` config when there is none."""
    try:
        return ModelConfig.from_dict(json.loads((folder / "manifest.json").read_text())["config"]["model"])
    except (OSError, KeyError, ValueError):
        return get_config("small")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(bundled_models_dir() / "vit-wavegan-lofi"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (ORT uses its default pool)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    folder = Path(args.folder)
    with tempfile.TemporaryDirectory() as scratch:
        if (folder / "manifest.json").is_file() and not (folder / "weights.safetensors").is_file():
            from musicsim_gui.runtime.manifest import load_manifest
            from musicsim_gui.training.vit_wavegan.onnx_weights import model_from_folder

            # An ONNX-only folder: the same weights read back from its graphs, exported with torch weights
            # (post-filter and bandwidth extension as shipped) so both backends run the shipped model.
            shipped = load_manifest(folder)
            model = model_from_folder(folder, keep_post_filter=True)
            copy = Path(scratch) / "shipped-with-weights"
            export_folder(model.eval(), copy, shipped.name, shipped.version)
            manifest_path = copy / "manifest.json"
            data = json.loads(manifest_path.read_text())
            data["config"] = {**data["config"], **{k: v for k, v in shipped.config.items() if k != "model"}}
            manifest_path.write_text(json.dumps(data))
            folder = copy
            print(f"(ONNX-only folder {args.folder}: torch runs the same weights, read back from its graphs)")
        elif not (folder / "manifest.json").is_file():
            config = shipped_config(folder)
            folder = Path(scratch) / "random-weights"
            export_folder(build_model(config), folder, "random-weights", "0")
            print(f"(no model in {args.folder}: timing its architecture ({config.name}) with random weights)")
        results = bench(folder, args.repeats)
    print(f"model folder: {args.folder}; torch threads {torch.get_num_threads()}; median of {args.repeats}")
    print(f"{'backend':<36}{'take 4×30 s':>14}{'+stems':>10}{'model':>10}{'dense 30 s':>12}")
    for name, row in results.items():
        print(f"{name:<36}{row['take']:>13.3f}s{row['+stems']:>9.3f}s{row['model']:>9.3f}s{row['dense']:>11.3f}s")
    onnx_row, torch_row = (next(r for n, r in results.items() if n.startswith(p)) for p in ("onnx", "torch"))
    print(f"ORT speed-up vs torch: take {torch_row['take'] / onnx_row['take']:.2f}×, "
          f"model {torch_row['model'] / onnx_row['model']:.2f}×, dense {torch_row['dense'] / onnx_row['dense']:.2f}×")


if __name__ == "__main__":
    main()
