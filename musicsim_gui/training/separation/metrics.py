"""Training metrics: one CSV row per evaluation, and a PNG of the loss and validation SDR curves."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from musicsim_gui.core.atomic import atomic_write_text

METRICS_FILE = "metrics.csv"
PLOT_FILE = "loss.png"


def append_row(run_dir: Path, row: dict[str, float]) -> None:
    """Add `row` to `run_dir/metrics.csv`, rewriting the file atomically (a kill mid-write leaves the old file,
    never a torn last row). Rows from this step on are dropped first: a run resumed from a checkpoint older than
    its last validation records those steps again, once."""
    kept = [r for r in read_rows(run_dir) if r["step"] < row["step"]]
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(row), lineterminator="\n")
    writer.writeheader()
    for values in [*kept, row]:
        writer.writerow({k: _cell(values.get(k, "")) for k in row})
    atomic_write_text(run_dir / METRICS_FILE, text.getvalue())


def _cell(value: object) -> object:
    """Floats to 6 significant digits; whole numbers (steps, song counts) without a fraction."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    return value


def read_rows(run_dir: Path) -> list[dict[str, float]]:
    """The rows of `run_dir/metrics.csv` as numbers; a column a row has no value in is left out of it."""
    path = run_dir / METRICS_FILE
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [{k: float(v) for k, v in row.items() if v not in (None, "")} for row in csv.DictReader(handle)]


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
