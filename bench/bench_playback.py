"""Benchmark: real-time playback while a CPU-heavy job runs, job in a worker process vs in a thread (baseline).

A private JACK server with the dummy driver (48 kHz, one period = the block size) paces the callbacks in
real time. It runs with real-time scheduling where the machine allows it (as on a studio machine), else
with `--no-realtime`; the mode is printed. For each case the engine plays four stereo tracks for
`--seconds` while `BusyWork` keeps a core busy:

- idle: no job (the machine's own noise floor);
- process: the job in a worker process (`ProcessRunner`, what the studio does);
- thread: the job in a thread of the playing process (`ThreadRunner`, the baseline that shows why).

Printed per case: blocks, underruns (PortAudio output underflow = JACK xruns), missed cycles, callback run
time p99 and response p99 (device cycle start to callback end, so it includes waiting for the GIL), in ms
and in % of the block period. Goal: 0 underruns at 256 frames and response p99 <= 20 % of the period.

Run: `.venv/bin/python bench/bench_playback.py [--seconds 10] [--blocksize 256] [--kind mixed] [--jack auto]`
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time
from dataclasses import dataclass

import numpy as np

from musicsim_gui.jobs import JobContext, JobSpec, job_function  # no PortAudio: safe before jackd starts

RATE = 48000


def realtime_allowed() -> bool:
    """Whether this process may use SCHED_FIFO (jackd's real-time mode needs it)."""
    return subprocess.run(["chrt", "-f", "1", "true"], capture_output=True).returncode == 0


def start_jack(blocksize: int, mode: str) -> tuple[subprocess.Popen, bool]:
    """Start a private dummy JACK server and point this process's JACK clients at it (before PortAudio
    loads). Returns the server process and whether it runs in real-time mode."""
    if shutil.which("jackd") is None:
        raise SystemExit("jackd is not installed (Debian package jackd2)")
    realtime = mode == "realtime" or (mode == "auto" and realtime_allowed())
    name = f"musicsim-bench-{os.getpid()}"
    os.environ["JACK_DEFAULT_SERVER"] = name
    os.environ["JACK_NO_AUDIO_RESERVATION"] = "1"
    flag = "--realtime" if realtime else "--no-realtime"
    server = subprocess.Popen(["jackd", "-n", name, flag, "-d", "dummy", "-r", str(RATE), "-p", str(blocksize)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if subprocess.run(["jack_lsp"], capture_output=True).returncode == 0:
            return server, realtime
        time.sleep(0.05)
    server.kill()
    raise SystemExit("jackd did not start")


def tracks(seconds: float):
    """Four stereo tracks of noise and tones, `seconds` long, at the stream rate."""
    from musicsim_gui.audio.clip import AudioClip

    rng = np.random.default_rng(0)
    t = np.arange(round(seconds * RATE), dtype=np.float32) / RATE
    clips = []
    for index, hz in enumerate((55.0, 220.0, 440.0, 880.0)):
        tone = 0.1 * np.sin(2 * np.pi * hz * t) + 0.05 * rng.standard_normal(t.size).astype(np.float32)
        clips.append(AudioClip(np.stack([tone, np.roll(tone, 100 * index)]), RATE))
    return clips


@dataclass(frozen=True)
class TorchMatmul(JobSpec):
    """Multiply 512x512 matrices with torch for `seconds`: model-like work that releases the GIL."""

    seconds: float = 10.0


@job_function(TorchMatmul)
def run_torch_matmul(spec: TorchMatmul, context: JobContext) -> int:
    import torch

    torch.set_num_threads(1)
    a = torch.randn(512, 512)
    start, steps = time.monotonic(), 0
    while time.monotonic() - start < spec.seconds:
        context.check()
        a = torch.tanh(a @ a)
        steps += 1
        context.progress((time.monotonic() - start) / spec.seconds, f"{steps} products")
    return steps


def busy_spec(kind: str, seconds: float):
    """The CPU-heavy job for `kind`: a `BusyWork` kind, or "torch" for a torch matmul loop."""
    from musicsim_gui.jobs import BusyWork

    if kind == "torch":
        return TorchMatmul(seconds=seconds)
    return BusyWork(seconds=seconds, kind=kind)


def run_case(device: int, runner, seconds: float, blocksize: int, kind: str):
    """Play for `seconds` with a busy job on `runner` (None: no job); returns the engine's stats."""
    from musicsim_gui.audio.mixkernel import ChannelStrip
    from musicsim_gui.engine.playback import PlaybackEngine
    job = runner.submit(busy_spec(kind, seconds + 30.0)) if runner is not None else None
    with PlaybackEngine(RATE, blocksize, device=device) as engine:
        if not engine.available:
            raise SystemExit(engine.error)
        engine.set_sources(tracks(seconds + 2.0), [ChannelStrip(pan=p) for p in (-0.6, -0.2, 0.2, 0.6)])
        while job is not None and job.progress.fraction == 0.0 and not job.finished:
            job.poll()
            time.sleep(0.02)
        time.sleep(0.5)
        engine.reset_stats()
        engine.play()
        time.sleep(seconds)
        stats = engine.stats()
    if job is not None:
        job.cancel()
        job.wait(5.0)
    return stats


def report(name: str, stats) -> None:
    print(f"{name:8s} {stats.blocks:7d} {stats.underruns:9d} {stats.gaps:7d} "
          f"{stats.callback_p99_ms:8.3f} ms {100 * stats.p99_fraction:5.1f} % "
          f"{stats.response_p99_ms:8.3f} ms {100 * stats.response_p99_fraction:6.1f} % "
          f"{stats.response_max_ms:8.2f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--blocksize", type=int, default=256)
    parser.add_argument("--kind", default="mixed", help="BusyWork kind (fft, python, mixed) or torch")
    parser.add_argument("--jack", choices=("auto", "realtime", "no-realtime"), default="auto")
    parser.add_argument("--cases", default="idle,process,thread")
    args = parser.parse_args()

    server, realtime = start_jack(args.blocksize, args.jack)
    try:
        from musicsim_gui.engine.devices import hostapi_output_device
        from musicsim_gui.jobs import ProcessRunner, ThreadRunner

        device = hostapi_output_device("JACK")
        if device is None:
            raise SystemExit("PortAudio lists no JACK device (libportaudio2 built without JACK?)")
        period = 1000.0 * args.blocksize / RATE
        print(f"JACK dummy {RATE} Hz, {args.blocksize} frames ({period:.2f} ms), "
              f"{'real-time' if realtime else 'no real-time'} scheduling, {args.seconds:g} s per case, "
              f"busy job: {args.kind}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print("case      blocks underruns missed  callback p99 (% period)  response p99 (% period)  response max")
        runners = {"idle": lambda: None, "process": ProcessRunner, "thread": ThreadRunner}
        results = {}
        for case in args.cases.split(","):
            results[case] = run_case(device, runners[case](), args.seconds, args.blocksize, args.kind)
            report(case, results[case])
        if "process" in results and "thread" in results:
            ours, baseline = results["process"], results["thread"]
            print(f"process vs thread (baseline): underruns {ours.underruns} vs {baseline.underruns}, "
                  f"response p99 {ours.response_p99_ms / baseline.response_p99_ms:.3f}x of the baseline's")
        print(f"goal: 0 underruns, response p99 <= 20 % of the period ({0.2 * period:.2f} ms)")
    finally:
        from musicsim_gui.engine.devices import release

        release()  # before the server goes, or PortAudio's JACK client aborts at exit
        server.terminate()
        server.wait(5.0)


if __name__ == "__main__":
    main()
