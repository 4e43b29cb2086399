"""Job specs, the registry of job functions, and the context a job function runs with.

Architecture:
1. A job is described by a frozen dataclass deriving from `JobSpec` (picklable, so it can cross into a
   worker process). `@job_function(SpecType)` registers the function that runs it, in the same module as
   the spec, so unpickling a spec in a worker also registers its function.
2. A job function has the signature `fn(spec, context) -> result`. It reports progress with
   `context.progress(fraction, message)` and checks `context.cancelled()` (or calls `context.check()`,
   which raises `CancelledError`) between steps.
3. `run_job` runs a spec's function and turns the outcome into exactly one terminal event.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from musicsim_gui.core.errors import CancelledError
from musicsim_gui.jobs.events import Done, JobEvent, Progress, estimate_eta, event_from_exception

PROGRESS_INTERVAL_SECONDS = 0.05
"""Progress updates closer together than this are dropped (except the first, 100 % and new messages)."""


@dataclass(frozen=True)
class JobSpec:
    """Base class of every job description. Subclasses are frozen dataclasses of plain, picklable values."""

    @property
    def title(self) -> str:
        """A short name for the jobs panel (override for something more telling)."""
        return type(self).__name__


SpecT = TypeVar("SpecT", bound=JobSpec)
JobFunction = Callable[[Any, "JobContext"], Any]
_FUNCTIONS: dict[type, JobFunction] = {}


def job_function(spec_type: type[SpecT]) -> Callable[[Callable[[SpecT, JobContext], Any]], Callable[..., Any]]:
    """Register the decorated function as the way to run `spec_type`."""

    def register(function: Callable[[SpecT, JobContext], Any]) -> Callable[..., Any]:
        _FUNCTIONS[spec_type] = function
        return function

    return register


def function_for(spec: JobSpec) -> JobFunction:
    """The registered function for `spec`'s type (looks through base classes)."""
    for kind in type(spec).__mro__:
        if kind in _FUNCTIONS:
            return _FUNCTIONS[kind]
    raise TypeError(f"no job function is registered for {type(spec).__name__}")


class JobContext:
    """What a job function gets: progress reporting (throttled, with an ETA) and the cancel flag.

    Args:
        emit: called with each event to deliver (on the worker's thread).
        is_cancelled: returns True once the job has been asked to stop.
    """

    def __init__(self, emit: Callable[[JobEvent], None], is_cancelled: Callable[[], bool]) -> None:
        self._emit = emit
        self._is_cancelled = is_cancelled
        self._start = time.monotonic()
        self._last_sent = -1.0
        self._last_message = None

    def cancelled(self) -> bool:
        """True once cancel was requested; pass as `cancel=` to separators and generators."""
        return self._is_cancelled()

    def check(self, what: str = "the job") -> None:
        """Raise `CancelledError` if cancel was requested."""
        if self._is_cancelled():
            raise CancelledError(what)

    def progress(self, fraction: float, message: str = "") -> None:
        """Report `fraction` (0..1) of the work done; pass as `progress=` to separators and generators."""
        fraction = min(1.0, max(0.0, float(fraction)))
        now = time.monotonic()
        if (now - self._last_sent < PROGRESS_INTERVAL_SECONDS and fraction < 1.0
                and message == self._last_message):
            return
        self._last_sent = now
        self._last_message = message
        self._emit(Progress(fraction, message, estimate_eta(now - self._start, fraction)))

    def scaled(self, start: float, stop: float) -> Callable[[float, str], None]:
        """A progress function mapping a sub-step's 0..1 onto `start..stop` of this job."""

        def report(fraction: float, message: str = "") -> None:
            self.progress(start + (stop - start) * min(1.0, max(0.0, fraction)), message)

        return report


def run_job(spec: JobSpec, context: JobContext) -> JobEvent:
    """Run `spec`'s function and return its terminal event (`Done`, `Failed` or `Cancelled`); never raises
    for errors inside the job."""
    try:
        function = function_for(spec)
        context.check(spec.title)
        result = function(spec, context)
    except Exception as error:  # every failure becomes a readable event for the jobs panel
        return event_from_exception(error, spec.title)
    return Done(result)
