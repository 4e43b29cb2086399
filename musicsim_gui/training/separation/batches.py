"""Where the separator's training batches are made: one helper thread, or worker processes for many cores.

Architecture:
1. `batch_parts` builds, from a run's settings, the example sampler, the band features and the number of drawn
   items per batch; the trainer and every worker process build theirs with it, so all make the same batches.
2. `ThreadBatches` (`workers` 0): one helper thread reads, augments and transforms the next batches into a
   queue of two (file decoding and NumPy's FFTs release the GIL). It draws from the trainer's own sampler,
   seeded by the run's seed and step, so a run is reproducible batch for batch.
3. `ProcessBatches` (`workers` N): N spawned processes, each with its own sampler seeded by the run's seed,
   the step it starts at and its number, put finished `BandBatch`es on a bounded queue and rescan the train
   split every `RESCAN_EVERY` batches (songs made while the run goes on join it). Batches arrive in whatever
   order the workers finish them, so such a run is not reproducible batch for batch. It is for a machine with
   many cores feeding a GPU: a channel example costs ~25 ms of a core, so one thread makes a batch of 64 in
   ~1.6 s, far slower than the GPU's step. A thread of the trainer's takes finished batches off the pipe
   ahead of time. A worker that fails sends its error, which `get` raises.
4. Either kind sends `BandBatch`es, or, when the trainer makes the features on its device
   (`device_features.py`), the augmented stems alone in float16.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.training.separation.dataset import ExampleSampler, SongIndex
from musicsim_gui.training.separation.device_features import raw_stems
from musicsim_gui.training.separation.features import BandBatch, BandFeatures

RESCAN_EVERY = 100
"""Batches a worker process makes between two scans of the train split."""
QUEUE_PER_WORKER = 2
STOP_SECONDS = 30.0


def batch_parts(config: Any, seed: Any) -> tuple[ExampleSampler, BandFeatures, int]:
    """(sampler over the train split, band features, drawn items per batch) for a `TrainConfig`.

    A stereo-cue network trains on both channels of each drawn item, so it draws half as many items.
    """
    frames = int(config.segment_seconds * config.model.sample_rate)
    stereo = config.model.stereo_cue
    sampler = ExampleSampler(SongIndex(Path(config.corpus) / "train", config.model.stems), frames,
                             config.augmentation, seed, stereo=stereo)
    features = BandFeatures(config.model, energy=config.loss == "sdr")
    return sampler, features, max(1, config.batch // (2 if stereo else 1))


def _put(target: Any, item: Any, stop: Any) -> None:
    """Put `item` on a bounded queue unless `stop` is set first."""
    while not stop.is_set():
        try:
            target.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


class ThreadBatches:
    """Batches from the trainer's own sampler, made on one helper thread (item 2 of the module docstring).

    `features` turns drawn stems into what the trainer takes: a `BandBatch`, or raw stems (`raw_stems`)."""

    def __init__(self, sampler: ExampleSampler, features: Callable[[np.ndarray], Any], items: int) -> None:
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.stop = threading.Event()

        def fill() -> None:
            while not self.stop.is_set():
                _put(self.queue, features(sampler.batch(items)), self.stop)

        self.thread = threading.Thread(target=fill, name="separator-batches", daemon=True)
        self.thread.start()

    def get(self) -> BandBatch | np.ndarray:
        return self.queue.get()

    def close(self) -> None:
        """Stop the thread before the interpreter exits (a thread inside C code at exit can abort)."""
        self.stop.set()
        self.thread.join()


class _WorkerFailure(str):
    """What a worker process sends instead of a batch when it fails: the error, named."""


def _work(config: Any, seed: tuple[int, int, int], raw: bool, out: Any, stop: Any) -> None:
    """A worker process: make batches (raw stems with `raw`) until told to stop; a failure is sent as a
    `_WorkerFailure`."""
    try:
        sampler, features, items = batch_parts(config, list(seed))
        features = raw_stems if raw else features
        made = 0
        while not stop.is_set():
            if made and made % RESCAN_EVERY == 0:
                sampler.refresh()
            _put(out, features(sampler.batch(items)), stop)
            made += 1
    except Exception as error:  # noqa: BLE001 - whatever stops a worker must reach the trainer, named
        _put(out, _WorkerFailure(f"{type(error).__name__}: {error}"), stop)


class ProcessBatches:
    """Batches made by `workers` spawned processes (item 3 of the module docstring); raw stems with `raw`."""

    def __init__(self, config: Any, start_step: int, workers: int, raw: bool = False) -> None:
        context = multiprocessing.get_context("spawn")
        self.queue = context.Queue(maxsize=QUEUE_PER_WORKER * workers)
        self.stop = context.Event()
        self.processes = [context.Process(target=_work, args=(config, (config.seed, start_step, number), raw,
                                                              self.queue, self.stop),
                                          name=f"separator-batches-{number}", daemon=True)
                          for number in range(workers)]
        for process in self.processes:
            process.start()
        self.ready: queue.Queue = queue.Queue(maxsize=2)
        self.halt = threading.Event()
        self.receiver = threading.Thread(target=self._receive, name="separator-batches-receiver", daemon=True)
        self.receiver.start()

    def _receive(self) -> None:
        """Take batches off the workers' pipe into a short local queue on a thread of its own, so reading and
        unpickling the next batch overlaps the training step."""
        while not self.halt.is_set():
            try:
                item = self.queue.get(timeout=0.1)
            except queue.Empty:
                continue
            _put(self.ready, item, self.halt)

    def get(self) -> BandBatch | np.ndarray:
        """The next batch; raises MusicSimError if a worker failed or every worker has stopped."""
        while True:
            try:
                item = self.ready.get(timeout=1.0)
            except queue.Empty:
                if not any(process.is_alive() for process in self.processes):
                    raise MusicSimError("every batch worker process stopped without a batch") from None
                continue
            if isinstance(item, _WorkerFailure):
                self.close()
                raise MusicSimError(f"a batch worker process failed: {item}")
            return item

    def close(self) -> None:
        """Stop the workers. A worker exits only once the batches it queued are in the pipe, so the queue is
        emptied (whole batches, never half of one) until all have exited; one still running after
        `STOP_SECONDS` is killed."""
        self.halt.set()
        self.receiver.join()
        self.stop.set()
        deadline = time.monotonic() + STOP_SECONDS
        while any(process.is_alive() for process in self.processes) and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                self.queue.get(timeout=0.1)
        for process in self.processes:
            if process.is_alive():
                process.kill()
            process.join()
