"""What a ViT+WaveGAN run leaves next to its checkpoint: metrics CSV, loss plot, audio samples.

- `metrics.csv`: one row per logged step (appended, so resuming continues the file).
- `losses.png`: reconstruction and adversarial terms against steps (rewritten at each checkpoint).
- `samples/step_<N>_<instrument>.wav`: 4 s loops from a fixed validation reference, every `sample_every` steps.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.io import save_audio
from musicsim_gui.core.atomic import atomic_path
from musicsim_gui.generation.vit_wavegan.loops import render_stem

COLUMNS = ("step", "seconds", "stft", "sliced", "adv", "critic", "wasserstein", "gp", "valid_stft", "valid_sliced",
           "diversity", "valid_seed_spread")


def append_metrics(path: Path, row: dict[str, float]) -> None:
    """Append one row (missing columns left empty), writing the header on a new file."""
    new = not path.is_file()
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow({k: (f"{row[k]:.6g}" if isinstance(row.get(k), float) else row.get(k, "")) for k in COLUMNS})



def read_metrics(path: Path) -> dict[str, np.ndarray]:
    """Columns of `metrics.csv` as float arrays (NaN where empty)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {k: np.array([float(r[k]) if r.get(k) else np.nan for r in rows]) for k in COLUMNS}


def plot_losses(metrics_csv: Path, png: Path) -> Path:
    """Two panels: reconstruction (train/valid loss of each objective logged) and the adversarial terms."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    m = read_metrics(metrics_csv)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True, constrained_layout=True)
    for key, label in (("stft", "STFT"), ("sliced", "sliced")):
        train, valid = ~np.isnan(m[key]), ~np.isnan(m[f"valid_{key}"])
        if train.any():
            top.plot(m["step"][train], m[key][train], label=f"train {label} loss", lw=0.8)
        if valid.any():
            top.plot(m["step"][valid], m[f"valid_{key}"][valid], "o-", label=f"valid {label} loss")
    top.set_ylabel("reconstruction loss")
    top.legend()
    for key, label in (("wasserstein", "critic: real − fake score"), ("adv", "generator adversarial loss")):
        seen = ~np.isnan(m[key])
        bottom.plot(m["step"][seen], m[key][seen], label=label, lw=0.8)
    bottom.set_xlabel("step")
    bottom.legend()
    with atomic_path(png, suffix=".png") as tmp:
        figure.savefig(tmp, format="png", dpi=90)
    plt.close(figure)
    return png


def write_samples(folder: Path, step: int, windows: np.ndarray, instruments: tuple[str, ...], sample_rate: int,
                  tempo_bpm: float, seconds: float = 4.0) -> list[Path]:
    """Render `windows [H, W]` as looped stems and write one WAV per instrument."""
    paths = []
    for index, name in enumerate(instruments):
        stem = render_stem(windows[index], sample_rate, tempo_bpm, seconds, sample_rate, channels=1)
        path = folder / f"step_{step:06d}_{name}.wav"
        save_audio(path, AudioClip(stem, sample_rate, name), bit_depth=16)
        paths.append(path)
    return paths
