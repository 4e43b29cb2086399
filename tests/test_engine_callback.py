"""The audio callback body on plain arrays: pan/mute/solo laws, loops, transport, snapshot and take swaps."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.audio.mixkernel import ChannelStrip, MixScratch
from musicsim_gui.engine.callback import CallbackStats, Crossfade, Meters, Transport, process_block
from musicsim_gui.engine.snapshot import build_snapshot, empty_snapshot, with_gains, with_source

RATE = 48000
BLOCK = 256


def ramp(frames: int, channels: int = 1, offset: float = 0.0) -> AudioClip:
    """A clip whose sample value is its frame index (plus `offset`), so positions are visible in the output."""
    row = np.arange(frames, dtype=np.float32) + offset
    return AudioClip(np.tile(row, (channels, 1)), RATE)


def constant(value: float, frames: int = 4 * BLOCK, channels: int = 1) -> AudioClip:
    return AudioClip(np.full((channels, frames), value, dtype=np.float32), RATE)


class Rig:
    """A transport, scratch memory and meters, as the engine owns them."""

    def __init__(self, block: int = BLOCK, fade: bool = False) -> None:
        self.transport = Transport()
        self.scratch = MixScratch(block)
        self.meters = Meters(block, RATE, block)
        self.fade = Crossfade(block) if fade else None
        self.out = np.full((block, 2), np.nan, dtype=np.float32)

    def run(self, snapshot) -> np.ndarray:
        process_block(self.out, snapshot, self.transport, self.scratch, self.meters, self.fade)
        return self.out.copy()


def playing_rig(block: int = BLOCK, fade: bool = False) -> Rig:
    rig = Rig(block, fade)
    rig.transport.playing = True
    return rig


def test_stopped_transport_outputs_silence_and_keeps_position():
    rig = Rig()
    snapshot = build_snapshot([constant(0.5)], [ChannelStrip()], 0.0, RATE)
    rig.transport.position = 10
    assert np.all(rig.run(snapshot) == 0.0)
    assert rig.transport.position == 10


def test_empty_snapshot_outputs_silence_even_when_playing():
    rig = playing_rig()
    assert np.all(rig.run(empty_snapshot(RATE)) == 0.0)


def test_centre_pan_is_unity_and_hard_pans_follow_the_constant_power_law():
    rig = playing_rig()
    clips = [constant(0.1), constant(0.2), constant(0.3)]
    strips = [ChannelStrip(), ChannelStrip(pan=-1.0), ChannelStrip(pan=1.0)]
    out = rig.run(build_snapshot(clips, strips, 0.0, RATE))
    root2 = math.sqrt(2.0)
    np.testing.assert_allclose(out[:, 0], 0.1 + 0.2 * root2, rtol=1e-6)
    np.testing.assert_allclose(out[:, 1], 0.1 + 0.3 * root2, rtol=1e-6)


def test_gain_db_and_master_gain_multiply():
    rig = playing_rig()
    out = rig.run(build_snapshot([constant(0.5)], [ChannelStrip(gain_db=-6.0)], -6.0, RATE))
    np.testing.assert_allclose(out, 0.5 * 10 ** (-12 / 20), rtol=1e-5)


def test_mute_silences_and_solo_isolates_and_muted_solo_stays_silent():
    clips = [constant(0.1), constant(0.2), constant(0.4)]
    muted = playing_rig().run(build_snapshot(clips, [ChannelStrip(mute=True), ChannelStrip(), ChannelStrip()],
                                             0.0, RATE))
    np.testing.assert_allclose(muted, 0.6, rtol=1e-6)
    solo = playing_rig().run(build_snapshot(clips, [ChannelStrip(), ChannelStrip(solo=True), ChannelStrip()],
                                            0.0, RATE))
    np.testing.assert_allclose(solo, 0.2, rtol=1e-6)
    both = playing_rig().run(build_snapshot(
        clips, [ChannelStrip(solo=True, mute=True), ChannelStrip(solo=True), ChannelStrip()], 0.0, RATE))
    np.testing.assert_allclose(both, 0.2, rtol=1e-6)


def test_stereo_sources_keep_their_sides():
    stereo = AudioClip(np.stack([np.full(BLOCK, 0.25, np.float32), np.full(BLOCK, -0.5, np.float32)]), RATE)
    out = playing_rig().run(build_snapshot([stereo], [ChannelStrip()], 0.0, RATE))
    np.testing.assert_allclose(out[:, 0], 0.25)
    np.testing.assert_allclose(out[:, 1], -0.5)


def test_blocks_are_contiguous_and_position_advances():
    rig = playing_rig()
    snapshot = build_snapshot([ramp(4 * BLOCK)], [ChannelStrip()], 0.0, RATE)
    first, second = rig.run(snapshot), rig.run(snapshot)
    np.testing.assert_array_equal(np.concatenate([first, second])[:, 0], np.arange(2 * BLOCK))
    assert rig.transport.position == 2 * BLOCK


def test_loop_wraps_sample_accurately_inside_a_block():
    rig = playing_rig(100)
    snapshot = build_snapshot([ramp(1000)], [ChannelStrip()], 0.0, RATE)
    rig.transport.loop = (100, 300)
    rig.transport.position = 250
    out = rig.run(snapshot)
    np.testing.assert_array_equal(out[:50, 0], np.arange(250, 300))
    np.testing.assert_array_equal(out[50:, 0], np.arange(100, 150))
    assert rig.transport.position == 150
    assert rig.transport.playing


def test_playback_stops_at_the_end_and_pads_with_silence():
    rig = playing_rig()
    snapshot = build_snapshot([ramp(BLOCK + 10)], [ChannelStrip()], 0.0, RATE)
    rig.run(snapshot)
    out = rig.run(snapshot)
    np.testing.assert_array_equal(out[:10, 0], np.arange(BLOCK, BLOCK + 10))
    assert np.all(out[10:] == 0.0)
    assert not rig.transport.playing
    assert rig.transport.position == BLOCK + 10


def test_seek_request_applies_at_the_next_block_and_shows_at_once():
    rig = playing_rig()
    snapshot = build_snapshot([ramp(4 * BLOCK)], [ChannelStrip()], 0.0, RATE)
    rig.run(snapshot)
    rig.transport.request_seek(700)
    assert rig.transport.shown_position == 700
    out = rig.run(snapshot)
    np.testing.assert_array_equal(out[:, 0], np.arange(700, 700 + BLOCK))
    assert rig.transport.shown_position == 700 + BLOCK


def test_snapshot_swap_between_blocks_changes_the_mix_at_the_block_boundary():
    rig = playing_rig()
    clips = [constant(0.1), constant(0.2)]
    before = build_snapshot(clips, [ChannelStrip(), ChannelStrip()], 0.0, RATE)
    after = with_gains(before, [ChannelStrip(mute=True), ChannelStrip(pan=1.0)], 0.0)
    current = before
    first = rig.run(current)
    current = after  # what the engine's single attribute assignment does while the stream runs
    second = rig.run(current)
    np.testing.assert_allclose(first, 0.3, rtol=1e-6)
    np.testing.assert_allclose(second[:, 0], 0.0, atol=1e-7)
    np.testing.assert_allclose(second[:, 1], 0.2 * math.sqrt(2.0), rtol=1e-6)
    assert rig.transport.position == 2 * BLOCK
    assert before.gains[1, 0] == 1.0  # the old snapshot is untouched


RAMP = (np.arange(BLOCK) + 1.0) / BLOCK


def test_crossfade_fades_in_on_play_and_turns_a_swap_into_a_one_block_ramp():
    rig = playing_rig(fade=True)
    before = build_snapshot([constant(0.1), constant(0.2)], [ChannelStrip(), ChannelStrip(mute=True)], 0.0, RATE)
    after = with_gains(before, [ChannelStrip(), ChannelStrip()], 0.0)
    np.testing.assert_allclose(rig.run(before)[:, 0], 0.1 * RAMP, rtol=1e-5)
    np.testing.assert_allclose(rig.run(before), 0.1, rtol=1e-6)
    faded = rig.run(after)
    np.testing.assert_allclose(faded[:, 0], 0.1 + 0.2 * RAMP, rtol=1e-5)
    np.testing.assert_allclose(faded[:, 1], faded[:, 0])
    np.testing.assert_allclose(rig.run(after), 0.3, rtol=1e-6)
    assert rig.transport.position == 4 * BLOCK


def test_crossfade_fades_out_on_pause_from_where_playback_stopped():
    rig = playing_rig(fade=True)
    snapshot = build_snapshot([ramp(8 * BLOCK)], [ChannelStrip()], 0.0, RATE)
    rig.run(snapshot)
    rig.run(snapshot)
    rig.transport.playing = False
    out = rig.run(snapshot)
    np.testing.assert_allclose(out[:, 0], np.arange(2 * BLOCK, 3 * BLOCK) * (1.0 - RAMP), rtol=1e-5, atol=1e-3)
    assert rig.transport.position == 2 * BLOCK
    assert np.all(rig.run(snapshot) == 0.0)


def test_crossfade_blends_a_jump_while_playing():
    rig = playing_rig(fade=True)
    snapshot = build_snapshot([ramp(8 * BLOCK)], [ChannelStrip()], 0.0, RATE)
    rig.run(snapshot)
    rig.run(snapshot)
    rig.transport.request_seek(5 * BLOCK)
    out = rig.run(snapshot)
    old = np.arange(2 * BLOCK, 3 * BLOCK)
    new = np.arange(5 * BLOCK, 6 * BLOCK)
    np.testing.assert_allclose(out[:, 0], old + (new - old) * RAMP, rtol=1e-5)
    np.testing.assert_array_equal(rig.run(snapshot)[:, 0], np.arange(6 * BLOCK, 7 * BLOCK))


def test_take_swap_while_playing_continues_at_the_same_position():
    rig = playing_rig()
    snapshot = build_snapshot([ramp(4 * BLOCK), constant(0.0)], [ChannelStrip(), ChannelStrip()], 0.0, RATE)
    rig.run(snapshot)
    swapped = with_source(snapshot, 0, ramp(4 * BLOCK, offset=10_000.0))
    out = rig.run(swapped)
    np.testing.assert_array_equal(out[:, 0], np.arange(BLOCK, 2 * BLOCK) + 10_000.0)


def test_snapshot_arrays_are_read_only_and_clips_are_resampled_to_the_stream_rate():
    clip = AudioClip(np.zeros((2, 44100), np.float32), 44100)
    snapshot = build_snapshot([clip], [ChannelStrip()], 0.0, RATE)
    assert snapshot.sources[0].shape == (2, RATE)
    assert snapshot.duration == pytest.approx(1.0)
    with pytest.raises(ValueError):
        snapshot.sources[0][0, 0] = 1.0
    with pytest.raises(ValueError):
        snapshot.gains[0, 0] = 0.0
    with pytest.raises(ValueError):
        build_snapshot([clip], [], 0.0, RATE)


def test_meters_hold_the_peak_and_decay_when_silent():
    rig = playing_rig()
    snapshot = build_snapshot([constant(-0.8, BLOCK)], [ChannelStrip()], 0.0, RATE)
    rig.run(snapshot)
    np.testing.assert_allclose(rig.meters.levels, 0.8, rtol=1e-6)
    for _ in range(200):  # ≈ 1 s of silence at 24 dB/s
        rig.run(snapshot)
    assert 0.0 < rig.meters.levels[0] < 0.8 * 10 ** (-20 / 20)
    assert rig.meters.clipped == 0


def test_callback_body_allocates_no_sample_buffers():
    rig = playing_rig(4096, fade=True)
    clips = [ramp(20 * 4096), constant(0.1, 20 * 4096, channels=2)]
    snapshot = build_snapshot(clips, [ChannelStrip(pan=0.3), ChannelStrip(gain_db=-3)], 0.0, RATE)
    swapped = with_source(snapshot, 1, ramp(10 * 4096))
    rig.transport.loop = (1000, 9000)
    rig.run(snapshot)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        for index in range(50):  # a swap (and so a crossfade) every other block
            current = swapped if index % 4 < 2 else snapshot
            process_block(rig.out, current, rig.transport, rig.scratch, rig.meters, rig.fade)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak < 4096 * 4, f"the callback body allocated {peak} bytes at peak (one channel block is 16 KiB)"


def test_stats_count_underruns_and_late_blocks():
    stats = CallbackStats(block_seconds=0.005)
    stats.record(0.0, 0.001, underflow=False)
    stats.record(1.0, 1.006, underflow=True)
    stats.record(1.008, 1.009, underflow=False)
    assert (stats.blocks, stats.underruns, stats.late, stats.gaps) == (3, 1, 1, 1)
    assert stats.max_interval == pytest.approx(1.0)
    assert stats.percentile_ms(100) == pytest.approx(6.0)


@pytest.mark.parametrize("source_rate", [RATE, 44100])
def test_what_plays_equals_the_offline_render(source_rate):
    from musicsim_gui.audio.mixdown import render_mix

    rng = np.random.default_rng(3)
    clips = [AudioClip(rng.uniform(-0.3, 0.3, (channels, frames)).astype(np.float32), source_rate)
             for channels, frames in ((2, 5000), (1, 7000), (2, 3000))]
    strips = [ChannelStrip(gain_db=-2.0, pan=-0.4), ChannelStrip(pan=0.7), ChannelStrip(gain_db=3.0, solo=False)]
    expected = render_mix(clips, strips, -1.5, sample_rate=RATE).samples.T
    rig = playing_rig()
    snapshot = build_snapshot(clips, strips, -1.5, RATE)
    blocks = []
    while rig.transport.playing:
        blocks.append(rig.run(snapshot))
    everything = np.concatenate(blocks)
    played = everything[:expected.shape[0]]
    assert played.shape == expected.shape
    np.testing.assert_array_equal(played, expected)  # the export is exactly what you heard
    assert np.all(everything[expected.shape[0]:] == 0.0)
