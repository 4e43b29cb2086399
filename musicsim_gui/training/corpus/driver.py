"""Make many corpus songs in parallel worker processes, resuming a half-made corpus.

Architecture:
1. `plan` lists the seeds asked for (per split, see `layout.SPLITS`) and drops songs that already verify
   (meta.json present, files with the recorded frame counts), so re-running only makes what is missing.
2. Songs are rendered by a process pool (`spawn`, one song per task, largest seeds last); each worker
   writes its song folder atomically, meta.json last, so a kill at any moment loses at most the songs in
   flight. A song that fails is reported and does not stop the others.
3. Progress goes to a callback `(done, total, message)`; the CLI shows it as a tqdm bar.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from musicsim_gui.training.corpus import layout

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class CorpusRequest:
    """What to make: `songs` per split (test/valid/train), their seed offset and the audio format."""

    root: Path
    songs: dict[str, int]
    seed_offset: int = 0
    duration_s: float | None = None
    bit_depth: int = 16
    lofi: bool = True
    workers: int = 2


@dataclass
class CorpusReport:
    """Outcome of `make_corpus`: songs made, skipped (already complete), failed, and speed."""

    made: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0

    @property
    def realtime_factor(self) -> float:
        """Seconds of song made per wall-clock second (all workers together)."""
        return self.audio_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


def split_counts(total: int) -> dict[str, int]:
    """Default split sizes for `total` songs: 10 % test, 5 % valid (at least one each), the rest train."""
    if total < 3:
        return {"test": 0, "valid": 0, "train": total}
    test = max(1, round(0.10 * total))
    valid = max(1, round(0.05 * total))
    return {"test": test, "valid": valid, "train": total - test - valid}


def plan(request: CorpusRequest) -> tuple[list[int], list[int]]:
    """(seeds to make, seeds already complete) for `request`."""
    todo, done = [], []
    for split, count in request.songs.items():
        for seed in layout.split_seeds(split, count, request.seed_offset):
            complete = layout.verify_song(layout.song_dir(request.root, seed))
            (done if complete else todo).append(seed)
    return todo, done


def _make_one(args: tuple) -> tuple[int, float, str | None]:
    seed, root, duration_s, bit_depth, lofi = args
    from musicsim_gui.training.corpus.render import make_song

    try:
        folder = make_song(seed, Path(root), duration_s, bit_depth=bit_depth, lofi=lofi)
        return seed, float(layout.read_meta(folder)["duration_s"]), None
    except Exception as error:  # reported per song; one bad song must not stop a long corpus run
        return seed, 0.0, f"{type(error).__name__}: {error}"


def _nice_worker() -> None:
    try:
        os.nice(5)
    except OSError:
        pass


def make_corpus(request: CorpusRequest, progress: Progress | None = None) -> CorpusReport:
    """Make every missing song of `request`; returns what happened."""
    from musicsim_gui.training.corpus.synth import check_renderer

    check_renderer()
    report = CorpusReport()
    layout.write_readme(request.root)
    todo, done = plan(request)
    report.skipped = [layout.song_id(seed) for seed in done]
    total = len(todo)
    if progress:
        progress(0, total, f"{len(done)} songs already complete, {total} to make")
    started = time.perf_counter()
    tasks = [(seed, str(request.root), request.duration_s, request.bit_depth, request.lofi) for seed in todo]
    results = _run(tasks, request.workers)
    for count, (seed, seconds, error) in enumerate(results, start=1):
        if error is None:
            report.made.append(layout.song_id(seed))
            report.audio_seconds += seconds
        else:
            report.failed[layout.song_id(seed)] = error
        if progress:
            progress(count, total, f"{layout.song_id(seed)} {'failed: ' + error if error else 'done'}")
    report.wall_seconds = time.perf_counter() - started
    return report


def _run(tasks: list[tuple], workers: int):
    """Yield task results, in a process pool when `workers` > 1."""
    if workers <= 1 or len(tasks) <= 1:
        yield from map(_make_one, tasks)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes=workers, initializer=_nice_worker, maxtasksperchild=50) as pool:
        yield from pool.imap_unordered(_make_one, tasks)
