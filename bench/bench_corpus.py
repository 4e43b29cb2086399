"""Benchmark: corpus render speed in × real time (seconds of song per second of wall clock).

Three measurements on full-length songs (60..150 s, train seeds 20000..):
1. Stages in one process: compose, FluidSynth stems, LoFi chain, FLAC + MIDI + meta writing (wall and CPU).
2. Baseline side by side: pretty_midi's `Instrument.fluidsynth` rendering the same four stems (its own
   synth per instrument, mono, no effects) against our scheduler (stereo, reverb/chorus).
3. The whole pipeline with `make_corpus` and N worker processes (default 2) into a temporary folder.

CPU time is printed next to wall time: on a shared machine the wall-clock factor drops when other
processes compete for the cores, the CPU-time factor does not.

Run: `.venv/bin/python bench/bench_corpus.py [--songs 4] [--workers 2]`
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from musicsim_gui.training.corpus.composer import compose
from musicsim_gui.training.corpus.driver import CorpusRequest, make_corpus
from musicsim_gui.training.corpus.lofi import apply_chain, draw_settings
from musicsim_gui.training.corpus.midi import song_to_midi
from musicsim_gui.training.corpus.render import render_song, write_song
from musicsim_gui.training.corpus.synth import render_voices, soundfont_path


class Clock:
    """Accumulates wall and CPU seconds per stage."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def time(self, stage: str, function, *args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function(*args, **kwargs)
        self.wall[stage] = self.wall.get(stage, 0.0) + time.perf_counter() - wall
        self.cpu[stage] = self.cpu.get(stage, 0.0) + time.process_time() - cpu
        return result


def stages(seeds: list[int], folder: Path) -> tuple[Clock, float]:
    clock, seconds = Clock(), 0.0
    for seed in seeds:
        song = clock.time("compose", compose, seed)
        dry = {n: clock.time("synth (ours)", render_voices, v, song.duration) for n, v in song.stems.items()}
        rng = np.random.default_rng([seed, 1])
        clock.time("lofi chain", apply_chain, dry, 44100, draw_settings(rng, tuple(dry)), rng)
        rendered = render_song(seed)
        clock.time("write files", write_song, rendered, folder / str(seed))
        midi = song_to_midi(song)
        for instrument in midi.instruments:
            clock.time("synth (pretty_midi)", instrument.fluidsynth, fs=44100, synthesizer=str(soundfont_path()))
        seconds += song.duration
    return clock, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    seeds = list(range(20_000, 20_000 + args.songs))
    with tempfile.TemporaryDirectory() as scratch:
        clock, seconds = stages(seeds, Path(scratch))
        print(f"{args.songs} songs, {seconds:.0f} s of music; factors are x real time (higher is faster)\n")
        print(f"{'stage':<22}{'wall x':>10}{'cpu x':>10}")
        for stage in clock.wall:
            print(f"{stage:<22}{seconds / clock.wall[stage]:>10.1f}{seconds / max(clock.cpu[stage], 1e-9):>10.1f}")
        ours = [k for k in clock.wall if k not in ("synth (pretty_midi)",)]
        wall, cpu = sum(clock.wall[k] for k in ours), sum(clock.cpu[k] for k in ours)
        print(f"{'one process, all':<22}{seconds / wall:>10.1f}{seconds / cpu:>10.1f}")
        ratio = clock.wall["synth (pretty_midi)"] / clock.wall["synth (ours)"]
        print(f"\nsynth: ours {ratio:.2f}x the speed of pretty_midi.Instrument.fluidsynth (baseline)")
        request = CorpusRequest(root=Path(scratch) / "corpus", songs={"train": args.songs}, workers=args.workers)
        report = make_corpus(request)
        print(f"make_corpus, {args.workers} workers: {report.realtime_factor:.1f}x real time "
              f"({report.audio_seconds:.0f} s of music in {report.wall_seconds:.1f} s wall)")


if __name__ == "__main__":
    main()
