"""The body of the audio callback as a pure function of arrays, plus the state it reads and writes.

Architecture:
1. `Transport` holds the play state. The GUI thread writes requests (play flag, a numbered seek request,
   the loop region) as single attribute assignments; only the callback writes `position`. Under the GIL
   an attribute assignment is atomic, so no lock is needed and none is taken.
2. `process_block` mixes one block from one `MixSnapshot` (read once per block) with the shared kernel
   `mix_block`, straight into the output array; it allocates no sample buffers, takes no locks and does no I/O.
3. `Crossfade` makes changes click-free: the first block after a snapshot swap, a seek, play or pause
   is faded linearly from what would have followed (a mute, a take change or a pause never clicks).
4. `Meters` and `CallbackStats` keep decaying peak levels, underrun counts and callback durations in
   preallocated NumPy arrays and plain counters; the GUI reads them on a display-rate timer.
"""

from __future__ import annotations

import math

import numpy as np

from musicsim_gui.audio.mixkernel import MixScratch, mix_block
from musicsim_gui.engine.snapshot import MixSnapshot

STATS_HISTORY = 8192
"""How many recent callback durations `CallbackStats` keeps (≈ 44 s of 256-frame blocks at 48 kHz)."""


class Transport:
    """Play state shared by the GUI thread (requests) and the callback (position).

    Attributes:
        playing: True while the callback should advance; the callback clears it at the end of the mix.
        position: the next frame to play, in samples at the stream rate (written by the callback only).
        loop: `(start, end)` in samples, or None.
        seek_request: `(serial, frame)`; a new serial asks the callback to jump to `frame`.
        seek_done: the serial of the last seek the callback applied.
    """

    def __init__(self) -> None:
        self.playing = False
        self.position = 0
        self.loop: tuple[int, int] | None = None
        self.seek_request: tuple[int, int] = (0, 0)
        self.seek_done = 0

    def request_seek(self, frame: int) -> None:
        """Ask the callback to continue from `frame` (GUI thread)."""
        self.seek_request = (self.seek_request[0] + 1, max(0, int(frame)))

    def apply_seek(self) -> None:
        """Apply a pending seek request (callback thread, or any thread while no stream runs)."""
        serial, frame = self.seek_request
        if serial != self.seek_done:
            self.position = frame
            self.seek_done = serial

    @property
    def shown_position(self) -> int:
        """The position to display: a pending seek target, else the callback's position, in samples."""
        serial, frame = self.seek_request
        return frame if serial != self.seek_done else self.position


class Meters:
    """Decaying peak meters for the two output channels (linear amplitude, 1.0 = full scale)."""

    def __init__(self, max_frames: int, sample_rate: int, blocksize: int, fall_db_per_s: float = 24.0) -> None:
        self.levels = np.zeros(2, dtype=np.float32)
        self.block_peak = np.zeros(2, dtype=np.float32)
        self.clipped = 0
        self._abs = np.zeros((max_frames, 2), dtype=np.float32)
        self._decay = np.float32(10.0 ** (-fall_db_per_s * blocksize / sample_rate / 20.0))

    def update(self, out: np.ndarray) -> None:
        """Fold one output block `[frames, 2]` into the levels (callback thread)."""
        work = self._abs[:out.shape[0]]
        np.abs(out, out=work)
        np.max(work, axis=0, out=self.block_peak)
        np.multiply(self.levels, self._decay, out=self.levels)
        np.maximum(self.levels, self.block_peak, out=self.levels)
        if self.block_peak[0] > 1.0 or self.block_peak[1] > 1.0:
            self.clipped += 1


class CallbackStats:
    """Counters and a ring of recent callback durations, written by the callback only.

    Attributes:
        blocks: callbacks run.
        underruns: callbacks PortAudio flagged with output underflow.
        late: callbacks whose own run time exceeded the block period.
        gaps: callbacks that started more than two block periods after the previous one (a missed cycle).
        max_interval: the longest time between two callback starts, in seconds.
        durations: float64 ring `[STATS_HISTORY]` of callback run times in seconds.
        responses: float64 ring `[STATS_HISTORY]`: from the start of the device cycle (PortAudio's
            `currentTime`) to the end of the callback, in seconds. Unlike `durations` this includes the
            wait for the GIL before the Python callback could start.
        last_start: `time.perf_counter()` at the start of the latest callback (0.0 before the first).
    """

    def __init__(self, block_seconds: float) -> None:
        self.block_seconds = block_seconds
        self.blocks = 0
        self.underruns = 0
        self.late = 0
        self.gaps = 0
        self.max_interval = 0.0
        self.durations = np.zeros(STATS_HISTORY, dtype=np.float64)
        self.responses = np.zeros(STATS_HISTORY, dtype=np.float64)
        self.last_start = 0.0

    def record(self, start: float, end: float, underflow: bool, waited: float = 0.0) -> None:
        """Account for one callback that ran from `start` to `end` (perf_counter seconds) after waiting
        `waited` seconds since the device cycle began."""
        elapsed = end - start
        slot = self.blocks % STATS_HISTORY
        self.durations[slot] = elapsed
        self.responses[slot] = waited + elapsed
        if self.blocks:
            interval = start - self.last_start
            if interval > self.max_interval:
                self.max_interval = interval
            if interval > 2.0 * self.block_seconds:
                self.gaps += 1
        self.blocks += 1
        self.last_start = start
        if underflow:
            self.underruns += 1
        if elapsed > self.block_seconds:
            self.late += 1

    def percentile_ms(self, q: float, response: bool = False) -> float:
        """The q-th percentile of the recorded callback run times (or response times), in ms
        (NaN before any callback)."""
        count = min(self.blocks, STATS_HISTORY)
        if count == 0:
            return math.nan
        ring = self.responses if response else self.durations
        return float(np.percentile(ring[:count], q) * 1000.0)


class Crossfade:
    """De-clicking: the first block after a discontinuity fades from what would have followed to what follows.

    A discontinuity is a new snapshot (mute, fader, take change), a seek while playing, play or pause. The
    block that would have continued the old state (old snapshot, old position, old play flag) is mixed
    into `buffer` and crossfaded linearly into the new block, so pausing fades out, playing fades in and a
    swap or a jump crossfades, all within one block. Only blocks of exactly `frames` frames are faded.
    """

    def __init__(self, frames: int) -> None:
        self.frames = int(frames)
        self.previous: MixSnapshot | None = None
        self.was_playing = False
        self.resume_at = 0
        self.buffer = np.zeros((self.frames, 2), dtype=np.float32)
        ramp = (np.arange(self.frames, dtype=np.float32) + 1.0) / self.frames
        self.ramp = np.ascontiguousarray(np.stack([ramp, ramp], axis=1))  # full width: a broadcast would allocate

    def smooth(self, out: np.ndarray, snapshot: MixSnapshot, playing: bool, start: int, scratch: MixScratch,
               loop: tuple[int, int] | None) -> None:
        """Fade `out` (this block, mixed from `start` if `playing`) in over the continuation of the last block."""
        previous = self.previous
        changed = (snapshot is not previous or playing != self.was_playing
                   or (playing and start != self.resume_at))
        if changed and out.shape[0] == self.frames:
            old = self.buffer
            if self.was_playing and previous is not None and previous.sources:
                mix_block(old, previous.sources, previous.gains, self.resume_at, scratch, loop)
            else:
                old.fill(0.0)
            np.subtract(out, old, out=out)
            np.multiply(out, self.ramp, out=out)
            np.add(out, old, out=out)
        self.previous = snapshot
        self.was_playing = playing

    def continue_from(self, position: int) -> None:
        """Where the block after this one continues, if nothing changes (samples)."""
        self.resume_at = position


def process_block(out: np.ndarray, snapshot: MixSnapshot, transport: Transport, scratch: MixScratch,
                  meters: Meters, fade: Crossfade | None = None) -> None:
    """Fill `out` (float32 `[frames, 2]`) with the next block of the mix and advance the transport.

    When not playing, or when nothing is loaded, the block is silence. Without a loop, playback stops
    at the end of the longest source. With `fade`, discontinuities are crossfaded (see `Crossfade`).
    Meters see every block.
    """
    transport.apply_seek()
    playing = transport.playing and bool(snapshot.sources)
    loop = transport.loop
    start = transport.position
    if playing:
        position = mix_block(out, snapshot.sources, snapshot.gains, start, scratch, loop)
        if loop is None and position >= snapshot.frames:
            position = snapshot.frames
            transport.playing = False
        transport.position = position
    else:
        out.fill(0.0)
    if fade is not None:
        fade.smooth(out, snapshot, playing, start, scratch, loop)
        fade.continue_from(transport.position)
    meters.update(out)
