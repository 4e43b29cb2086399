"""`JobHandle`: the GUI thread's view of one submitted job (poll events, cancel, wait), whatever runs it.

The handle never blocks in `poll()`: it drains what the worker sent so far and keeps the latest progress,
the result or the error, so a timer (~100 ms) can refresh a progress bar. Runners subclass it to say where
events come from (`_receive`) and how to stop the worker (`_request_cancel`).
"""

from __future__ import annotations

import queue
import time
from typing import Any

from musicsim_gui.jobs.events import TERMINAL, Cancelled, Done, Failed, JobEvent, Progress
from musicsim_gui.jobs.spec import JobSpec

RUNNING, DONE, FAILED, CANCELLED = "running", "done", "failed", "cancelled"


class JobHandle:
    """A submitted job.

    Attributes:
        spec: what was submitted.
        state: "running", "done", "failed" or "cancelled".
        progress: the latest `Progress` (fraction 0 before the first report).
        result: the job function's return value once `state == "done"`.
        error: the `Failed` event once `state == "failed"`, or the `Cancelled` event when cancelled.
    """

    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec
        self.state = RUNNING
        self.progress = Progress(0.0, "Waiting to start")
        self.result: Any = None
        self.error: Failed | Cancelled | None = None
        self.cancel_requested = False
        self.submitted = time.monotonic()

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def finished(self) -> bool:
        return self.state != RUNNING

    def poll(self) -> list[JobEvent]:
        """Every event since the last call, oldest first (never blocks)."""
        events = []
        while not self.finished:
            event = self._receive(0.0)
            if event is None:
                break
            self._absorb(event)
            events.append(event)
        return events

    def wait(self, timeout: float | None = None) -> list[JobEvent]:
        """Block until the job finishes (or `timeout` seconds pass); returns the events received meanwhile."""
        deadline = None if timeout is None else time.monotonic() + timeout
        events = []
        while not self.finished:
            left = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if left <= 0:
                break
            event = self._receive(left)
            if event is not None:
                self._absorb(event)
                events.append(event)
        return events

    def cancel(self) -> None:
        """Ask the job to stop; its `Cancelled` event arrives through `poll()`."""
        if self.finished or self.cancel_requested:
            return
        self.cancel_requested = True
        self._request_cancel()

    def _absorb(self, event: JobEvent) -> None:
        if isinstance(event, Progress):
            self.progress = event
        elif isinstance(event, Done):
            self.result = event.result
            self.progress = Progress(1.0, self.progress.message, 0.0)
            self.state = DONE
        elif isinstance(event, Failed):
            self.error, self.state = event, FAILED
        elif isinstance(event, Cancelled):
            self.error, self.state = event, CANCELLED
        if isinstance(event, TERMINAL):
            self._finish()

    # -- for runners ------------------------------------------------------------------------------

    def _receive(self, timeout: float) -> JobEvent | None:
        """The next event, waiting up to `timeout` seconds; None when none came."""
        raise NotImplementedError

    def _request_cancel(self) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Release the worker's resources after the terminal event."""


class QueueHandle(JobHandle):
    """A handle fed through a `queue.Queue` by a worker in this process, with a flag for cancel."""

    def __init__(self, spec: JobSpec) -> None:
        super().__init__(spec)
        self.events: queue.Queue[JobEvent] = queue.Queue()
        self.cancel_flag = False

    def _receive(self, timeout: float) -> JobEvent | None:
        try:
            return self.events.get(timeout=timeout) if timeout > 0 else self.events.get_nowait()
        except queue.Empty:
            return None

    def _request_cancel(self) -> None:
        self.cancel_flag = True
