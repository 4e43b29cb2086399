"""Reference match of generated loops: tone and band dynamics moved towards the reference's part, the seam,
storing it, and every way a take gets the reference's stems (request, command line, studio job, evaluation)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from separation_support import write_corpus
from vit_support import debug_folder_with_card, export_command

from musicsim_gui.audio.clip import AudioClip
from musicsim_gui.generation.base import GenerationRequest
from musicsim_gui.generation.vit_wavegan.loading import load_folder
from musicsim_gui.generation.vit_wavegan.reference_match import (
    HOP,
    ReferenceMatch,
    band_stats,
    contour_power,
    parse_strengths,
)
from musicsim_gui.generation.vit_wavegan.tone import ToneMatch, band_centres
from musicsim_gui.runtime.manifest import load_manifest

RATE = 44100


def _coloured_noise(seconds: float, seed: int, tilt_db_per_octave: float) -> np.ndarray:
    """Noise whose spectrum falls (or rises) by `tilt_db_per_octave` above 100 Hz, at unit RMS."""
    rng = np.random.default_rng(seed)
    frames = int(seconds * RATE)
    spectrum = np.fft.rfft(rng.standard_normal(frames))
    freqs = np.maximum(np.fft.rfftfreq(frames, 1.0 / RATE), 100.0)
    spectrum *= 10.0 ** (tilt_db_per_octave * np.log2(freqs / 100.0) / 20.0)
    audio = np.fft.irfft(spectrum, n=frames)
    return (audio / np.sqrt(np.mean(audio**2))).astype(np.float32)


def _pulsing(audio: np.ndarray, period_s: float = 0.25) -> np.ndarray:
    """`audio` gated on and off (down 30 dB) every half `period_s`: a part whose bands move a lot."""
    time = np.arange(audio.shape[0]) / RATE
    return (audio * np.where((time % period_s) < period_s / 2, 1.0, 0.03)).astype(np.float32)


def _shape(stats) -> np.ndarray:
    """Band means without their level (mean over bands removed)."""
    return stats.mean - stats.mean.mean()


def test_tone_moves_towards_the_reference_by_its_strength():
    take = _coloured_noise(2.0, 0, +3.0)[np.newaxis]          # bright
    reference = band_stats(_coloured_noise(6.0, 1, -6.0), RATE)  # dark
    before = band_stats(take[0], RATE)
    gap = np.abs(_shape(before) - _shape(reference)).mean()
    half = ReferenceMatch({"bass": (0.5, 0.0)}).apply(take, RATE, "bass", reference)
    full = ReferenceMatch({"bass": (1.0, 0.0)}).apply(take, RATE, "bass", reference)
    assert half.shape == take.shape and half.dtype == np.float32
    gap_half = np.abs(_shape(band_stats(half[0], RATE)) - _shape(reference)).mean()
    gap_full = np.abs(_shape(band_stats(full[0], RATE)) - _shape(reference)).mean()
    assert gap_full < 0.25 * gap and 0.3 * gap < gap_half < 0.7 * gap
    for unchanged in (ReferenceMatch({"bass": (1.0, 0.0)}).apply(take, RATE, "drums", reference),  # not named
                      ReferenceMatch({"bass": (0.0, 0.0)}).apply(take, RATE, "bass", reference),   # zero strength
                      ReferenceMatch({"bass": (1.0, 1.0)}).apply(take, RATE, "bass", None)):       # no reference
        np.testing.assert_array_equal(unchanged, take)


def test_band_dynamics_move_towards_the_reference():
    noise = _coloured_noise(2.0, 2, 0.0)
    steady = noise[np.newaxis]
    reference = band_stats(_pulsing(_coloured_noise(6.0, 3, 0.0)), RATE)
    matched = ReferenceMatch({"drums": (0.0, 1.0)}).apply(steady, RATE, "drums", reference)
    before, after = band_stats(steady[0], RATE), band_stats(matched[0], RATE)
    assert reference.std.mean() > 3 * before.std.mean()
    # The deviation ratio is capped at 2; overlap-add of the changed frames smears part of it (about 1.5 here).
    assert after.std.mean() > 1.35 * before.std.mean()
    loud = np.argsort(after.mean)[-20:]  # the tone is left as it was
    assert np.abs(_shape(after)[loud] - _shape(before)[loud]).mean() < 1.0


def test_loops_are_matched_around_their_seam_and_together():
    reference = band_stats(_pulsing(_coloured_noise(6.0, 4, -4.0)), RATE)
    length = 40 * HOP  # a whole number of hops: the loop alone and its tiling see the same frame grid
    loops = np.stack([_coloured_noise(length / RATE, seed, 2.0) for seed in (5, 6)])
    match = ReferenceMatch({"other": (0.5, 0.5)})
    alone = match.apply(loops, RATE, "other", reference)
    tiled = match.apply(np.tile(loops, 3), RATE, "other", reference)
    np.testing.assert_allclose(alone, tiled[:, length: 2 * length], atol=2e-3)
    # The take's statistics come from every variation together, so each variation keeps its own character.
    first_only = match.apply(loops[:1], RATE, "other", reference)
    assert np.abs(first_only[0] - alone[0]).max() > 1e-3


def test_settings_round_trip_and_are_checked():
    match = ReferenceMatch({"bass": (0.3, 0.0), "drums": (0.75, 0.75)})
    assert ReferenceMatch.from_dict(match.to_dict()) == match
    assert parse_strengths("bass=0.3/0, drums=0.75/0.75") == match
    assert match.applies_to("drums") and not match.applies_to("piano")
    for bad in ("bass", "bass=0.3", "bass=x/0", "=0.3/0", "bass=0.3/0/1"):
        with pytest.raises(ValueError, match="INSTRUMENT=MEAN/STD"):
            parse_strengths(bad)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        ReferenceMatch.from_dict({"strengths": {"bass": [1.5, 0.0]}})
    for bad in ({"strengths": [0.5, 0.5]}, {"strengths": {"bass": 0.5}}):
        with pytest.raises(ValueError, match="reference match"):
            ReferenceMatch.from_dict(bad)
    assert band_stats(np.zeros(RATE, np.float32), RATE) is None
    assert band_stats(np.ones(100, np.float32), RATE) is None


def test_final_tone_equalises_matched_loops_only():
    centres = band_centres(RATE)
    darker = ToneMatch(tuple(round(float(c), 2) for c in centres), {"bass": tuple(-0.75 * k for k in range(40))})
    plain = ReferenceMatch({"bass": (0.5, 0.0), "drums": (0.5, 0.0)})
    toned = ReferenceMatch(plain.strengths, tone=darker)
    assert ReferenceMatch.from_dict(toned.to_dict()) == toned and "tone" not in plain.to_dict()
    loops = _coloured_noise(2.0, 4, 0.0)[np.newaxis]
    reference = band_stats(_coloured_noise(4.0, 5, -3.0), RATE)
    moved = plain.apply(loops, RATE, "bass", reference)
    np.testing.assert_allclose(toned.apply(loops, RATE, "bass", reference)[0], darker.apply(moved[0], RATE, "bass"),
                               atol=1e-6)
    np.testing.assert_allclose(toned.apply(loops, RATE, "drums", reference), plain.apply(loops, RATE, "drums",
                                                                                          reference), atol=1e-6)
    np.testing.assert_array_equal(toned.apply(loops, RATE, "bass", None), loops)  # no stem, nothing moves
    with pytest.raises(ValueError, match="tone match"):
        ReferenceMatch.from_dict({"strengths": {"bass": [0.5, 0.0]}, "tone": {"centres_hz": [1.0, 2.0],
                                                                               "gains_db": {"bass": [0.0]}}})


def _level_db(audio: np.ndarray, start_s: float, stop_s: float) -> float:
    part = audio[int(start_s * RATE): int(stop_s * RATE)]
    return float(10.0 * np.log10(np.mean(part.astype(np.float64) ** 2) + 1e-20))


def test_a_take_rises_and_falls_with_the_reference_part_by_its_strength():
    take = _coloured_noise(8.0, 10, 0.0)  # level throughout
    quiet_then_loud = _coloured_noise(8.0, 11, -3.0) * np.where(np.arange(8 * RATE) < 4 * RATE, 0.1, 1.0)
    reference = contour_power(quiet_then_loud, RATE)

    def rise(audio):  # dB from the first half to the second, away from the change
        return _level_db(audio, 4.5, 7.5) - _level_db(audio, 0.5, 3.5)

    full = ReferenceMatch({}, {"piano": (1.0, 0.5)}).follow_contour(take, RATE, "piano", reference)
    half = ReferenceMatch({}, {"piano": (0.5, 0.5)}).follow_contour(take, RATE, "piano", reference)
    assert full.dtype == np.float32 and full.shape == take.shape
    assert abs(rise(take)) < 0.5 and abs(rise(quiet_then_loud) - 20.0) < 0.5
    assert 18.0 < rise(full) < 21.0 and 8.5 < rise(half) < 11.0
    # The notes stay the take's own: within the loud half it is the take, only scaled.
    loud = slice(5 * RATE, 7 * RATE)
    assert np.corrcoef(full[loud], take[loud])[0, 1] > 0.98
    for unchanged in (ReferenceMatch({}, {"piano": (1.0, 0.5)}).follow_contour(take, RATE, "bass", reference),
                      ReferenceMatch({}, {"piano": (0.0, 0.5)}).follow_contour(take, RATE, "piano", reference),
                      ReferenceMatch({}, {"piano": (1.0, 0.5)}).follow_contour(take, RATE, "piano", None)):
        np.testing.assert_array_equal(unchanged, take)


def test_a_take_longer_than_the_reference_is_left_as_it_is_after_its_end():
    take = _coloured_noise(6.0, 12, 0.0)
    reference = contour_power(_coloured_noise(3.0, 13, 0.0) * np.where(np.arange(3 * RATE) < 1.5 * RATE, 0.1, 1.0),
                              RATE)
    out = ReferenceMatch({}, {"other": (1.0, 0.25)}).follow_contour(take, RATE, "other", reference)
    np.testing.assert_allclose(out[int(3.5 * RATE):], take[int(3.5 * RATE):], atol=1e-4)
    assert _level_db(out, 2.0, 2.9) - _level_db(out, 0.2, 1.2) > 15.0


def test_contour_settings_round_trip_and_are_checked():
    match = parse_strengths("bass=0.3/0", "piano=0.75/0.5, other=0.5/1")
    assert match.contour == {"piano": (0.75, 0.5), "other": (0.5, 1.0)}
    assert ReferenceMatch.from_dict(match.to_dict()) == match
    assert match.to_dict()["contour"] == {"piano": [0.75, 0.5], "other": [0.5, 1.0]}
    assert "contour" not in ReferenceMatch({"bass": (0.3, 0.0)}).to_dict()  # older manifests read the same
    assert match.applies_to("piano") and match.follows_contour("piano") and not match.follows_contour("bass")
    for bad in ({"piano": (1.5, 0.5)}, {"piano": (0.5, 0.0)}, {"piano": (0.5, -1.0)}):
        with pytest.raises(ValueError, match="contour"):
            ReferenceMatch({}, bad)
    with pytest.raises(ValueError, match="INSTRUMENT=STRENGTH/SECONDS"):
        parse_strengths("", "piano=0.5")


def _reference(seconds: float = 4.0) -> AudioClip:
    rng = np.random.default_rng(3)
    return AudioClip(rng.standard_normal((2, int(seconds * RATE))).astype(np.float32) * 0.1, RATE, "noise")


def _stems(seconds: float = 4.0) -> dict[str, AudioClip]:
    dark = _pulsing(_coloured_noise(seconds, 9, -9.0))
    return {"bass": AudioClip(np.stack([dark, dark]) * 0.1, RATE, "bass stem"),
            "other": AudioClip(np.stack([dark, dark]) * 0.1, RATE, "other stem")}


@pytest.fixture()
def matched_folder(tmp_path):
    folder = debug_folder_with_card(tmp_path / "vit-debug", "# vit-debug\n- Tone match: none.\n- Weights: random.\n")
    done = export_command("reference-match", str(folder), "--strengths", "bass=0.8/0.8")
    assert done.returncode == 0, done.stderr
    return folder


def test_installed_match_follows_the_stems_a_request_gives(matched_folder, tmp_path):
    assert load_manifest(matched_folder, verify=True).config["reference_match"] == {"strengths": {"bass": [0.8, 0.8]}}
    card = (matched_folder / "MODEL_CARD.md").read_text().splitlines()
    assert card[2].startswith("- Reference match:") and "bass 0.8/0.8" in card[2]  # after the tone match
    generator = load_folder(matched_folder, backend="onnx", device="cpu")
    reference, stems = _reference(), _stems()
    params = {"seconds": 2.0}
    plain = generator.generate(GenerationRequest(reference, ("bass", "other"), (7,), 1, params))
    matched = generator.generate(GenerationRequest(reference, ("bass", "other"), (7,), 1, params, stems))
    assert [t.params["reference_match"] for t in plain] == [False, False]
    assert [t.params["reference_match"] for t in matched] == [True, False]  # "other" has no strengths
    assert np.abs(matched[0].clip.samples - plain[0].clip.samples).max() > 1e-2
    np.testing.assert_allclose(matched[1].clip.samples, plain[1].clip.samples, atol=1e-6)
    off = generator.generate(GenerationRequest(reference, ("bass",), (7,), 1, {**params, "reference_match": False},
                                               stems))
    np.testing.assert_allclose(off[0].clip.samples, plain[0].clip.samples, atol=1e-6)
    assert off[0].params["reference_match"] is False
    # Rough stems (the DSP separator's) are left unless the request asks for them.
    rough = generator.generate(GenerationRequest(reference, ("bass",), (7,), 1, params, stems, rough_stems=True))
    assert rough[0].params["reference_match"] is False
    np.testing.assert_allclose(rough[0].clip.samples, plain[0].clip.samples, atol=1e-6)
    asked = generator.generate(GenerationRequest(reference, ("bass",), (7,), 1, {**params, "reference_match": True},
                                                 stems, rough_stems=True))
    np.testing.assert_allclose(asked[0].clip.samples, matched[0].clip.samples, atol=1e-6)
    # The take is darker, as the reference's bass part is.
    def centroid(clip):
        spectrum = np.abs(np.fft.rfft(clip.samples[0]))
        return float((np.fft.rfftfreq(clip.frames, 1.0 / clip.sample_rate) * spectrum).sum() / spectrum.sum())
    assert centroid(matched[0].clip) < centroid(plain[0].clip)


def test_installed_contour_makes_takes_follow_the_stem_over_the_song(tmp_path):
    folder = debug_folder_with_card(tmp_path / "vit-debug", "# vit-debug\n- Tone match: none.\n")
    done = export_command("reference-match", str(folder), "--strengths", "bass=0.5/0", "--contour", "other=1/0.25")
    assert done.returncode == 0, done.stderr
    assert "rises and falls with that part over the song (strength/smoothing: other 1/0.25 s)" in done.stdout
    stored = load_manifest(folder, verify=True).config["reference_match"]
    assert stored == {"strengths": {"bass": [0.5, 0.0]}, "contour": {"other": [1.0, 0.25]}}
    generator = load_folder(folder, backend="onnx", device="cpu")
    steady = _coloured_noise(6.0, 14, -3.0)
    entering = steady * np.where(np.arange(6 * RATE) < 3 * RATE, 0.05, 1.0)  # the part comes in at 3 s
    stems = {"other": AudioClip(np.stack([entering, entering]) * 0.1, RATE, "other stem")}
    request = GenerationRequest(_reference(6.0), ("other",), (3,), 1, {"seconds": 6.0}, stems)
    (plain,) = generator.generate(GenerationRequest(_reference(6.0), ("other",), (3,), 1, {"seconds": 6.0}))
    (followed,) = generator.generate(request)
    assert followed.params["reference_match"] is True and plain.params["reference_match"] is False

    def rise(take):
        return _level_db(take.clip.samples[0], 3.5, 5.5) - _level_db(take.clip.samples[0], 0.5, 2.5)

    assert rise(followed) > rise(plain) + 15.0
    wrong = export_command("reference-match", str(folder), "--strengths", "", "--contour", "vocals=1/0.5")
    assert wrong.returncode == 2 and "no head for vocals" in wrong.stderr


def test_command_line_reads_or_separates_the_reference_stems(matched_folder, tmp_path):
    reference, stems = _reference(), _stems()
    ref = tmp_path / "ref.wav"
    sf.write(ref, reference.samples.T, RATE)
    stems_dir = tmp_path / "stems"
    stems_dir.mkdir()
    sf.write(stems_dir / "bass.wav", stems["bass"].samples.T, RATE)
    cases = ((["--stems", str(stems_dir)], True), (["--separator", "dsp"], False),
             (["--separator", "dsp", "--follow-rough-stems"], True), (["--no-reference-match"], False))
    for flags, expected in cases:
        out = tmp_path / f"takes-{len(flags)}-{expected}"
        made = subprocess.run([sys.executable, "-m", "musicsim_gui", "generate", str(ref), "--model",
                               str(matched_folder), "--instruments", "bass", "--seconds", "2", "-o", str(out), *flags],
                              capture_output=True, text=True, timeout=300)
        assert made.returncode == 0, made.stderr
        assert json.loads((out / "takes.json").read_text())["takes"][0]["params"]["reference_match"] is expected
        assert ("not following the reference's stems: dsp 1 would make them" in made.stdout) is (flags == cases[1][0])
    empty = tmp_path / "empty"
    empty.mkdir()
    wrong = subprocess.run([sys.executable, "-m", "musicsim_gui", "generate", str(ref), "--model", str(matched_folder),
                            "--stems", str(empty), "-o", str(tmp_path / "x")], capture_output=True, text=True,
                           timeout=300)
    assert wrong.returncode != 0 and "no stems" in wrong.stderr
    unknown = export_command("reference-match", str(matched_folder), "--strengths", "vocals=0.5/0")
    assert unknown.returncode != 0 and "no head for vocals" in unknown.stderr


def test_studio_job_passes_the_projects_stems_and_skips_a_missing_one(matched_folder, tmp_path):
    from musicsim_gui.jobs import Generate, SyncRunner

    reference, stems = _reference(), _stems()
    ref = tmp_path / "ref.wav"
    sf.write(ref, reference.samples.T, RATE)
    sf.write(tmp_path / "bass.wav", stems["bass"].samples.T, RATE)
    results = []
    cases = ((tmp_path / "bass.wav", "separation-builtin 2.7"), (tmp_path / "missing.wav", ""),
             (tmp_path / "bass.wav", "dsp 1"))  # the DSP separator's stems are rough: not followed
    for stem_path, separator in cases:
        spec = Generate(str(ref), str(tmp_path / "takes"), model=str(matched_folder), instruments=("bass",),
                        seeds=(7,), params=(("seconds", 1.0),), device="cpu",
                        reference_stems=(("bass", str(stem_path)),), reference_separator=separator)
        handle = SyncRunner().submit(spec)
        handle.poll()
        assert handle.error is None, handle.error
        results.append(handle.result[0].params["reference_match"])
    assert results == [True, False, False]


def test_evaluation_gives_matching_models_the_separated_mix(matched_folder, tmp_path):
    from test_eval_generation_report import make_song

    from musicsim_gui.training.vit_wavegan.evaluate import evaluate

    corpus = tmp_path / "corpus"
    for index in range(2):
        make_song(corpus / "test" / f"song{index}", index)
    generator = load_folder(matched_folder, backend="onnx", device="cpu")
    given = []
    original = generator.generate

    def recording(request, *args, **kwargs):
        given.append(sorted(request.reference_stems or {}))
        rough.append(request.rough_stems)
        return original(request, *args, **kwargs)

    rough = []

    generator.generate = recording
    result = evaluate(corpus, {"debug": generator}, songs=2, seconds=2.0, offset=0.0, log=lambda m: None,
                      separator="dsp")
    assert given and all(names == ["bass", "drums", "other", "piano"] for names in given)
    assert result["reference_separator"] == "dsp"
    assert result["reference_separator_used"] == "dsp 1"  # the model and version that split the mixes
    assert result["reference_stems_rough"] is True and all(rough)  # followed only when asked, as in the studio
    given.clear()
    result = evaluate(corpus, {"debug": generator}, songs=2, seconds=2.0, offset=0.0, log=lambda m: None,
                      separator=None)
    assert given and all(names == [] for names in given)
    assert result["reference_separator_used"] == ""


def test_report_names_the_separator_version_and_a_fallback():
    from musicsim_gui.evaluation.report import _stems_sentence
    from musicsim_gui.separation.base import rough_separator, separator_label
    from musicsim_gui.separation.dsp import DspSeparator

    fallback = DspSeparator(fallback_reason="the built-in model is unavailable (missing model.onnx)")
    used = separator_label(fallback)
    assert used.startswith("dsp 1 in place of the requested one (the built-in model is unavailable")
    assert rough_separator(used) and rough_separator("dsp 1") and not rough_separator("separation-builtin 2.7")
    assert not rough_separator("")  # not known: not taken for rough
    sentence = _stems_sentence({"reference_separator": "builtin", "reference_separator_used": used,
                                "reference_stems_rough": True})
    assert "separated by dsp 1 in place of the requested one (" in sentence
    assert "asked for as `builtin`, never the true stems" in sentence
    assert "followed only when a parameter asks for it (`--param reference_match=true`)" in sentence
    older = _stems_sentence({"reference_separator": "builtin"})  # results saved before the field existed
    assert "separated by `builtin`, never the true stems" in older


def test_match_tone_command_fits_the_final_tone_and_new_strengths_drop_it(matched_folder, tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {"train": 2}, seconds=4.0)

    done = export_command("match-tone", str(matched_folder), "--corpus", str(corpus), "--songs", "2", "--separator", "dsp")
    assert done.returncode == 0, done.stderr
    stored = load_manifest(matched_folder, verify=True).config["reference_match"]
    assert set(stored["tone"]["gains_db"]) == {"bass"}  # the instruments the match follows
    assert stored["tone_separator"] == "dsp 1"  # the parts it corrects for came from this separator
    assert "mixes separated by dsp 1 against" in (matched_folder / "MODEL_CARD.md").read_text()
    generator = load_folder(matched_folder, backend="onnx", device="cpu")
    assert generator.finishing.reference_match.tone is not None
    _final_tone_can_be_left_out(generator)
    wrong = export_command("match-tone", str(matched_folder), "--corpus", str(corpus), "--instruments", "piano")
    assert wrong.returncode != 0 and "does not follow piano" in wrong.stderr
    again = export_command("reference-match", str(matched_folder), "--strengths", "bass=0.5/0")
    assert again.returncode == 0 and "fit it again" in again.stdout
    assert not {"tone", "tone_separator"} & set(load_manifest(matched_folder, verify=True).config["reference_match"])
    plain = debug_folder_with_card(tmp_path / "plain", "# plain\n")
    none = export_command("match-tone", str(plain), "--corpus", str(corpus))
    assert none.returncode != 0 and "no reference match" in none.stderr


def test_a_final_tone_fitted_for_some_instruments_keeps_the_others_stored_gains(tmp_path):
    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.training.vit_wavegan.tone_fit import install_match_tone

    folder = debug_folder_with_card(tmp_path / "vit-debug", "# vit-debug\n- Weights: random.\n")
    done = export_command("reference-match", str(folder), "--strengths", "bass=0.8/0.8,drums=0.5/0.5")
    assert done.returncode == 0, done.stderr
    centres = tuple(float(c) for c in band_centres(RATE))

    def tone(**gains):
        return ToneMatch(centres, {name: tuple(np.full(len(centres), value)) for name, value in gains.items()})

    def stored():
        data = load_manifest(folder, verify=True).config["reference_match"]
        return data["tone"]["gains_db"], data["tone_separator"]

    install_match_tone(folder, tone(drums=-2.0, bass=1.0), "sep 1")
    gains, separator = stored()
    assert list(gains) == ["bass", "drums"] and separator == "sep 1"
    install_match_tone(folder, tone(bass=3.0), "sep 1")          # bass refitted on more songs, say
    gains, _ = stored()
    assert list(gains) == ["bass", "drums"] and set(gains["bass"]) == {3.0} and set(gains["drums"]) == {-2.0}
    before = (folder / "manifest.json").read_bytes()
    with pytest.raises(MusicSimError, match="final tone of bass was fitted on sep 1's parts.*fit every instrument"):
        install_match_tone(folder, tone(drums=0.5), "sep 2")      # one origin per stored tone
    assert (folder / "manifest.json").read_bytes() == before
    install_match_tone(folder, tone(bass=0.0, drums=0.5), "sep 2")
    gains, separator = stored()
    assert set(gains["bass"]) == {0.0} and set(gains["drums"]) == {0.5} and separator == "sep 2"


def _final_tone_can_be_left_out(generator) -> None:
    """The final tone applies to matched takes unless the request's `final_tone` parameter says no; each take
    records which."""
    reference, stems = _reference(), _stems()

    def take(**params):
        request = GenerationRequest(reference, ("bass",), (7,), 1, {"seconds": 1.0, **params}, stems)
        return generator.generate(request)[0]

    toned, plain = take(), take(final_tone=False)
    assert toned.params["final_tone"] is True and plain.params["final_tone"] is False
    assert np.abs(toned.clip.samples - plain.clip.samples).max() > 1e-3
    unmatched = generator.generate(GenerationRequest(reference, ("bass",), (7,), 1, {"seconds": 1.0}))[0]
    assert "final_tone" not in unmatched.params  # no stem followed: no final tone to speak of


def test_match_tone_refuses_to_fit_on_the_fallback_separators_parts(matched_folder, tmp_path, monkeypatch):
    import argparse

    from musicsim_gui.cli.cmd_export import run_match_tone
    from musicsim_gui.core.errors import MusicSimError
    from musicsim_gui.separation import base
    from musicsim_gui.separation.dsp import DspSeparator

    fallback = DspSeparator(fallback_reason="the built-in model is unavailable (model.onnx missing)")
    monkeypatch.setattr(base, "get_separator", lambda *args, **kwargs: fallback)  # as get_separator answers then
    before = (matched_folder / "manifest.json").read_bytes()
    args = argparse.Namespace(model=str(matched_folder), corpus=str(tmp_path), songs=2, instruments="",
                              separator="builtin")
    with pytest.raises(MusicSimError, match="built-in model is unavailable .*nothing fitted"):
        run_match_tone(args)
    assert (matched_folder / "manifest.json").read_bytes() == before


def test_the_bundled_final_tone_was_fitted_on_the_bundled_separators_parts():
    """The final tone corrects what one separator does to a part, so a new separator needs a refit
    (`musicsim export match-tone models/vit-wavegan-lofi --corpus CORPUS`)."""
    models = Path(__file__).resolve().parents[1] / "models"
    separator = load_manifest(models / "separation-builtin", verify=False)
    match = load_manifest(models / "vit-wavegan-lofi", verify=False).config["reference_match"]
    assert match["tone_separator"] == f"{separator.name} {separator.version}", (
        "the bundled generator's final tone was fitted on another separator's parts: refit it")
