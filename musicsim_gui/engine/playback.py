"""`PlaybackEngine`: the real-time output stream, its transport, meters, statistics and device handling.

Architecture:
1. One sounddevice `OutputStream` (float32, stereo, fixed block size) calls `_callback`, which only runs
   `process_block` on the current snapshot and records timing; see `engine.callback` for the rules it keeps.
2. Every control method runs on the caller's thread (the GUI): mix changes build a new `MixSnapshot` and
   publish it with one attribute assignment; transport changes are single attribute writes.
3. A missing or failing device never raises: `available` turns False and `error` says why. `poll()` (call it
   from a timer) notices a stream that stopped or stalled and re-opens it after re-scanning the devices.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.mixkernel import ChannelStrip, MixScratch
from musicsim_gui.engine import devices
from musicsim_gui.engine.callback import CallbackStats, Crossfade, Meters, Transport, process_block
from musicsim_gui.engine.devices import output_devices
from musicsim_gui.engine.snapshot import (
    MixSnapshot,
    build_snapshot,
    empty_snapshot,
    stream_samples,
    with_gains,
    with_source,
)

MAX_BLOCK_FRAMES = 8192
"""The largest block the callback can mix (PortAudio may pass fewer frames than asked, never more here)."""
STALL_SECONDS = 1.0
"""A running stream without a callback for this long counts as a lost device."""
REOPEN_INTERVAL_SECONDS = 3.0
"""How often `poll()` retries a lost or missing device."""

WEDGED_MESSAGE = ("The audio system stopped responding (did the JACK server quit?). "
                  "Restart MuSiC Studio to play audio again.")
RETIRE_SECONDS = 2.0
"""How long a replaced snapshot stays referenced by the engine after the swap."""

__all__ = ["EngineStats", "PlaybackEngine", "output_devices"]


@dataclass(frozen=True)
class EngineStats:
    """Playback health, for the CPU/underrun indicator and benchmarks.

    Attributes:
        blocks: callbacks run since the stream opened (or the last `reset_stats`).
        underruns: blocks PortAudio flagged as output underflow.
        late: blocks whose callback ran longer than one block period.
        gaps: callbacks that came more than two block periods after the previous one.
        max_interval_ms: the longest time between two callbacks, in ms.
        callback_p50_ms, callback_p99_ms, callback_max_ms: callback run time percentiles, in ms.
        response_p95_ms, response_p99_ms, response_max_ms: from the device cycle's start to the callback's
            end (includes waiting for the GIL), in ms; equal to the run time where the host API gives no
            cycle time.
        block_ms: the block period, in ms.
    """

    blocks: int
    underruns: int
    late: int
    gaps: int
    max_interval_ms: float
    callback_p50_ms: float
    callback_p99_ms: float
    callback_max_ms: float
    response_p95_ms: float
    response_p99_ms: float
    response_max_ms: float
    block_ms: float

    @property
    def p99_fraction(self) -> float:
        """Callback p99 as a fraction of the block period (0.2 = 20 %)."""
        return self.callback_p99_ms / self.block_ms

    @property
    def response_p99_fraction(self) -> float:
        """Response-time p99 as a fraction of the block period."""
        return self.response_p99_ms / self.block_ms


class PlaybackEngine:
    """Plays a mix of tracks through one output device, with play/pause/seek/loop, meters and stats.

    Args:
        sample_rate: the stream rate in Hz (clips are converted to it); if the device refuses it, the
            device's own default rate is used instead (`sample_rate` then says which, `requested_rate`
            keeps the wish for the next open).
        blocksize: frames per callback.
        device: a PortAudio output device index, or None for the default output.
    """

    def __init__(self, sample_rate: int = 48000, blocksize: int = 256, device: int | None = None) -> None:
        self.sample_rate = int(sample_rate)
        self.requested_rate = self.sample_rate
        self.blocksize = int(blocksize)
        self.device = device
        self.available = False
        self.error = ""
        self.auto_reopen = True
        self._stream = None  # a sounddevice.OutputStream while open
        self._closing = False
        self._device_label: str | None = None
        self._last_attempt = 0.0
        self._play_origin = 0
        self._clips: tuple[AudioClip, ...] = ()
        self._transport = Transport()
        self._snapshot: MixSnapshot = empty_snapshot(self.sample_rate)
        self._retired: list[tuple[float, object]] = []
        self._scratch = MixScratch(max(self.blocksize, MAX_BLOCK_FRAMES))
        self._meters = Meters(self._scratch.max_frames, self.sample_rate, self.blocksize)
        self._stats = CallbackStats(self.blocksize / self.sample_rate)
        self._fade = Crossfade(self.blocksize)

    # -- stream lifecycle -------------------------------------------------------------------------

    def start(self) -> bool:
        """Open and start the output stream. Never raises: returns `available`, with `error` set on failure."""
        if self._stream is not None:
            return self.available
        self._last_attempt = time.monotonic()
        if devices.portaudio_wedged() or devices.MISSING_PORTAUDIO:
            self.available = False
            self.error = devices.MISSING_PORTAUDIO or WEDGED_MESSAGE
            return False
        rates = [self.requested_rate]
        fallback = devices.default_rate(self.device)
        if fallback and fallback != self.requested_rate:
            rates.append(fallback)
        failure = ""
        for rate in rates:
            failure = self._open(rate)
            if not failure:
                return True
        self.available = False
        self.error = f"No audio output on {devices.describe_device(self.device)}: {failure}"
        return False

    def _open(self, rate: int) -> str:
        """Try to open the stream at `rate` Hz; returns an error text, or "" on success."""
        if rate != self.sample_rate:
            self._set_rate(rate)
        stream = None
        try:
            stream = devices.open_output_stream(rate, self.blocksize, self.device, self._callback, self._finished)
            self._closing = False
            stream.start()
        except Exception as exc:  # PortAudio reports missing devices as several exception types
            if stream is not None:
                self._closing = True
                devices.close_stream(stream)
            return str(exc) or type(exc).__name__
        self._stream = stream
        self._device_label = self._label()
        self.available = True
        self.error = ""
        return ""

    def _label(self) -> str | None:
        """The chosen device's name as `output_devices()` lists it (None for the default output)."""
        if self.device is None:
            return None
        return dict(devices.output_devices()).get(self.device)

    def _set_rate(self, rate: int) -> None:
        """Change the stream rate: rebuild the meters, stats and snapshot for it (no stream running)."""
        position = self._transport.shown_position / self.sample_rate
        loop = self.loop
        self.sample_rate = int(rate)
        self._meters = Meters(self._scratch.max_frames, self.sample_rate, self.blocksize)
        self._stats = CallbackStats(self.blocksize / self.sample_rate)
        sources = tuple(stream_samples(clip, self.sample_rate) for clip in self._clips)
        frames = max((source.shape[1] for source in sources), default=0)
        self._snapshot = MixSnapshot(sources, self._snapshot.gains, frames, self.sample_rate)
        self.seek(position)
        self.set_loop(*(loop or (None, None)))

    def close(self) -> None:
        """Stop and close the stream (the engine can be started again)."""
        stream, self._stream = self._stream, None
        self.available = False
        if stream is not None:
            self._closing = True
            if not devices.close_stream(stream):
                self.error = WEDGED_MESSAGE

    def __enter__(self) -> PlaybackEngine:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _callback(self, outdata, frames, time_info, status) -> None:  # noqa: ANN001 - PortAudio's signature
        start = time.perf_counter()
        waited = self._cycle_wait(time_info.currentTime)
        if frames <= self._scratch.max_frames:
            process_block(outdata, self._snapshot, self._transport, self._scratch, self._meters, self._fade)
        else:
            outdata.fill(0.0)
        self._stats.record(start, time.perf_counter(), status.output_underflow, waited)

    def _cycle_wait(self, cycle_time: float) -> float:
        """Seconds between the device cycle's start (PortAudio stream time) and now; 0.0 when unknown."""
        stream = self._stream
        if stream is None or cycle_time <= 0.0:
            return 0.0
        waited = stream.time - cycle_time
        return waited if 0.0 < waited < 1.0 else 0.0

    def _finished(self) -> None:
        if not self._closing:
            self.available = False
            self.error = f"The audio output {devices.describe_device(self.device)} stopped."

    # -- devices ----------------------------------------------------------------------------------

    def set_device(self, index: int | None) -> bool:
        """Switch to output device `index` (None = default) and (re)open the stream; returns `available`."""
        self.close()
        self.device = index
        self.error = ""
        return self.start()

    def poll(self) -> bool:
        """Check the stream (call from a ~1 s timer): a stopped or stalled stream is closed, then re-opened
        every `REOPEN_INTERVAL_SECONDS` after a device re-scan. Returns `available`."""
        stream = self._stream
        if stream is not None and self.available:
            stats = self._stats
            stalled = stats.blocks > 0 and time.perf_counter() - stats.last_start > STALL_SECONDS
            if not stream.active or stalled:
                self.error = f"The audio output {devices.describe_device(self.device)} stopped responding."
                self.close()
        elif stream is not None:
            self.close()
        if self._stream is None and self.auto_reopen and not devices.portaudio_wedged():
            if time.monotonic() - self._last_attempt >= REOPEN_INTERVAL_SECONDS:
                self._reopen()
        return self.available

    def _reopen(self) -> None:
        """Try the chosen device again; if that fails, re-scan the devices (when `devices.rescan` finds it
        safe) and try once more, finding the device by name (indices can change)."""
        if self.start() or not devices.rescan():
            return
        if self._device_label is not None:
            found = devices.find_output_device(self._device_label)
            if found is not None:
                self.device = found
        self.start()

    @staticmethod
    def output_devices() -> list[tuple[int, str]]:
        """Every output device as `(index, name)`."""
        return devices.output_devices()

    # -- mix --------------------------------------------------------------------------------------

    def set_sources(self, clips: Sequence[AudioClip], strips: Sequence[ChannelStrip],
                    master_gain_db: float = 0.0) -> None:
        """Replace every track: converts `clips` to the stream rate here, then swaps the snapshot in."""
        snapshot = build_snapshot(clips, strips, master_gain_db, self.sample_rate)
        self._clips = tuple(clips)
        self._publish(snapshot)

    def update_strips(self, strips: Sequence[ChannelStrip], master_gain_db: float = 0.0) -> None:
        """Change gains, pans, mutes and solos only (cheap; safe while playing)."""
        self._publish(with_gains(self._snapshot, strips, master_gain_db))

    def set_track_clip(self, index: int, clip: AudioClip) -> None:
        """Make track `index` play `clip` (another take, or the reference stem) from the current position."""
        self._publish(with_source(self._snapshot, index, clip))
        clips = list(self._clips)
        clips[index] = clip
        self._clips = tuple(clips)

    def _publish(self, snapshot: MixSnapshot) -> None:
        """Swap `snapshot` in. The old one is kept alive here for a while, so its memory is freed on this
        thread later, never on the audio thread (which may still be mixing from it)."""
        self._retire(self._snapshot)
        self._snapshot = snapshot

    def _retire(self, thing: object) -> None:
        now = time.monotonic()
        self._retired = [(t, old) for t, old in self._retired if now - t < RETIRE_SECONDS]
        self._retired.append((now, thing))

    @property
    def duration(self) -> float:
        """Length of the longest track, in seconds."""
        return self._snapshot.duration

    # -- transport --------------------------------------------------------------------------------

    def play(self) -> None:
        """Start playing from the current position (from the start when at the end)."""
        transport = self._transport
        position = transport.shown_position
        if transport.loop is None and position >= self._snapshot.frames:
            position = 0
            transport.request_seek(0)
        self._play_origin = position
        transport.playing = True

    def pause(self) -> None:
        """Stop advancing; the position stays where it is."""
        self._transport.playing = False

    def stop(self) -> None:
        """Stop and return to where playback last started (as REAPER and Audacity do)."""
        self._transport.playing = False
        self._transport.request_seek(self._play_origin)

    def seek(self, seconds: float) -> None:
        """Continue from `seconds` (clamped at 0)."""
        self._transport.request_seek(round(max(0.0, seconds) * self.sample_rate))
        self._play_origin = self._transport.seek_request[1]

    def set_loop(self, start: float | None, end: float | None = None) -> None:
        """Loop between `start` and `end` seconds; `set_loop(None)` turns looping off."""
        if start is None or end is None or end <= start:
            self._transport.loop = None
            return
        self._transport.loop = (round(start * self.sample_rate), round(end * self.sample_rate))

    @property
    def loop(self) -> tuple[float, float] | None:
        """The loop region in seconds, or None."""
        loop = self._transport.loop
        return None if loop is None else (loop[0] / self.sample_rate, loop[1] / self.sample_rate)

    @property
    def playing(self) -> bool:
        return self._transport.playing

    @property
    def position_seconds(self) -> float:
        """The play position in seconds (a pending seek shows at once)."""
        return self._transport.shown_position / self.sample_rate

    # -- monitoring -------------------------------------------------------------------------------

    def meters(self) -> tuple[float, float]:
        """Decaying output peak levels (left, right), linear (1.0 = full scale)."""
        levels = self._meters.levels
        return float(levels[0]), float(levels[1])

    def stats(self) -> EngineStats:
        """Underruns, late blocks and callback time percentiles since the stream opened or `reset_stats`."""
        stats = self._stats
        return EngineStats(stats.blocks, stats.underruns, stats.late, stats.gaps, stats.max_interval * 1000.0,
                           stats.percentile_ms(50),
                           stats.percentile_ms(99), stats.percentile_ms(100), stats.percentile_ms(95, True), stats.percentile_ms(99, True),
                           stats.percentile_ms(100, True), stats.block_seconds * 1000.0)

    def reset_stats(self) -> None:
        """Start counting afresh (the callback picks up the new counters at its next block)."""
        self._retire(self._stats)
        self._stats = CallbackStats(self.blocksize / self.sample_rate)
