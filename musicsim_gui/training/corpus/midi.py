"""Write a composed song as a Standard MIDI File: one track per voice, named `<stem>` or `<stem>:<role>`.

The file carries the song's tempo; note times are the exact seconds the renderer used, so the MIDI and
the audio stems line up (before the LoFi chain's sub-millisecond wow and flutter).
"""

from __future__ import annotations

from pathlib import Path

from musicsim_gui.core.atomic import atomic_path
from musicsim_gui.training.corpus.song import Song


def song_to_midi(song: Song):
    """A `pretty_midi.PrettyMIDI` of `song` (pretty_midi is imported here, it is a corpus-only extra)."""
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(initial_tempo=song.grid.tempo_bpm)
    for stem, voices in song.stems.items():
        for voice in voices:
            track = pretty_midi.Instrument(program=voice.program, is_drum=voice.is_drum,
                                           name=voice.name if ":" in voice.name else stem)
            track.notes = [pretty_midi.Note(velocity=n.velocity, pitch=n.pitch, start=n.start, end=n.end)
                           for n in voice.notes]
            for number, value in ((7, voice.volume), (10, voice.pan), (91, voice.reverb), (93, voice.chorus)):
                track.control_changes.append(pretty_midi.ControlChange(number, int(value), 0.0))
            midi.instruments.append(track)
    return midi


def write_midi(song: Song, path: Path) -> Path:
    """Write `song` to `path` atomically; returns the path."""
    midi = song_to_midi(song)
    with atomic_path(path) as tmp:
        midi.write(str(tmp))
    return Path(path)
