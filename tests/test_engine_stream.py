"""The playback engine on real PortAudio streams: a missing device, and the ALSA null sink (not paced in real time).

The null sink consumes blocks as fast as the callback fills them, so these tests check behaviour
(transport, loop, meters, end of mix), not timing; `test_engine_realtime.py` checks timing on JACK.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.mixkernel import ChannelStrip
from musicsim_gui.engine.devices import default_output_device, output_devices
from musicsim_gui.engine.playback import PlaybackEngine

RATE = 48000


def tone(seconds: float, rate: int = RATE, amplitude: float = 0.5) -> AudioClip:
    t = np.arange(round(seconds * rate), dtype=np.float32) / rate
    return AudioClip(amplitude * np.sin(2 * np.pi * 440.0 * t), rate)


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def engine():
    if default_output_device() is None:
        pytest.skip("no PortAudio output device (run through scripts/run_tests.sh for the ALSA null sink)")
    engine = PlaybackEngine(RATE, 256)
    assert engine.start(), engine.error
    yield engine
    engine.close()


def test_missing_device_disables_playback_without_raising():
    engine = PlaybackEngine(RATE, 256, device=4321)
    assert engine.start() is False
    assert engine.available is False
    assert "4321" in engine.error
    engine.set_sources([tone(1.0)], [ChannelStrip()])
    engine.update_strips([ChannelStrip(gain_db=-3.0)])
    engine.play()
    engine.seek(0.25)
    engine.set_loop(0.1, 0.2)
    assert engine.position_seconds == pytest.approx(0.25)
    assert engine.meters() == (0.0, 0.0)
    assert engine.stats().blocks == 0
    engine.auto_reopen = False
    assert engine.poll() is False
    engine.close()


def test_switching_to_a_missing_device_and_back(engine):
    assert engine.set_device(9876) is False
    assert engine.error
    assert engine.set_device(None) is True
    assert engine.error == ""


def test_output_devices_lists_the_default_sink():
    listed = dict(output_devices())
    index = default_output_device()
    if index is None:
        pytest.skip("no PortAudio output device")
    assert index in listed and listed[index]


def test_play_pause_seek_and_stop(engine):
    engine.set_sources([tone(30.0), tone(30.0, 44100, 0.25)], [ChannelStrip(), ChannelStrip(pan=0.5)])
    assert engine.duration == pytest.approx(30.0)
    engine.play()
    assert wait_until(lambda: engine.position_seconds > 0.2)
    assert wait_until(lambda: max(engine.meters()) > 0.5)
    engine.pause()
    time.sleep(0.05)
    paused_at = engine.position_seconds
    time.sleep(0.1)
    assert engine.position_seconds == paused_at
    engine.seek(12.5)
    assert engine.position_seconds == pytest.approx(12.5)
    time.sleep(0.05)
    assert engine.position_seconds == pytest.approx(12.5)
    engine.play()
    assert wait_until(lambda: engine.position_seconds > 12.6)
    engine.stop()
    assert engine.position_seconds == pytest.approx(12.5)
    assert not engine.playing
    assert engine.stats().blocks > 0


def test_loop_keeps_the_position_inside_the_region(engine):
    engine.set_sources([tone(5.0)], [ChannelStrip()])
    engine.set_loop(1.0, 1.5)
    assert engine.loop == (1.0, 1.5)
    engine.seek(1.0)
    engine.play()
    blocks = engine.stats().blocks
    assert wait_until(lambda: engine.stats().blocks > blocks + 400)  # > 2 s of audio through a 0.5 s loop
    assert 1.0 <= engine.position_seconds < 1.5
    assert engine.playing
    engine.set_loop(None)
    assert engine.loop is None


def test_playback_stops_at_the_end_and_play_restarts_from_the_top(engine):
    engine.set_sources([tone(0.5)], [ChannelStrip()])
    engine.play()
    assert wait_until(lambda: not engine.playing)
    assert engine.position_seconds == pytest.approx(0.5)
    engine.play()
    assert engine.position_seconds < 0.5


def test_poll_reopens_a_closed_stream_without_reinitialising_portaudio(engine, monkeypatch):
    from musicsim_gui.engine import devices

    rescans = []
    monkeypatch.setattr(devices, "rescan", lambda: rescans.append(1) or False)
    engine._stream.abort()  # what a vanished device looks like to the engine
    assert wait_until(lambda: not engine.available, 2.0)
    engine._last_attempt = 0.0
    assert engine.poll() is True
    assert engine.available and engine.error == ""
    assert rescans == []  # the device was still there: no Pa_Terminate was needed


def test_no_rescan_while_any_stream_exists(engine):
    from musicsim_gui.engine import devices

    other = PlaybackEngine(RATE, 256)
    assert other.start(), other.error
    assert devices.live_streams() >= 2
    assert devices.rescan() is False  # Pa_Terminate would close both streams under their owners
    other.close()
    engine.close()
    assert devices.live_streams() == 0
    if devices.jack_loaded():
        assert devices.rescan() is False  # pa_jack aborts the process if the server is slow to answer


def test_exit_with_a_stream_still_playing_is_clean(tmp_path):
    import subprocess
    import sys

    script = ("from musicsim_gui.engine.devices import hostapi_output_device\n"
              "from musicsim_gui.engine.playback import PlaybackEngine\n"
              "engine = PlaybackEngine(48000, 256, device=hostapi_output_device('JACK'))\n"
              "engine.start()\nengine.play()\nprint('OPEN', engine.available)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OPEN" in done.stdout


def test_without_the_portaudio_library_the_engine_reports_it_and_lists_nothing(monkeypatch):
    from musicsim_gui.engine import devices

    monkeypatch.setattr(devices, "sd", None)
    monkeypatch.setattr(devices, "MISSING_PORTAUDIO", "PortAudio is not available (test); install libportaudio2.")
    assert devices.output_devices() == [] and devices.default_output_device() is None
    assert devices.hostapi_output_device("JACK") is None
    engine = PlaybackEngine(RATE, 256)
    assert engine.start() is False
    assert "libportaudio2" in engine.error
    engine.set_sources([tone(0.5)], [ChannelStrip()])
    engine.play()
    assert engine.poll() is False
