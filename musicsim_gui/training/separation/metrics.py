"""Training metrics: one CSV row per evaluation, and a PNG of the loss and validation SDR curves."""

from __future__ import annotations

import csv
from pathlib import Path

METRICS_FILE = "metrics.csv"
PLOT_FILE = "loss.png"


def append_row(run_dir: Path, row: dict[str, float]) -> None:
    """Append `row` to `run_dir/metrics.csv` (the header is written with the first row)."""
    path = run_dir / METRICS_FILE
    new = not path.exists()
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})


def read_rows(run_dir: Path) -> list[dict[str, float]]:
    path = run_dir / METRICS_FILE
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def plot_metrics(run_dir: Path, loss_label: str = "L1 magnitude loss (relative)") -> Path | None:
    """Draw train/validation loss (`loss_label` on its axis) and validation SDR (dB) against step into
    `run_dir/loss.png`."""
    rows = read_rows(run_dir)
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(steps, [r["train_loss"] for r in rows], label="train")
    left.plot(steps, [r["val_loss"] for r in rows], label="validation")
    left.set(xlabel="step", ylabel=loss_label, title="loss")
    left.legend()
    for key in [k for k in rows[0] if k.startswith("val_sdr_")]:
        right.plot(steps, [r[key] for r in rows], label=key.removeprefix("val_sdr_"))
    right.set(xlabel="step", ylabel="SDR (dB, STFT domain)", title="validation SDR")
    right.legend(fontsize=8)
    fig.tight_layout()
    path = run_dir / PLOT_FILE
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
