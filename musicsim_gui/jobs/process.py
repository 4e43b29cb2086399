"""`ProcessRunner`: each job in its own spawned worker process, so model code never holds this process's GIL.

Architecture:
1. `submit` spawns a fresh interpreter (the "spawn" start method: no forked Qt or PortAudio state) that
   runs `_worker_main(spec, pipe, cancel_event)`. Events travel back through a one-way pipe; `send` pickles
   in the worker, so an unpicklable result becomes a readable `Failed` event there instead of vanishing.
2. Cancel sets a shared event the job checks between steps. If the worker is still alive after
   `grace_seconds`, it is terminated (then killed), and the handle reports `Cancelled`.
3. A worker that dies without a terminal event (a crash, the OOM killer) is reported as `Failed` with its
   exit code. The worker runs at a lower CPU priority (`nice`) than the audio callback.
   After the last event one reaper thread waits for the worker to exit; `ProcessHandle.join` waits for that
   thread rather than for the process, because two threads waiting on one child race (the one that loses sees
   no exit code).
4. A worker's thread cap goes into the thread variables before any model library starts: torch and BLAS
   read them at start-up, and every ONNX Runtime session the worker opens takes its intra-op thread count
   from `OMP_NUM_THREADS` (`runtime.backend.session_threads`).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

from musicsim_gui.core.errors import CancelledError
from musicsim_gui.jobs.events import Cancelled, Failed, JobEvent
from musicsim_gui.jobs.handle import JobHandle
from musicsim_gui.jobs.spec import JobContext, JobSpec, run_job
from musicsim_gui.runtime.backend import THREADS_VARIABLE

THREAD_VARIABLES = (THREADS_VARIABLE, "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
REAP_SECONDS = 10.0
"""How long a worker may take to exit after its last event before it is terminated."""


def _worker_main(spec: JobSpec, pipe, cancel_event, nice: int, threads: int) -> None:  # noqa: ANN001
    """Entry point of a worker process: run `spec`, send its events through `pipe`."""
    if nice:
        os.nice(nice)
    for name in THREAD_VARIABLES:  # read by torch and BLAS when they start, and by each new ONNX session
        os.environ[name] = str(threads)

    def emit(event: JobEvent) -> None:
        pipe.send(event)

    terminal = run_job(spec, JobContext(emit, cancel_event.is_set))
    try:
        pipe.send(terminal)
    except Exception as error:  # the result could not be pickled
        pipe.send(Failed(f"{spec.title} produced a result that cannot be passed back: {error}", "",
                         type(error).__name__))
    pipe.close()


class ProcessHandle(JobHandle):
    """A job running in a worker process."""

    def __init__(self, spec: JobSpec, process, reader, cancel_event, grace_seconds: float) -> None:  # noqa: ANN001
        super().__init__(spec)
        self.process = process
        self._reader = reader
        self._cancel_event = cancel_event
        self._grace = grace_seconds
        self._timer: threading.Timer | None = None
        self._reaper: threading.Thread | None = None

    def _receive(self, timeout: float) -> JobEvent | None:
        try:
            if self._reader.poll(timeout):
                return self._reader.recv()
        except (EOFError, OSError):  # the worker closed its end: wait for it to exit
            self.process.join(timeout)
        if self.process.is_alive():
            return None
        return self._drain_after_exit()

    def _drain_after_exit(self) -> JobEvent:
        """The worker is gone: deliver what it left in the pipe, else explain how it ended."""
        try:
            if self._reader.poll(0.05):
                return self._reader.recv()
        except (EOFError, OSError):
            pass
        if self.cancel_requested:
            return Cancelled(str(CancelledError(self.spec.title)))
        code = self.process.exitcode
        return Failed(f"{self.spec.title} failed: the worker process exited unexpectedly (code {code}).", "",
                      "WorkerExit")

    def _request_cancel(self) -> None:
        self._cancel_event.set()
        self._timer = threading.Timer(self._grace, self._terminate)
        self._timer.daemon = True
        self._timer.start()

    def _terminate(self) -> None:
        """Stop a worker that ignored the cancel request."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(1.0)
        if self.process.is_alive():
            self.process.kill()

    def _finish(self) -> None:
        """Called from `poll()` on the GUI thread: never wait here for the worker to exit."""
        if self._timer is not None:
            self._timer.cancel()
        self._reader.close()
        self._reaper = threading.Thread(target=self._reap, name=f"reap {self.spec.title}", daemon=True)
        self._reaper.start()

    def join(self, timeout: float | None = None) -> int | None:
        """Wait up to `timeout` s for the worker process to exit; its exit code, or None while it runs."""
        if self._reaper is not None:
            self._reaper.join(timeout)
        else:
            self.process.join(timeout)
        return self.process.exitcode

    def _reap(self) -> None:
        """Wait for the worker to exit after its last event; stop it if it lingers."""
        self.process.join(REAP_SECONDS)
        self._terminate()


class ProcessRunner:
    """Runs each job in a new spawned process (the default runner for separation, generation and export).

    Args:
        grace_seconds: after a cancel, how long a worker may take to stop by itself before it is terminated.
        nice: CPU priority increment for workers (higher = yields more to the audio callback).
        threads: torch/BLAS/OpenMP/ONNX Runtime threads per worker (default: all cores but one, at least one; more
            threads than free cores made MusicGen about 12x slower here, as the threads wait for each other).
    """

    def __init__(self, grace_seconds: float = 1.0, nice: int = 5, threads: int | None = None) -> None:
        self.grace_seconds = grace_seconds
        self.nice = nice
        self.threads = threads or max(1, (os.cpu_count() or 2) - 1)
        self._context = multiprocessing.get_context("spawn")
        self._handles: list[ProcessHandle] = []

    def submit(self, spec: JobSpec) -> JobHandle:
        reader, writer = self._context.Pipe(duplex=False)
        cancel_event = self._context.Event()
        process = self._context.Process(target=_worker_main, name=f"job:{spec.title}",
                                        args=(spec, writer, cancel_event, self.nice, self.threads), daemon=True)
        process.start()
        writer.close()
        handle = ProcessHandle(spec, process, reader, cancel_event, self.grace_seconds)
        self._handles = [h for h in self._handles if not h.finished] + [handle]
        return handle

    def shutdown(self, timeout: float = 2.0) -> None:
        """Cancel every running job and wait up to `timeout` seconds for the workers to end."""
        for handle in self._handles:
            handle.cancel()
        deadline = time.monotonic() + timeout
        for handle in self._handles:
            handle.wait(max(0.0, deadline - time.monotonic()))
            if handle.process.is_alive():
                handle.process.kill()
        self._handles = []
