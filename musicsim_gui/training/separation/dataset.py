"""Training examples for the separator, drawn from the multi-stem corpus with augmentation.

Architecture:
1. `SongIndex` lists the song folders of one corpus split (`<split>/<song>/{bass,drums,piano,other}.flac`
   + `meta.json`) and their lengths; audio is read segment by segment, so a corpus of hundreds of songs
   needs no more memory than one batch.
2. `ExampleSampler.example()` builds one training example `[S, n]` of one random channel, or `[S, 2, n]`
   of both channels for a stereo-cue network (`stereo`):
   - with probability `remix`, each stem comes from a different random song and offset (cross-song
     remixing: new combinations of parts the model has never heard together), else all from one song;
   - each stem gets a random gain (dB) and, rarely, is silenced; the whole example a random level;
   - each stem is varispeed-resampled by ±`jitter` (a small pitch and tempo change together).
   The mix is the sum of the returned stems, exactly as in the corpus.
3. `validation_batch` is a fixed, seeded set of unaugmented aligned segments of another split.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.core.instruments import INSTRUMENTS


@dataclass(frozen=True)
class Song:
    """One corpus song: its folder, length in frames and sample rate."""

    folder: Path
    frames: int
    sample_rate: int
    channels: int


class SongIndex:
    """The finished songs of a corpus split folder (those with `meta.json` and every stem file)."""

    def __init__(self, split_dir: str | Path, stems: tuple[str, ...] = INSTRUMENTS) -> None:
        self.split_dir = Path(split_dir)
        self.stems = stems
        self.songs: list[Song] = []
        self.refresh()
        if not self.songs:
            raise MusicSimError(f"{self.split_dir}: no finished songs (folders with meta.json and "
                                f"{', '.join(f'{s}.flac' for s in stems)})")

    def refresh(self) -> int:
        """Re-scan the split for songs finished since the last scan (a corpus still being made); returns how many."""
        self.songs = [song for song in self.songs if (song.folder / "meta.json").is_file()]
        known = {song.folder for song in self.songs}
        for meta in sorted(self.split_dir.glob("*/meta.json")):
            if meta.parent not in known and (song := self._song(meta)) is not None:
                self.songs.append(song)
        return len(self.songs)

    def _song(self, meta: Path) -> Song | None:
        folder = meta.parent
        if not all((folder / f"{stem}.flac").is_file() for stem in self.stems):
            return None
        info = sf.info(str(folder / f"{self.stems[0]}.flac"))
        return Song(folder, info.frames, info.samplerate, info.channels)

    @property
    def sample_rate(self) -> int:
        return self.songs[0].sample_rate

    def read(self, song: Song, stem: str, start: int, frames: int, channel: int | None) -> np.ndarray:
        """float32 `[frames]` of one channel of a stem from `start` (zero-padded past the end), or `[2, frames]`
        of both channels with `channel=None` (a mono file gives its one channel twice)."""
        data, _ = sf.read(str(song.folder / f"{stem}.flac"), start=start, frames=frames, dtype="float32",
                          always_2d=True)
        if channel is None:
            out = data[:, [0, min(1, data.shape[1] - 1)]].T
        else:
            out = data[:, min(channel, data.shape[1] - 1)]
        missing = frames - out.shape[-1]
        return np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, missing)]) if missing > 0 else out

    def meta(self, song: Song) -> dict:
        return json.loads((song.folder / "meta.json").read_text())


@dataclass(frozen=True)
class Augmentation:
    """Augmentation strengths: probabilities, gain ranges in dB, varispeed as a relative rate change."""

    remix: float = 0.5
    stem_gain_db: tuple[float, float] = (-9.0, 3.0)
    level_db: tuple[float, float] = (-12.0, 6.0)
    silence: float = 0.08
    jitter: float = 0.03


class ExampleSampler:
    """Random augmented training examples `[S, frames]` from a `SongIndex` (see the module docstring)."""

    def __init__(self, index: SongIndex, frames: int, augmentation: Augmentation, seed: int = 0,
                 stereo: bool = False) -> None:
        self.index, self.frames, self.aug, self.stereo = index, frames, augmentation, stereo
        self.rng = np.random.default_rng(seed)
        self.songs: list[Song] = []
        self.refresh()
        if not self.songs:
            raise MusicSimError(f"{index.split_dir}: every song is shorter than one training segment")

    def refresh(self) -> int:
        """Pick up songs added to the split since the last call; returns the number of usable songs."""
        self.index.refresh()
        self.songs = [s for s in self.index.songs if s.frames > self.frames * (1 + self.aug.jitter) + 2]
        return len(self.songs)

    def _segment(self, song: Song, stem: str, start: int, rate: float, channel: int | None) -> np.ndarray:
        need = int(np.ceil(self.frames * rate)) + 1
        raw = self.index.read(song, stem, start, need, channel)
        if rate == 1.0:
            return raw[..., : self.frames]
        # Linear interpolation (as np.interp, in float32 and for both channels at once): the sample at
        # `left` plus the fraction of the step to the next one, which exists as `need` rounds up.
        positions = np.arange(self.frames) * rate
        left = positions.astype(np.intp)
        fraction = (positions - left).astype(np.float32)
        here = raw[..., left]
        return here + (raw[..., left + 1] - here) * fraction

    def _pick(self) -> tuple[Song, int]:
        song = self.songs[self.rng.integers(len(self.songs))]
        span = song.frames - int(self.frames * (1 + self.aug.jitter)) - 2
        return song, int(self.rng.integers(max(span, 1)))

    def example(self, attempts: int = 5) -> np.ndarray:
        """float32 `[S, frames]`: augmented stems of one channel; their sum is the training mix.

        A song that disappears or cannot be read (a corpus being remade) is dropped and another drawn.
        """
        for _ in range(attempts - 1):
            try:
                return self._example()
            except (OSError, RuntimeError):  # soundfile.LibsndfileError is a RuntimeError
                self.refresh()
        return self._example()

    def _example(self) -> np.ndarray:
        rng, aug = self.rng, self.aug
        remix = rng.random() < aug.remix
        channel = int(rng.integers(2))  # drawn in stereo too, so both modes consume the generator alike
        channel_or_both = None if self.stereo else channel
        song, start = self._pick()
        shared_rate = 1.0 + rng.uniform(-aug.jitter, aug.jitter)
        stems = []
        for stem in self.index.stems:
            if remix:
                song, start = self._pick()
            rate = 1.0 + rng.uniform(-aug.jitter, aug.jitter) if remix else shared_rate
            gain_db = rng.uniform(*aug.stem_gain_db) if rng.random() >= aug.silence else -120.0
            stems.append(self._segment(song, stem, start, rate, channel_or_both) * np.float32(10 ** (gain_db / 20)))
        out = np.stack(stems)
        return out * np.float32(10 ** (rng.uniform(*aug.level_db) / 20))

    def batch(self, size: int) -> np.ndarray:
        """float32 `[B, S, frames]` (`[B, S, 2, frames]` in stereo)."""
        return np.stack([self.example() for _ in range(size)])


def validation_batch(index: SongIndex, frames: int, count: int, seed: int = 1234, stereo: bool = False) -> np.ndarray:
    """A fixed float32 `[count, S, frames]` of aligned, unaugmented segments spread over the split's songs
    (alternate channels), or `[count, S, 2, frames]` of both channels with `stereo`."""
    rng = np.random.default_rng(seed)
    songs = [s for s in index.songs if s.frames > frames]
    if not songs:
        raise MusicSimError(f"{index.split_dir}: every song is shorter than one validation segment")
    examples = []
    for i in range(count):
        song = songs[i % len(songs)]
        start = int(rng.integers(song.frames - frames))
        channel = None if stereo else i % 2
        examples.append(np.stack([index.read(song, s, start, frames, channel) for s in index.stems]))
    return np.stack(examples)
