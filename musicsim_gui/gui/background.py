"""`BackgroundWork`: short NumPy work (decoding, resampling, peaks, spectrograms) off the GUI thread.

Architecture:
1. One worker thread runs submitted functions in order; nothing in them touches Qt.
2. The GUI's display timer calls `poll()`, which hands back finished results on the GUI thread, so
   widgets are only ever touched there. Long model work goes through `jobs` (a worker process) instead.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class BackgroundWork:
    """Runs functions on one worker thread and delivers results to callbacks during `poll()`."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="studio-media")
        self._pending: list[tuple[Future, Done, Failed]] = []

    def submit(self, work: Callable[[], Any], done: Done, failed: Failed) -> None:
        """Run `work()` in the background; `done(result)` or `failed(error)` is called from `poll()`."""
        self._pending.append((self._pool.submit(work), done, failed))

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def poll(self) -> int:
        """Deliver every finished result (call on the GUI thread); returns how many were delivered."""
        finished = [entry for entry in self._pending if entry[0].done()]
        if not finished:
            return 0
        self._pending = [entry for entry in self._pending if not entry[0].done()]
        for future, done, failed in finished:
            error = future.exception()
            if error is None:
                done(future.result())
            else:
                failed(error)
        return len(finished)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until every submitted function has finished (tests and scripts), then deliver results."""
        for future, _done, _failed in list(self._pending):
            future.exception(timeout=timeout)
        self.poll()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
