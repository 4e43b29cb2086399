"""The corpus SoundFont pack: a subset of the GM font that renders the same audio, packed losslessly and back."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.training.corpus import synth
from musicsim_gui.training.corpus.song import Note, Voice
from musicsim_gui.training.corpus.soundfont_pack import (
    DRUM_BANK,
    corpus_presets,
    pack_soundfont,
    read_soundfont,
    unpack_soundfont,
)

PRESETS = [(0, 33), (0, 4), (DRUM_BANK, 0)]
"""Finger bass, electric piano 1 and the standard kit: stereo and mono samples, loops and one-shots."""


def _voices() -> list[Voice]:
    bass = Voice("bass", program=33, notes=[Note(0.0, 0.7, 36, 100), Note(0.75, 1.4, 43, 90)], volume=110)
    keys = Voice("piano", program=4, notes=[Note(0.1, 1.5, p, 80) for p in (60, 64, 67)], pan=40, chorus=30)
    kit = Voice("drums", program=0, is_drum=True, notes=[Note(t, t + 0.1, p, 110) for t, p in
                                                        ((0.0, 36), (0.5, 38), (0.25, 42), (0.75, 42), (1.0, 36))])
    return [bass, keys, kit]


def _render(monkeypatch, font) -> np.ndarray:
    monkeypatch.setenv(synth.SOUNDFONT_ENV, str(font))
    return synth.render_voices(_voices(), 1.6, 44100)


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("soundfont")
    source = synth.soundfont_path()
    plain = pack_soundfont(source, folder / "subset.sf2", PRESETS, codec="pcm")
    pack = pack_soundfont(source, folder / "subset.sfpack", PRESETS)
    unpacked = unpack_soundfont(folder / "subset.sfpack", folder / "unpacked.sf2")
    return folder, plain, pack, unpacked


def test_the_subset_holds_exactly_the_presets_asked_for(packed):
    folder, plain, pack, unpacked = packed
    assert sorted(read_soundfont(folder / "subset.sf2").presets()) == sorted(PRESETS)
    assert plain.presets == pack.presets == unpacked.presets == 3 and plain.missing == []
    assert plain.samples == pack.samples and plain.instruments == pack.instruments
    assert pack.bytes < 0.7 * plain.bytes


def test_unpacking_restores_the_subset_byte_for_byte(packed):
    folder = packed[0]
    assert (folder / "unpacked.sf2").read_bytes() == (folder / "subset.sf2").read_bytes()


def test_the_unpacked_subset_renders_exactly_like_the_full_font(packed, monkeypatch):
    folder = packed[0]
    full = _render(monkeypatch, synth.soundfont_path())
    subset = _render(monkeypatch, folder / "unpacked.sf2")
    assert np.abs(full).max() > 0.01
    np.testing.assert_array_equal(subset, full)


def test_the_corpus_presets_are_the_programs_its_composer_draws():
    presets = corpus_presets()
    assert (0, 33) in presets and (0, 88) in presets and (DRUM_BANK, 40) in presets
    assert len(presets) == len(set(presets)) == 38


def test_presets_the_source_lacks_are_reported_and_none_at_all_is_an_error(tmp_path):
    report = pack_soundfont(synth.soundfont_path(), tmp_path / "one.sf2", [(0, 33), (5, 7)], codec="pcm")
    assert report.presets == 1 and report.missing == [(5, 7)]
    with pytest.raises(MusicSimError, match="none of the 1 presets"):
        pack_soundfont(synth.soundfont_path(), tmp_path / "none.sf2", [(5, 7)], codec="pcm")
    assert not (tmp_path / "none.sf2").exists()


def test_bad_files_are_named_and_nothing_is_written(tmp_path, packed):
    folder = packed[0]
    garbage = tmp_path / "garbage.sf2"
    garbage.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt ")
    with pytest.raises(MusicSimError, match="garbage.sf2: not a SoundFont"):
        pack_soundfont(garbage, tmp_path / "out.sfpack")
    with pytest.raises(MusicSimError, match="not a packed SoundFont"):
        unpack_soundfont(folder / "subset.sf2", tmp_path / "out.sf2")
    damaged = bytearray((folder / "subset.sfpack").read_bytes())
    first_stream = damaged.index(b"fLaC")
    damaged[first_stream:first_stream + 64] = bytes(64)
    (tmp_path / "damaged.sfpack").write_bytes(bytes(damaged))
    with pytest.raises(MusicSimError, match="cannot be decoded"):
        unpack_soundfont(tmp_path / "damaged.sfpack", tmp_path / "out.sf2")
    with pytest.raises(MusicSimError, match="unknown sample codec"):
        pack_soundfont(synth.soundfont_path(), tmp_path / "out.sf2", codec="mp3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.sfpack", "garbage.sf2"]


def test_cli_packs_the_corpus_presets_and_unpacks_them(tmp_path):
    run = [sys.executable, "-m", "musicsim_gui", "corpus"]
    packed = subprocess.run(run + ["pack-soundfont", "--out", str(tmp_path / "corpus.sfpack")],
                            capture_output=True, text=True, timeout=120)
    assert packed.returncode == 0, packed.stderr
    assert "38 presets" in packed.stdout
    unpacked = subprocess.run(run + ["unpack-soundfont", str(tmp_path / "corpus.sfpack"), "--out",
                                     str(tmp_path / "corpus.sf2")], capture_output=True, text=True, timeout=120)
    assert unpacked.returncode == 0, unpacked.stderr
    assert sorted(read_soundfont(tmp_path / "corpus.sf2").presets()) == corpus_presets()
    wrong = subprocess.run(run + ["unpack-soundfont", str(tmp_path / "corpus.sf2"), "--out", str(tmp_path / "x")],
                           capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "not a packed SoundFont" in wrong.stderr
