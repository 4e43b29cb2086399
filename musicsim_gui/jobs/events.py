"""What a running job reports: progress, a result, an error or a cancellation, as small picklable records.

Workers send these through a queue or pipe; `JobHandle.poll()` returns them to the GUI thread in order.
Exactly one terminal event (`Done`, `Failed` or `Cancelled`) ends every job.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any

from musicsim_gui.core.errors import CancelledError, MusicSimError


@dataclass(frozen=True)
class Progress:
    """Work done so far.

    Attributes:
        fraction: 0.0 to 1.0.
        message: what the job is doing now, for the progress bar's label.
        eta_seconds: estimated seconds left, or None while there is too little to go on.
    """

    fraction: float
    message: str
    eta_seconds: float | None = None


@dataclass(frozen=True)
class Done:
    """The job finished; `result` is what its function returned."""

    result: Any


@dataclass(frozen=True)
class Failed:
    """The job raised.

    Attributes:
        message: one readable line for a notice (a `MusicSimError`'s own message, or the exception type
            and text for anything unexpected).
        detail: the traceback, for a "details" view.
        error_type: the exception's class name.
    """

    message: str
    detail: str
    error_type: str


@dataclass(frozen=True)
class Cancelled:
    """The job stopped because it was cancelled; `message` is the `CancelledError` text."""

    message: str


JobEvent = Progress | Done | Failed | Cancelled
TERMINAL = (Done, Failed, Cancelled)


def event_from_exception(error: BaseException, title: str) -> Failed | Cancelled:
    """Turn an exception raised by job `title` into its terminal event."""
    if isinstance(error, CancelledError):
        return Cancelled(str(error))
    detail = "".join(traceback.format_exception(error))
    if isinstance(error, MusicSimError):
        return Failed(str(error), detail, type(error).__name__)
    text = str(error) or "no details"
    return Failed(f"{title} failed: {type(error).__name__}: {text}", detail, type(error).__name__)


def estimate_eta(elapsed: float, fraction: float) -> float | None:
    """Seconds left if the rest goes at the pace so far (None before 1 % or half a second of work)."""
    if fraction < 0.01 or elapsed < 0.5:
        return None
    return max(0.0, elapsed * (1.0 - fraction) / fraction)
