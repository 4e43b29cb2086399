"""Runners that execute job specs: in this thread (`SyncRunner`), in a worker thread (`ThreadRunner`).

`ProcessRunner` (module `jobs.process`) is the default for model work; threads suit short NumPy work that
releases the GIL. All runners share `submit(spec) -> JobHandle` and report through the same events.
"""

from __future__ import annotations

import threading
from typing import Protocol

from musicsim_gui.jobs.handle import JobHandle, QueueHandle
from musicsim_gui.jobs.spec import JobContext, JobSpec, run_job


class JobRunner(Protocol):
    """Starts jobs and returns handles the caller polls."""

    def submit(self, spec: JobSpec) -> JobHandle: ...

    def shutdown(self) -> None: ...


def _run_into(handle: QueueHandle) -> None:
    context = JobContext(handle.events.put, lambda: handle.cancel_flag)
    handle.events.put(run_job(handle.spec, context))


class SyncRunner:
    """Runs each job to completion inside `submit` (tests, the CLI); the handle holds every event."""

    def submit(self, spec: JobSpec) -> JobHandle:
        handle = QueueHandle(spec)
        _run_into(handle)
        return handle

    def shutdown(self) -> None:
        """Nothing to release."""


class ThreadRunner:
    """Runs each job in a daemon thread of this process. Cancel is cooperative: the job stops at its next check.

    Use it for short NumPy work only: code that holds the GIL for long stalls the audio callback.
    """

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []

    def submit(self, spec: JobSpec) -> JobHandle:
        handle = QueueHandle(spec)
        thread = threading.Thread(target=_run_into, args=(handle,), name=f"job:{spec.title}", daemon=True)
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        return handle

    def shutdown(self, timeout: float = 5.0) -> None:
        """Wait up to `timeout` seconds for running jobs (cancel them first for a quick exit)."""
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
