"""Rests: takes fall silent where the reference's part rests (`generation/vit_wavegan/rests.py`)."""

from __future__ import annotations

import numpy as np
import pytest
from vit_support import debug_folder_with_card, export_command

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.generation.base import GenerationRequest
from musicsim_gui.generation.vit_wavegan.finishing import Finishing
from musicsim_gui.generation.vit_wavegan.loading import load_folder
from musicsim_gui.generation.vit_wavegan.reference_match import contour_power
from musicsim_gui.generation.vit_wavegan.rests import PartRests, parse_rests
from musicsim_gui.runtime.manifest import load_manifest
from musicsim_gui.training.vit_wavegan.reference_stems import wants_reference_stems

RATE = 44100


def _hits(seconds: float, every: float = 0.25, start: float = 0.0) -> np.ndarray:
    """A drum-like part: a decaying noise burst every `every` seconds from `start`, silence before."""
    rng = np.random.default_rng(3)
    part = np.zeros(int(seconds * RATE), dtype=np.float32)
    burst = (rng.standard_normal(int(0.08 * RATE)) * np.exp(-np.arange(int(0.08 * RATE)) / (0.015 * RATE)))
    for onset in np.arange(start, seconds - 0.1, every):
        first = int(onset * RATE)
        part[first:first + burst.shape[0]] += burst.astype(np.float32) * 0.5
    return part


def _level(audio: np.ndarray, start: float, stop: float) -> float:
    """RMS level in dB of `audio` between two times in seconds."""
    piece = audio[int(start * RATE):int(stop * RATE)]
    return 10.0 * np.log10(np.mean(piece.astype(np.float64) ** 2) + 1e-20)


def test_a_take_rests_where_the_part_rests_and_plays_through_the_gaps_of_its_groove():
    part = _hits(9.0, start=3.0)                                  # 3 s intro without the part
    part[int(5.0 * RATE):int(7.5 * RATE)] = 0.0                   # a 2.5 s break
    part[int(6.0 * RATE):int(6.05 * RATE)] += 0.3                 # one leaked blip inside the break
    take = np.random.default_rng(4).standard_normal(int(10.0 * RATE)).astype(np.float32) * 0.2  # longer
    rests = PartRests({"drums": (40.0, 1.0)})
    done = rests.apply(take, RATE, "drums", contour_power(part, RATE))
    assert done.dtype == np.float32 and done.shape == take.shape
    assert _level(done, 0.0, 2.9) < -150.0                        # silent from the first sample through the intro
    assert _level(done, 5.15, 7.35) < -150.0                      # the break, the blip joined to it
    np.testing.assert_array_equal(done[int(3.0 * RATE):int(4.8 * RATE)],  # the 0.25 s gaps between hits play
                                  take[int(3.0 * RATE):int(4.8 * RATE)])
    np.testing.assert_array_equal(done[int(7.6 * RATE):], take[int(7.6 * RATE):])   # back for the next hit, and
    # past the reference's end as it was; in and out of a rest the take fades (20 ms), with no step
    envelope = rests.apply(np.ones(take.shape[0], dtype=np.float32), RATE, "drums", contour_power(part, RATE))
    assert np.max(np.abs(np.diff(envelope))) < 0.005 and envelope[int(2.99 * RATE)] == 1.0


def test_a_rest_to_the_references_end_lasts_to_the_takes_end_and_a_silent_part_has_none():
    part = _hits(6.0, start=0.0)
    part[int(4.0 * RATE):] = 0.0
    take = np.random.default_rng(5).standard_normal(int(6.0 * RATE)).astype(np.float32) * 0.2
    rests = PartRests({"drums": (40.0, 1.0)})
    done = rests.apply(take, RATE, "drums", contour_power(part, RATE))
    assert _level(done, 4.2, 6.0) < -150.0
    assert np.array_equal(done[: int(3.7 * RATE)], take[: int(3.7 * RATE)])   # faded from the last hit on
    silent = contour_power(np.zeros(6 * RATE, dtype=np.float32), RATE)
    np.testing.assert_array_equal(rests.apply(take, RATE, "drums", silent), take)  # a song without the part
    np.testing.assert_array_equal(rests.apply(take, RATE, "bass", contour_power(part, RATE)), take)  # not named


def test_a_take_fades_with_the_ring_of_the_parts_last_hit_and_not_where_the_reference_stops_mid_groove():
    groove = _hits(8.0)
    seconds = np.arange(int(5.5 * RATE)) / RATE
    ring = (np.random.default_rng(6).standard_normal(seconds.shape[0]) * 0.3
            * 10.0 ** (-10.0 * seconds / 20.0)).astype(np.float32)        # a crash falling 10 dB a second
    part = np.concatenate([groove, ring])                                  # the song ends at 13.5 s
    take = np.random.default_rng(7).standard_normal(int(14.5 * RATE)).astype(np.float32) * 0.2
    rests = PartRests({"drums": (40.0, 1.0)})
    done = rests.apply(take, RATE, "drums", contour_power(part, RATE))
    np.testing.assert_array_equal(done[: int(8.0 * RATE)], take[: int(8.0 * RATE)])  # the groove as it was
    loss = [_level(done, t, t + 0.5) - _level(take, t, t + 0.5) for t in (9.0, 10.0, 11.0, 12.0)]
    assert loss[0] > -12.0 and all(np.diff(loss) < -5.0)  # fading with the ring
    assert -35.0 < loss[2] < -10.0
    assert _level(done, 13.6, 14.5) < -150.0                 # silent past the reference's end, under 40 dB
    envelope = rests.apply(np.ones(take.shape[0], dtype=np.float32), RATE, "drums", contour_power(part, RATE))
    assert np.all(np.diff(envelope[int(8.0 * RATE):]) <= 1e-6)            # the fade never rises again
    cut = _hits(6.0)                                          # a reference cut off mid-groove: no ending
    np.testing.assert_array_equal(rests.apply(take, RATE, "drums", contour_power(cut, RATE)), take)
    assert rests.ending_db(contour_power(part, RATE), "bass", RATE) is None  # an instrument not named


def test_settings_round_trip_and_bad_ones_are_named():
    rests = parse_rests("drums=40/1, bass=30/2")
    assert rests == PartRests({"drums": (40.0, 1.0), "bass": (30.0, 2.0)})
    assert PartRests.from_dict(rests.to_dict()) == rests
    assert Finishing.from_config({"rests": rests.to_dict()}).rests == rests
    assert Finishing.from_config({"rests": rests.to_dict()}).follows_stems
    assert not Finishing.from_config({"rests": {"settings": {}}}).follows_stems
    for bad in ("drums", "drums=40", "drums=5/1", "drums=40/0", "drums=40/60"):
        with pytest.raises(ValueError, match="rests"):
            parse_rests(bad)
    with pytest.raises(ValueError, match="rests"):
        PartRests.from_dict({"settings": ["drums"]})


def test_installed_rests_silence_a_stem_following_take_where_its_part_rests(tmp_path):
    folder = debug_folder_with_card(tmp_path / "vit-debug", "# vit-debug\n- Harmony: none.\n")
    plain_generator = load_folder(folder, backend="onnx", device="cpu")
    done = export_command("rests", str(folder), "--rests", "drums=40/1")
    assert done.returncode == 0, done.stderr
    assert load_manifest(folder, verify=True).config["rests"] == {"settings": {"drums": [40.0, 1.0]}}
    card = (folder / "MODEL_CARD.md").read_text().splitlines()
    assert card[card.index("- Harmony: none.") + 1].startswith("- Rests:")
    generator = load_folder(folder, backend="onnx", device="cpu")
    assert wants_reference_stems(generator) and not wants_reference_stems(plain_generator)
    noise = np.random.default_rng(1).standard_normal((2, 8 * RATE)).astype(np.float32) * 0.1
    reference = AudioClip(noise, RATE)
    part = np.tile(_hits(8.0, start=3.0), (2, 1))
    parts = {name: AudioClip(part, RATE) for name in ("bass", "drums")}
    params = {"seconds": 8.0, "tempo_bpm": 120.0, "first_downbeat": 0.0}
    request = GenerationRequest(reference, ("bass", "drums"), (5,), 1, params, parts)
    plain, followed = plain_generator.generate(request), generator.generate(request)
    bass, drums = followed
    assert drums.params["rests"] is True and "rests" not in bass.params
    assert _level(drums.clip.samples[0], 0.0, 2.9) < -150.0 < _level(plain[1].clip.samples[0], 0.0, 2.9)
    np.testing.assert_allclose(bass.clip.samples, plain[0].clip.samples, atol=1e-6)
    loud = drums.clip.samples[:, int(3.1 * RATE):]
    assert np.allclose(loud / np.max(np.abs(loud)), plain[1].clip.samples[:, int(3.1 * RATE):]
                       / np.max(np.abs(plain[1].clip.samples[:, int(3.1 * RATE):])), atol=1e-5)
    off = GenerationRequest(reference, ("drums",), (5,), 1, {**params, "reference_match": False}, parts)
    np.testing.assert_allclose(generator.generate(off)[0].clip.samples, plain[1].clip.samples, atol=1e-6)
    wrong = export_command("rests", str(folder), "--rests", "cello=40/1")
    assert wrong.returncode == 2 and "no head for cello" in wrong.stderr
