"""Make one corpus song: compose, render each stem, run the LoFi chain, write audio, MIDI and meta.json.

`render_song` is the in-memory path (tests and the demo use it); `make_song` writes a song folder
(see `layout`) with every file written atomically and meta.json last. Randomness for the chain and the
room comes from a generator seeded with (seed, 1), independent of the composer's generator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicsim_gui.core.atomic import atomic_path, atomic_write_text
from musicsim_gui.training.corpus import layout
from musicsim_gui.training.corpus.composer import compose
from musicsim_gui.training.corpus.lofi import LofiSettings, apply_chain, draw_settings
from musicsim_gui.training.corpus.midi import write_midi
from musicsim_gui.training.corpus.song import Song
from musicsim_gui.training.corpus.synth import render_voices, soundfont_path
from musicsim_gui.training.corpus.theory import PITCH_NAMES

SAMPLE_RATE = 44100
GENERATOR_VERSION = "lofi-corpus-1"
_SUBTYPES = {16: "PCM_16", 24: "PCM_24"}


@dataclass
class RenderedSong:
    """A song with its audio: `stems` {name: float32 [2, T]}, `mix` float32 [2, T] == sum of stems."""

    song: Song
    stems: dict[str, np.ndarray]
    mix: np.ndarray
    sample_rate: int
    lofi: LofiSettings | None
    room: tuple[float, float, float, float]


def render_song(seed: int, duration_s: float | None = None, sample_rate: int = SAMPLE_RATE,
                lofi: bool = True) -> RenderedSong:
    """Compose and render the song for `seed` (no files written)."""
    song = compose(seed, duration_s)
    rng = np.random.default_rng([seed, 1])
    room = (round(float(rng.uniform(0.2, 0.8)), 3), round(float(rng.uniform(0.2, 0.7)), 3), 0.9,
            round(float(rng.uniform(0.4, 0.9)), 3))
    dry = {name: render_voices(voices, song.duration, sample_rate, room) for name, voices in song.stems.items()}
    settings = draw_settings(rng, tuple(dry)) if lofi else None
    if settings is None:
        stems = dry
        mix = np.zeros_like(next(iter(dry.values())))
        for audio in dry.values():
            mix += audio
    else:
        stems, mix = apply_chain(dry, sample_rate, settings, rng)
    return RenderedSong(song, stems, mix, sample_rate, settings, room)


def _chord_name(tonic: int, chord) -> str:
    return f"{PITCH_NAMES[(tonic + chord.root) % 12]}{chord.quality}"


def song_meta(rendered: RenderedSong) -> dict:
    """The meta.json content for a rendered song (without the `files` entry)."""
    song, grid = rendered.song, rendered.song.grid
    frames = rendered.mix.shape[-1]
    return {
        "version": layout.META_VERSION, "generator": GENERATOR_VERSION, "song_id": layout.song_id(song.seed),
        "seed": song.seed, "split": layout.split_of(song.seed), "sample_rate": rendered.sample_rate,
        "channels": 2, "frames": frames, "duration_s": round(frames / rendered.sample_rate, 6),
        "tempo_bpm": grid.tempo_bpm, "swing": grid.swing, "time_signature": "4/4",
        "key": f"{PITCH_NAMES[song.tonic]} {song.mode}", "tonic": song.tonic, "mode": song.mode,
        "progressions": {name: [[_chord_name(song.tonic, c) for c in bar] for bar in bars]
                         for name, bars in song.progressions.items()},
        "progressions_relative": {name: [[c.label() for c in bar] for bar in bars]
                                  for name, bars in song.progressions.items()},
        "sections": [{"name": s.name, "start_bar": s.start_bar, "bars": s.bars,
                      "start_s": round(grid.seconds(s.start_bar, 0), 6),
                      "end_s": round(grid.seconds(s.start_bar + s.bars, 0), 6)} for s in song.sections],
        "beat_times": song.beat_times(), "downbeat_times": song.beat_times()[::4],
        "programs": {stem: [{"name": v.name, "program": v.program, "is_drum": v.is_drum, "notes": len(v.notes)}
                            for v in voices] for stem, voices in song.stems.items()},
        "drum_kit": song.drum_kit, "drum_pattern": song.drum_pattern, "features": song.features,
        "room": list(rendered.room), "lofi": rendered.lofi.to_dict() if rendered.lofi else None,
        "noise_in": "other", "soundfont": soundfont_path().name,
    }


def write_audio(path: Path, audio: np.ndarray, sample_rate: int, bit_depth: int) -> None:
    """Write float32 [C, T] audio as FLAC (16- or 24-bit, no dither) atomically."""
    import soundfile

    with atomic_path(path) as tmp:
        soundfile.write(str(tmp), audio.T, sample_rate, subtype=_SUBTYPES[bit_depth], format="FLAC")


def write_song(rendered: RenderedSong, folder: Path, bit_depth: int = 16) -> Path:
    """Write a rendered song into `folder`: audio, song.mid, then meta.json with each file's sha256 and size."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name in layout.AUDIO_FILES:
        audio = rendered.mix if name == "mix" else rendered.stems[name]
        path = layout.audio_path(folder, name)
        write_audio(path, audio, rendered.sample_rate, bit_depth)
        files[path.name] = layout.sha256_file(path)
    midi = write_midi(rendered.song, folder / layout.MIDI_FILE)
    files[midi.name] = layout.sha256_file(midi)
    sizes = {name: (folder / name).stat().st_size for name in files}
    meta = song_meta(rendered) | {"bit_depth": bit_depth, "files": files, "sizes": sizes}
    atomic_write_text(folder / layout.META_FILE, json.dumps(meta, indent=1) + "\n")
    return folder


def make_song(seed: int, root: Path, duration_s: float | None = None, bit_depth: int = 16,
              sample_rate: int = SAMPLE_RATE, lofi: bool = True) -> Path:
    """Render and write the corpus song for `seed` under `root`; returns its folder."""
    rendered = render_song(seed, duration_s, sample_rate, lofi)
    return write_song(rendered, layout.song_dir(root, seed), bit_depth)

