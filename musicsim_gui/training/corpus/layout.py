"""Where corpus songs live on disk, which seeds belong to which split, and how a finished song is verified.

Layout: `DIR/<split>/<song_id>/{mix,bass,drums,piano,other}.flac`, `song.mid`, `meta.json`.
`meta.json` is written last, so a song folder without it is unfinished and is made again on resume.
Splits are fixed seed ranges (never change them: evaluations stay comparable across corpora):
test = seeds 0..9,999, valid = 10,000..19,999, train = 20,000 and up. A corpus with N songs of a split
holds that split's first N seeds (plus an optional offset), so growing a corpus only adds songs.
"""

from __future__ import annotations

import json
from pathlib import Path

from musicsim_gui.core.errors import MusicSimError
from musicsim_gui.runtime.manifest import file_sha256 as sha256_file

SPLITS: dict[str, tuple[int, int]] = {"test": (0, 10_000), "valid": (10_000, 20_000), "train": (20_000, 2**31 - 1)}
"""Split -> [first seed, end seed)."""

STEM_NAMES = ("bass", "drums", "piano", "other")
AUDIO_FILES = ("mix", *STEM_NAMES)
META_FILE = "meta.json"
MIDI_FILE = "song.mid"
META_VERSION = 1


README_TEXT = """# Synthetic multi-stem LoFi corpus

Made by `musicsim corpus make` (MuSiC Studio). Every song was composed from its seed and rendered with
the FluidR3 General MIDI SoundFont through FluidSynth; nothing here was recorded or downloaded.

Layout: `<split>/<song_id>/` holds `mix.flac` and the stems `bass.flac`, `drums.flac`, `piano.flac`,
`other.flac` (44.1 kHz stereo FLAC), `song.mid` (one track per instrument) and `meta.json` (seed, tempo,
key, progressions, programs, section and beat times, LoFi chain settings, file sizes and sha256).

The stems are exact: mix = bass + drums + piano + other, sample by sample (up to the quantisation of
the files). Saturation is applied per stem; wow/flutter and the filters are the same linear processing
on every stem; vinyl crackle and hiss are part of `other`.

Splits are fixed seed ranges, so evaluations stay comparable across corpora:
test = seeds 0..9999, valid = seeds 10000..19999, train = seeds 20000 and up.
`song_id` is `song_` plus the six-digit seed.
"""


def write_readme(root: Path) -> None:
    """Write the corpus README.md into `root` (once)."""
    from musicsim_gui.core.atomic import atomic_write_text

    path = Path(root) / "README.md"
    if not path.exists():
        atomic_write_text(path, README_TEXT)


def split_of(seed: int) -> str:
    """The split a seed belongs to."""
    for name, (first, end) in SPLITS.items():
        if first <= seed < end:
            return name
    raise MusicSimError(f"seed {seed} is outside every split (0..{SPLITS['train'][1] - 1})")


def split_seeds(split: str, count: int, offset: int = 0) -> list[int]:
    """The seeds of `count` songs of `split`, starting `offset` songs into its range."""
    if split not in SPLITS:
        raise MusicSimError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    first, end = SPLITS[split]
    seeds = list(range(first + offset, first + offset + count))
    if seeds and seeds[-1] >= end:
        raise MusicSimError(f"{split} holds at most {end - first} songs (seed offset {offset}, {count} songs asked)")
    return seeds


def song_id(seed: int) -> str:
    return f"song_{seed:06d}"


def song_dir(root: Path, seed: int) -> Path:
    return Path(root) / split_of(seed) / song_id(seed)


def audio_path(folder: Path, name: str) -> Path:
    return Path(folder) / f"{name}.flac"


def read_meta(folder: Path) -> dict:
    """The song's meta.json as a dict; MusicSimError naming the file when it is missing or unreadable."""
    path = Path(folder) / META_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise MusicSimError(f"{path}: cannot read song metadata ({error})") from error


def verify_song(folder: Path, full: bool = False) -> bool:
    """True when the song folder is complete: meta.json readable, every file present with the size, frame
    count and sample rate meta.json records (and, with `full`, the recorded sha256)."""
    import soundfile

    try:
        meta = read_meta(folder)
        for name in AUDIO_FILES:
            info = soundfile.info(str(audio_path(folder, name)))
            if info.frames != meta["frames"] or info.samplerate != meta["sample_rate"]:
                return False
        for name, digest in meta["files"].items():
            path = Path(folder) / name
            if path.stat().st_size != meta["sizes"][name] or (full and sha256_file(path) != digest):
                return False
        return set(meta["files"]) == {f"{name}.flac" for name in AUDIO_FILES} | {MIDI_FILE}
    except (MusicSimError, OSError, KeyError, RuntimeError, TypeError):
        return False


def list_songs(root: Path, split: str | None = None) -> list[Path]:
    """Song folders with a meta.json under `root` (one split or all), sorted by split then id."""
    splits = [split] if split else list(SPLITS)
    found: list[Path] = []
    for name in splits:
        found += sorted(p.parent for p in (Path(root) / name).glob(f"*/{META_FILE}"))
    return found
