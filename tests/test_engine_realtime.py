"""Real-time pacing on the JACK dummy server: playback keeps up while a CPU-heavy job runs in a worker process.

`scripts/run_tests.sh` starts a private `jackd -d dummy -r 48000 -p 256` and sets MUSICSIM_TEST_JACK=1, plus
MUSICSIM_TEST_JACK_RT=1 when the server got real-time scheduling. Without it the server's own thread competes
with every other process, so on a loaded machine only the pacing bound is checked. The long version (10 s,
with the thread baseline) is `bench/bench_playback.py`.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.mixkernel import ChannelStrip
from musicsim_gui.engine.devices import hostapi_output_device
from musicsim_gui.engine.playback import PlaybackEngine
from musicsim_gui.jobs import BusyWork, ProcessRunner

RATE = 48000
BLOCK = 256
SECONDS = 2.0


@pytest.fixture
def jack_device() -> int:
    if not os.environ.get("MUSICSIM_TEST_JACK"):
        pytest.skip("no JACK server: run through scripts/run_tests.sh, which starts jackd with the dummy driver")
    index = hostapi_output_device("JACK")
    if index is None:
        pytest.skip("MUSICSIM_TEST_JACK is set but PortAudio lists no JACK output device (jackd did not start?)")
    return index


def tracks(seconds: float) -> list[AudioClip]:
    rng = np.random.default_rng(0)
    return [AudioClip(rng.uniform(-0.2, 0.2, (2, round(seconds * RATE))).astype(np.float32), RATE)
            for _ in range(4)]


def test_playback_keeps_real_time_pace_while_a_worker_process_burns_cpu(jack_device):
    runner = ProcessRunner()
    job = runner.submit(BusyWork(seconds=SECONDS + 20.0, kind="mixed"))
    with PlaybackEngine(RATE, BLOCK, device=jack_device) as engine:
        assert engine.available, engine.error
        engine.set_sources(tracks(SECONDS + 1.0), [ChannelStrip(pan=p) for p in (-0.5, 0.0, 0.3, 0.8)])
        deadline = time.monotonic() + 20.0
        while job.progress.fraction == 0.0 and time.monotonic() < deadline:
            job.poll()
            time.sleep(0.02)
        assert job.state == "running" and job.progress.fraction > 0.0, "the busy job did not start"
        engine.reset_stats()
        engine.play()
        time.sleep(SECONDS)
        stats = engine.stats()
        position = engine.position_seconds
    runner.shutdown()
    print(f"\nJACK dummy, {BLOCK} frames, worker process busy: {stats}")
    expected = SECONDS * RATE / BLOCK
    assert 0 < stats.blocks <= 1.2 * expected, "the callbacks ran faster than real time"
    assert position == pytest.approx(stats.blocks * BLOCK / RATE, abs=0.1)
    if not os.environ.get("MUSICSIM_TEST_JACK_RT"):
        return
    assert stats.blocks >= 0.8 * expected, "JACK did not pace the callbacks in real time"
    assert stats.underruns <= 0.03 * stats.blocks, stats
    assert stats.response_p95_ms < 0.5 * stats.block_ms, stats  # a thread job gives ~7 ms here


def test_a_rate_the_device_refuses_falls_back_to_its_own_rate(jack_device):
    clip = AudioClip(np.zeros((2, 44100 * 2), np.float32), 44100)
    engine = PlaybackEngine(44100, BLOCK, device=jack_device)
    engine.set_sources([clip], [ChannelStrip()])
    engine.seek(0.5)
    engine.set_loop(0.25, 1.5)
    try:
        assert engine.start(), engine.error
        assert (engine.sample_rate, engine.requested_rate) == (RATE, 44100)
        assert engine.duration == pytest.approx(2.0)
        assert engine.position_seconds == pytest.approx(0.5)
        assert engine.loop == (0.25, 1.5)
    finally:
        engine.close()


SERVER_DIES = r"""
import os, subprocess, sys, time
name = f"musicsim-vanish-{os.getpid()}"
os.environ["JACK_DEFAULT_SERVER"] = name
server = subprocess.Popen(["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "256"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(100):
    if subprocess.run(["jack_lsp"], capture_output=True).returncode == 0:
        break
    time.sleep(0.05)
import numpy as np
from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.mixkernel import ChannelStrip
from musicsim_gui.engine.devices import hostapi_output_device
from musicsim_gui.engine.playback import PlaybackEngine
engine = PlaybackEngine(48000, 256, device=hostapi_output_device("JACK"))
assert engine.start(), engine.error
engine.set_sources([AudioClip(np.zeros((2, 48000 * 30), np.float32), 48000)], [ChannelStrip()])
engine.play()
time.sleep(0.5)
assert engine.position_seconds > 0.2
server.terminate()
server.wait()
deadline = time.monotonic() + 10
while engine.poll() and time.monotonic() < deadline:
    time.sleep(0.1)
print("AVAILABLE", engine.available)
print("ERROR", engine.error)
engine.seek(1.0)
engine.pause()
engine.close()
"""


def test_a_vanishing_jack_server_gives_a_notice_and_never_hangs(tmp_path):
    import shutil
    import subprocess
    import sys

    if shutil.which("jackd") is None:
        pytest.skip("jackd is not installed (Debian package jackd2)")
    env = {**os.environ, "JACK_NO_AUDIO_RESERVATION": "1"}
    done = subprocess.run([sys.executable, "-c", SERVER_DIES], capture_output=True, text=True, timeout=60,
                          env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "AVAILABLE False" in done.stdout
    assert "stopped responding" in done.stdout or "Restart MuSiC Studio" in done.stdout
