"""The multichannel Wiener post-filter of the built-in separator: what it keeps, and what it separates."""

from __future__ import annotations

import json

import numpy as np
from separation_support import build_debug_model, synthetic_stems

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.separation.builtin import open_masknet
from musicsim_gui.separation.masking import MaskSettings, separate_with_masks
from musicsim_gui.separation.stft import stft
from musicsim_gui.separation.wiener import wiener_refine

RATE = 44100


def _snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(np.abs(reference) ** 2) / np.sum(np.abs(reference - estimate) ** 2)))


def _panned_pair(seconds: float = 3.0):
    """Two noise sources with the same spectrum, one mostly left and one mostly right, as stereo STFTs."""
    rng = np.random.default_rng(4)
    left_source, right_source = (rng.standard_normal(int(seconds * RATE)).astype(np.float32) for _ in range(2))
    left = np.stack([left_source, 0.25 * left_source])
    right = np.stack([0.25 * right_source, right_source])
    return stft(left, 2048, 512), stft(right, 2048, 512)


def test_panned_sources_with_equal_spectra_are_separated_by_their_stereo_image():
    left, right = _panned_pair()
    mix = left + right
    # Per-channel masks that only lean the right way (what a channel-by-channel network can do here):
    masks = np.empty((2, 2, *mix.shape[1:]), dtype=np.float32)
    masks[0, 0], masks[0, 1] = 0.6, 0.4
    masks[1, 0], masks[1, 1] = 0.4, 0.6
    estimates = masks * mix[None]
    refined = wiener_refine(mix, masks)
    before = [_snr_db(left, estimates[0]), _snr_db(right, estimates[1])]
    after = [_snr_db(left, refined[0]), _snr_db(right, refined[1])]
    assert min(after) > max(before) + 3.0, (before, after)
    assert np.abs(refined.sum(axis=0) - mix).max() < 1e-4 * np.abs(mix).max()


def test_stems_still_sum_to_the_mix_and_silence_stays_finite():
    rng = np.random.default_rng(1)
    stems = synthetic_stems(2.0, RATE, seed=3)
    mix = stft(sum(stems.values()), 2048, 512)
    masks = rng.random((4, *mix.shape)).astype(np.float32)
    masks /= masks.sum(axis=0)
    refined = wiener_refine(mix, masks)
    assert refined.dtype == np.complex64 and refined.shape == (4, *mix.shape)
    assert np.abs(refined.sum(axis=0) - mix).max() < 1e-4 * np.abs(mix).max()
    silent = np.zeros_like(mix)
    out = wiener_refine(silent, masks)
    assert np.isfinite(out).all() and np.abs(out).max() == 0.0


def test_a_mono_mix_keeps_the_masked_estimates():
    left, right = _panned_pair(1.0)
    mono = (left + right)[:1]
    masks = np.stack([np.full(mono.shape, 0.3, np.float32), np.full(mono.shape, 0.7, np.float32)])
    np.testing.assert_allclose(wiener_refine(mono, masks), masks * mono[None], rtol=1e-6)


def test_separator_applies_the_filter_its_manifest_names(tmp_path):
    clip = AudioClip(sum(synthetic_stems(3.0, RATE, seed=5).values()), RATE, "synthetic")
    folder = build_debug_model(tmp_path / "separation-debug")
    outputs = {}
    for wiener in (False, True):
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["config"]["wiener"] = wiener
        (folder / "manifest.json").write_text(json.dumps(manifest))
        separator = open_masknet(folder, "onnx", "cpu")
        assert separator.settings.wiener is wiener
        outputs[wiener] = separator.separate(clip)
    for stems in outputs.values():
        assert np.abs(sum(s.samples for s in stems.values()) - clip.samples).max() < 1e-3
    difference = max(np.abs(outputs[False][n].samples - outputs[True][n].samples).max() for n in outputs[False])
    assert difference > 1e-3


def test_chunked_separation_with_the_filter_has_no_step_at_chunk_boundaries():
    seconds, chunk = 6.0, 2.0
    samples = np.tile(np.sin(2 * np.pi * 220 * np.arange(int(seconds * RATE)) / RATE, dtype=np.float32), (2, 1))
    samples[1] *= 0.5
    settings = MaskSettings(RATE, 2048, 512, ("a", "b"), chunk_seconds=chunk, overlap_seconds=0.5,
                            wiener=True)

    def masks(magnitude: np.ndarray) -> np.ndarray:
        share = np.full((magnitude.shape[0], 2, *magnitude.shape[1:]), 0.5, dtype=np.float32)
        share[0, 0], share[0, 1] = 0.7, 0.3
        return share

    stems = separate_with_masks(AudioClip(samples, RATE, "tone"), masks, settings)
    for stem in stems.values():
        steps = np.abs(np.diff(stem.samples, axis=-1))
        assert steps.max() < 1.5 * np.abs(np.diff(samples, axis=-1)).max()


def test_spatial_images_summed_over_chunks_are_those_of_the_whole():
    from musicsim_gui.separation.wiener import SpatialImages

    rng = np.random.default_rng(5)
    mix = (rng.standard_normal((2, 300, 80)) + 1j * rng.standard_normal((2, 300, 80))).astype(np.complex64)
    masks = rng.random((4, 2, 300, 80)).astype(np.float32)
    masks /= masks.sum(axis=0, keepdims=True)
    whole, parts = SpatialImages(), SpatialImages()
    assert whole.images() is None
    whole.add(mix, masks)
    for frames in (slice(0, 30), slice(30, 80)):
        parts.add(mix[:, :, frames], masks[:, :, :, frames])
    for ours, theirs in zip(parts.images(), whole.images(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    np.testing.assert_allclose(wiener_refine(mix, masks, images=whole.images()), wiener_refine(mix, masks),
                               rtol=1e-4, atol=1e-5)
    first = wiener_refine(mix[:, :, :30], masks[:, :, :, :30], images=whole.images())
    np.testing.assert_allclose(first.sum(axis=0), mix[:, :, :30], atol=1e-4)  # still adds up to the mix
    assert np.abs(first - wiener_refine(mix[:, :, :30], masks[:, :, :, :30])).max() > 1e-3


def test_a_power_exponent_below_one_lends_a_stem_more_where_its_masks_are_low():
    from musicsim_gui.separation.wiener import SpatialImages

    rng = np.random.default_rng(6)
    mix = (rng.standard_normal((2, 300, 80)) + 1j * rng.standard_normal((2, 300, 80))).astype(np.complex64)
    masks = rng.random((4, 2, 300, 80)).astype(np.float32) ** 3
    masks /= masks.sum(axis=0, keepdims=True)
    plain = wiener_refine(mix, masks)
    np.testing.assert_array_equal(wiener_refine(mix, masks, exponents=(1.0, 1.0, 1.0, 1.0)), plain)
    exponents = (1.0, 1.0, 1.0, 0.6)
    lent = wiener_refine(mix, masks, exponents=exponents)
    np.testing.assert_allclose(lent.sum(axis=0), mix, atol=1e-4)          # the stems still add up to the mix
    low, high = masks[3].mean(axis=0) < 0.05, masks[3].mean(axis=0) > 0.5
    for where, more in ((low, True), (high, False)):   # its image's scale follows, so the share moves in time
        energy = [np.sum(np.abs(stems[3][:, where]) ** 2) for stems in (plain, lent)]
        assert (energy[1] > 1.05 * energy[0]) if more else (energy[1] < energy[0] / 1.05)
    images = SpatialImages(exponents)                                     # the song-wide images agree
    images.add(mix, masks)
    np.testing.assert_allclose(wiener_refine(mix, masks, images=images.images(), exponents=exponents), lent,
                               rtol=1e-4, atol=1e-5)


def test_separator_reads_its_power_exponents_from_the_manifest(tmp_path):
    import pytest

    from musicsim_gui.core.errors import ModelError

    clip = AudioClip(sum(synthetic_stems(3.0, RATE, seed=5).values()), RATE, "synthetic")
    folder = build_debug_model(tmp_path / "separation-debug")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["config"]["wiener"] = True
    (folder / "manifest.json").write_text(json.dumps(manifest))
    plain = open_masknet(folder, "onnx", "cpu")
    assert plain.settings.power_exponents is None
    manifest["config"]["wiener_exponents"] = {"other": 0.7, "bass": 1.15}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    shaped = open_masknet(folder, "onnx", "cpu")
    assert shaped.settings.power_exponents == (1.15, 1.0, 1.0, 0.7)
    assert shaped.settings_tag != plain.settings_tag                      # cached stems of the old filter miss
    before, after = plain.separate(clip), shaped.separate(clip)
    assert max(np.abs(before[n].samples - after[n].samples).max() for n in before) > 1e-4
    assert np.abs(sum(s.samples for s in after.values()) - clip.samples).max() < 1e-3
    for wrong in ({"vocals": 0.5}, {"other": -1.0}):
        manifest["config"]["wiener_exponents"] = wrong
        (folder / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(ModelError, match="wiener_exponents"):
            open_masknet(folder, "onnx", "cpu")
