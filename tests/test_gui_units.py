"""The studio's plain helpers: time and level text, export choices, track display state."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import pytest

from musicsim_gui.core.project import Take, Track
from musicsim_gui.gui.export_options import ExportChoice, expand_template
from musicsim_gui.gui.timefmt import bars_beats, clock, gain_text, linear_to_dbfs, mm_ss, pan_text
from musicsim_gui.gui.track_state import active_row, describe_track


def test_time_text():
    assert mm_ss(75.2) == "1:15" and mm_ss(-3) == "-0:03"
    assert clock(75.25) == "01:15.250" and clock(-1) == "00:00.000" and clock(59.9996) == "01:00.000"
    assert bars_beats(0.0, 120) == "1.1" and bars_beats(2.0, 120) == "2.1" and bars_beats(2.49, 120) == "2.1"
    assert bars_beats(2.5, 120) == "2.2" and bars_beats(10.0, None) == "-.-"
    # Bar 1 starts on the first downbeat; the beats before it are the pickup bar, bar 0.
    assert bars_beats(1.0, 120, first_downbeat=0.5) == "1.2" and bars_beats(0.2, 120, first_downbeat=0.5) == "0.4"


def test_level_text():
    assert gain_text(-6) == "-6.0 dB" and gain_text(1.5) == "+1.5 dB" and gain_text(-math.inf) == "-inf dB"
    assert pan_text(0) == "C" and pan_text(-0.4) == "L40" and pan_text(1) == "R100"
    assert linear_to_dbfs(1.0) == 0.0 and linear_to_dbfs(0.0) == -60.0
    assert linear_to_dbfs(0.5) == pytest.approx(-6.02, abs=0.01)


def test_export_choice_paths_and_settings(tmp_path):
    now = datetime(2026, 3, 4, 5, 6)
    assert expand_template("{title} {date} {time}", "Song: A/B", now) == "Song_ A_B 2026-03-04 0506"
    assert expand_template("{nope}", "x", now) == "{nope}" and expand_template("...", "x", now) == "mix"
    choice = ExportChoice(tmp_path, "{title} mix", "FLAC 24-bit", "48000 Hz", "Loudness (LUFS)", -16.0, True)
    assert choice.mix_path("Demo", now) == tmp_path / "Demo mix.flac"
    assert choice.stems_dir("Demo", now) == Path(tmp_path / "Demo mix stems")
    settings = choice.settings()
    assert (settings.bit_depth, settings.sample_rate, settings.normalize, settings.lufs) == (24, 48000, "lufs", -16.0)
    plain = ExportChoice(tmp_path, "x", "WAV 32-bit float", "Project rate", "No normalisation", -1.0, False)
    assert plain.stems_dir("Demo") is None and plain.settings().sample_rate is None
    stems_only = ExportChoice(tmp_path, "x", "FLAC 16-bit", "Project rate", "No normalisation", -1.0, True, mix=False)
    assert stems_only.mix_path("Demo") is None and stems_only.stems_dir("Demo") == tmp_path / "x stems"
    assert stems_only.suffix == ".flac" and ExportChoice.contents_name(False, True) == "Stems only"


def test_track_state_rows_and_summary():
    takes = [Take("a", "takes/bass/a.flac", "gen", "1", 7, rating=3), Take("b", "takes/bass/b.flac", "gen", "1", 8)]
    track = Track("bass", takes=takes, chosen_take_id="b", reference_stem="stems/bass.flac", gain_db=-3.0)
    state = describe_track(track, (True, "tip"))
    assert state.row_labels == ("stem", "T1 3\u2605", "T2") and state.active_row == 2
    assert state.summary == "gen 1 \u00b7 seed 8" and state.stars is None and state.gain_db == -3.0
    track.listen_reference = True
    assert active_row(track) == 0 and describe_track(track, (False, "")).summary == "hearing the reference stem"
    empty = Track("drums")
    assert active_row(empty) is None and describe_track(empty, (False, "")).row_labels == ("no stem",)
