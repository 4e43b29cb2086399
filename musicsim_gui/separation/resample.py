"""Sample-rate conversion between a clip and a model's rate (soxr, high quality), keeping frame counts exact."""

from __future__ import annotations

import numpy as np


def resample_samples(samples: np.ndarray, rate_in: int, rate_out: int, frames: int | None = None) -> np.ndarray:
    """Resample float32 `[C, T]` from `rate_in` to `rate_out` Hz; pad/trim to `frames` if given."""
    if rate_in != rate_out:
        import soxr

        samples = soxr.resample(samples.T, rate_in, rate_out, quality="HQ").T
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if frames is not None and samples.shape[-1] != frames:
        if samples.shape[-1] > frames:
            samples = samples[:, :frames]
        else:
            samples = np.pad(samples, [(0, 0), (0, frames - samples.shape[-1])])
    return samples
