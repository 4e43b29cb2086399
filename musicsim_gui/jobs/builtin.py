"""Self-contained jobs for diagnostics, tests and benchmarks: timed steps and CPU-heavy busy work.

`SleepSteps` exercises progress, failure and cooperative cancel; `BusyWork` keeps a core busy the way model
inference does (NumPy FFTs, and pure-Python loops that hold the GIL), to measure what it does to playback.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.jobs.spec import JobContext, JobSpec, job_function

BUSY_KINDS = ("fft", "python", "mixed")


@dataclass(frozen=True)
class SleepSteps(JobSpec):
    """Sleep `steps` times for `step_seconds`, reporting progress after each step.

    Attributes:
        fail_at: raise a `MusicSimError` at this step (None: never).
        ignore_cancel: never check the cancel flag (so only termination can stop it).
        result: what the job returns.
    """

    steps: int = 10
    step_seconds: float = 0.05
    fail_at: int | None = None
    ignore_cancel: bool = False
    result: str = "done"

    @property
    def title(self) -> str:
        return f"{self.steps} timed steps"


@job_function(SleepSteps)
def run_sleep_steps(spec: SleepSteps, context: JobContext) -> str:
    for step in range(spec.steps):
        if not spec.ignore_cancel:
            context.check(spec.title)
        if spec.fail_at == step:
            raise MusicSimError(f"Step {step} of {spec.steps} failed on purpose.")
        time.sleep(spec.step_seconds)
        context.progress((step + 1) / spec.steps, f"Step {step + 1} of {spec.steps}")
    return spec.result


@dataclass(frozen=True)
class BusyWork(JobSpec):
    """Keep one core busy for `seconds`.

    Attributes:
        kind: "fft" (NumPy FFTs of `size` points), "python" (a pure-Python arithmetic loop, which holds the
            GIL throughout) or "mixed" (alternating both, like model code with Python glue).
        size: FFT length in points.
    """

    seconds: float = 2.0
    kind: str = "mixed"
    size: int = 1 << 16

    @property
    def title(self) -> str:
        return f"busy work ({self.kind}, {self.seconds:g} s)"


def _fft_step(signal: np.ndarray) -> float:
    spectrum = np.fft.rfft(signal)
    return float(np.abs(np.fft.irfft(spectrum, n=signal.shape[0])).sum())


def _python_step(count: int = 20_000) -> float:
    total = 0.0
    for value in range(count):
        total += (value * 0.5) % 7.0
    return total


@job_function(BusyWork)
def run_busy_work(spec: BusyWork, context: JobContext) -> int:
    """Returns how many steps ran."""
    if spec.kind not in BUSY_KINDS:
        raise MusicSimError(f"Unknown busy-work kind {spec.kind!r}; use one of {', '.join(BUSY_KINDS)}.")
    signal = np.random.default_rng(0).standard_normal(spec.size).astype(np.float32)
    start = time.monotonic()
    steps = 0
    while (elapsed := time.monotonic() - start) < spec.seconds:
        context.check(spec.title)
        if spec.kind in ("fft", "mixed"):
            _fft_step(signal)
        if spec.kind in ("python", "mixed"):
            _python_step()
        steps += 1
        context.progress(elapsed / spec.seconds, f"{steps} steps")
    return steps
