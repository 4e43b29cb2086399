"""Tiny synthetic multi-stem corpora and debug separator models for the separation and runtime tests."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf

STEMS = ("bass", "drums", "piano", "other")


def synthetic_stems(seconds: float, sample_rate: int, seed: int) -> dict[str, np.ndarray]:
    """Four stereo float32 `[2, T]` stems with distinct spectra: low sines, noise hits, mid tones, high saws."""
    rng = np.random.default_rng(seed)
    frames = int(seconds * sample_rate)
    t = np.arange(frames) / sample_rate
    beat = 0.25 + 0.1 * rng.random()
    phase = (t % beat) / beat
    decay = np.exp(-8 * phase)
    bass = 0.3 * np.sin(2 * np.pi * rng.uniform(50, 110) * t) * (0.6 + 0.4 * decay)
    drums = 0.3 * rng.standard_normal(frames) * np.exp(-30 * phase)
    piano = 0.2 * sum(np.sin(2 * np.pi * k * rng.uniform(250, 500) * t) / k for k in (1, 2, 3)) * decay
    saw = (t * rng.uniform(1500, 3000)) % 1.0 - 0.5
    other = 0.1 * saw * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
    out = {}
    for name, mono in zip(STEMS, (bass, drums, piano, other), strict=True):
        pan = rng.uniform(0.6, 1.0)
        out[name] = np.stack([mono * pan, mono * (1.6 - pan)]).astype(np.float32)
    return out


def write_corpus(root: Path, songs: dict[str, int], seconds: float = 6.0, sample_rate: int = 44100) -> Path:
    """Write `root/<split>/<song>/{mix,stems}.flac + meta.json`; `songs` maps split → song count."""
    for split, count in songs.items():
        for index in range(count):
            folder = root / split / f"song{index:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            stems = synthetic_stems(seconds, sample_rate, seed=zlib.crc32(f"{split}/{index}".encode()) % 10_000)  # the same songs in every process
            for name, audio in stems.items():
                sf.write(folder / f"{name}.flac", audio.T, sample_rate, subtype="PCM_24")
            sf.write(folder / "mix.flac", sum(stems.values()).T, sample_rate, subtype="PCM_24")
            (folder / "meta.json").write_text(json.dumps({"sample_rate": sample_rate, "seconds": seconds}))
    return root


_BUILT: dict[str, Path] = {}


def build_debug_model(out_dir: Path, name: str = "separation-debug") -> Path:
    """A random-weight debug mask network (ONNX + safetensors + manifest) copied into `out_dir`.

    The export runs once per test process; later calls copy the folder.
    """
    import atexit
    import shutil
    import tempfile

    import torch

    from musicsim_gui.separation.masknet import build_masknet, debug_config
    from musicsim_gui.training.separation.export import export_model

    if name not in _BUILT:
        torch.manual_seed(0)
        config = debug_config()
        scratch = tempfile.mkdtemp(prefix="musicsim-debug-model-")
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        folder = Path(scratch) / name
        export_model(build_masknet(config), config, folder, name=name, version="debug",
                     provenance="random weights built by the test suite",
                     history=[{"version": "debug", "text": "Random weights, for tests."}])
        _BUILT[name] = folder
    shutil.copytree(_BUILT[name], out_dir)
    return out_dir


def trained_debug_model(root: Path, corpus: Path) -> Path:
    """`root/model`: a stereo-cue debug network trained 10 steps on `corpus`, exported with the Wiener filter,
    its metrics holding a made-up test figure (which a change of its post-filters must remove)."""
    from dataclasses import replace

    from musicsim_gui.runtime.manifest import load_manifest, write_manifest
    from musicsim_gui.separation.masknet import debug_config
    from musicsim_gui.training.separation.export import export_run
    from musicsim_gui.training.separation.train import TrainConfig, train

    config = TrainConfig(corpus=str(corpus), run_dir=str(root / "run"), steps=10, batch=4, segment_seconds=1.0,
                         val_every=10, ckpt_every=10, val_count=2, warmup=2, lr=3e-3,
                         model=replace(debug_config(), stereo_cue=True))
    train(config, progress=False)
    export_run(root / "run", root / "model")
    manifest = load_manifest(root / "model")
    write_manifest(root / "model", replace(manifest, metrics=dict(manifest.metrics, test_sdr_mean_db=1.0)))
    return root / "model"
