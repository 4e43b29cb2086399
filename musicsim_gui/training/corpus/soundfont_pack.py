"""The corpus's SoundFont, cut down and packed: render the corpus where the full GM SoundFont is not installed.

The corpus is rendered with the 148 MB FluidR3 General MIDI SoundFont, of which its songs play 31 melodic
programs and 7 drum kits (`corpus_presets`, 62 MB of samples). `pack_soundfont` keeps just those and packs
their samples losslessly with FLAC (26 MB), so the font can travel with the code to a machine that has
FluidSynth but not the font (a training server, say); `unpack_soundfont` turns the pack back into a plain
SF2 there, and `MUSICSIM_SOUNDFONT=corpus.sf2 musicsim corpus make ...` renders the same songs sample for
sample as the full font does.

Architecture:
1. `read_soundfont` splits the RIFF file into its INFO chunks, the sample pool and the nine preset-data
   tables (presets → preset zones → generators/modulators → instruments → instrument zones →
   generators/modulators → sample headers), each as a list of records.
2. `_subset` keeps the chosen presets in their original order, the instruments their zones name
   (generator 41) and the samples those name (generator 53) with their stereo partners, and renumbers every
   reference; each table ends with its terminal record, as the format requires.
3. Every kept sample travels with the 46 points that followed it in the source pool, so interpolation past
   its end reads the same values as with the full font. A plain subset (`codec="pcm"`) writes them as the
   SF2 pool; a pack (`codec="flac"`) writes each sample as one FLAC stream, its header's start/end the
   stream's byte range and its loop points counted from the sample's first frame, in a RIFF form of its own
   ('sfpk') so that no synthesizer mistakes it for a SoundFont.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicsim_gui.core.atomic import atomic_path
from musicsim_gui.core.errors import MusicSimError

TABLES = {
    b"phdr": "<20sHHHIII", b"pbag": "<HH", b"pmod": "<HHhHH", b"pgen": "<HH",
    b"inst": "<20sH", b"ibag": "<HH", b"imod": "<HHhHH", b"igen": "<HH", b"shdr": "<20sIIIIIBbHH",
}
"""Preset-data tables and their record layouts (SoundFont 2.04, section 7), in file order."""

SOUNDFONT_FORM = b"sfbk"
PACK_FORM = b"sfpk"
INSTRUMENT_GENERATOR = 41
SAMPLE_GENERATOR = 53
LINKED_TYPES = 0x2 | 0x4 | 0x8
"""Sample types whose link field names a partner sample (right, left, linked)."""
TAIL_POINTS = 46
DRUM_BANK = 128
CODECS = ("flac", "pcm")


@dataclass
class SoundFont:
    """A parsed SoundFont or pack: RIFF `form`, INFO chunks `[(id, bytes)]`, raw sample `pool`, table records."""

    form: bytes
    info: list[tuple[bytes, bytes]]
    pool: bytes
    tables: dict[bytes, list[list]]

    def presets(self) -> list[tuple[int, int]]:
        """(bank, program) of every preset, in file order (the terminal record left out)."""
        return [(record[2], record[1]) for record in self.tables[b"phdr"][:-1]]

    def points(self, start: int, stop: int) -> np.ndarray:
        """16-bit sample points `start:stop` of an SF2 pool, zero-padded past its end."""
        pool = np.frombuffer(self.pool[: len(self.pool) // 2 * 2], dtype="<i2")
        chunk = pool[start:stop]
        return np.concatenate([chunk, np.zeros(stop - start - chunk.size, dtype="<i2")])


@dataclass(frozen=True)
class PackReport:
    """What was written: preset, instrument and sample counts, presets the source lacked, bytes."""

    presets: int
    instruments: int
    samples: int
    missing: list[tuple[int, int]]
    bytes: int


def corpus_presets() -> list[tuple[int, int]]:
    """(bank, program) of every preset the corpus composer can choose, sorted."""
    from musicsim_gui.training.corpus.bass import BASS_PROGRAMS
    from musicsim_gui.training.corpus.drums import DRUM_KITS
    from musicsim_gui.training.corpus.keys import PIANO_PROGRAMS
    from musicsim_gui.training.corpus.other import ROLES

    melodic = set(BASS_PROGRAMS) | set(PIANO_PROGRAMS) | {p for programs in ROLES.values() for p in programs}
    return sorted({(0, program) for program in melodic} | {(DRUM_BANK, kit) for kit in DRUM_KITS})


def _chunks(data: bytes, start: int, end: int):
    """(id, payload start, payload size) of the RIFF chunks between two offsets."""
    while start + 8 <= end:
        chunk_id, size = struct.unpack_from("<4sI", data, start)
        yield chunk_id, start + 8, size
        start += 8 + size + (size & 1)


def _records(payload: bytes, layout: str, path: Path) -> list[list]:
    size = struct.calcsize(layout)
    if len(payload) % size:
        raise MusicSimError(f"{path}: a table of {len(payload)} bytes is not a whole number of {size}-byte records")
    return [list(struct.unpack_from(layout, payload, offset)) for offset in range(0, len(payload), size)]


def read_soundfont(path: Path, form: bytes = SOUNDFONT_FORM) -> SoundFont:
    """Parse an SF2 file (or, with `form=PACK_FORM`, a pack). Raises MusicSimError naming what is wrong."""
    data = Path(path).read_bytes()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != form:
        kind = "SoundFont" if form == SOUNDFONT_FORM else "packed SoundFont"
        raise MusicSimError(f"{path}: not a {kind} (no RIFF '{form.decode()}' header)")
    lists = {data[start:start + 4]: (start + 4, start + size)
             for chunk_id, start, size in _chunks(data, 12, len(data)) if chunk_id == b"LIST"}
    if not {b"INFO", b"sdta", b"pdta"} <= set(lists):
        raise MusicSimError(f"{path}: lacks one of the INFO, sdta and pdta lists")
    info = [(chunk_id, data[start:start + size]) for chunk_id, start, size in _chunks(data, *lists[b"INFO"])]
    pool = next((data[start:start + size] for chunk_id, start, size in _chunks(data, *lists[b"sdta"])
                 if chunk_id == b"smpl"), b"")
    tables = {chunk_id: _records(data[start:start + size], TABLES[chunk_id], path)
              for chunk_id, start, size in _chunks(data, *lists[b"pdta"]) if chunk_id in TABLES}
    if set(tables) != set(TABLES):
        raise MusicSimError(f"{path}: lacks the tables {sorted(t.decode() for t in set(TABLES) - set(tables))}")
    if any(len(tables[name]) < 1 for name in TABLES):
        raise MusicSimError(f"{path}: a table lacks its terminal record")
    return SoundFont(form, info, pool, tables)


def _zones(headers: list[list], bag_field: int, bags: list[list], gens: list[list], mods: list[list],
           keep: list[int], reference: int, renumber: dict[int, int]) -> tuple[list, list, list, list]:
    """Copy the kept headers with their zones, generators and modulators; renumber generator `reference`."""
    new_headers, new_bags, new_gens, new_mods = [], [], [], []
    for index in keep:
        new_headers.append(headers[index][:bag_field] + [len(new_bags)] + headers[index][bag_field + 1:])
        for bag in range(headers[index][bag_field], headers[index + 1][bag_field]):
            new_bags.append([len(new_gens), len(new_mods)])
            for operator, amount in gens[bags[bag][0]:bags[bag + 1][0]]:
                new_gens.append([operator, renumber[amount] if operator == reference else amount])
            new_mods.extend(mods[bags[bag][1]:bags[bag + 1][1]])
    new_headers.append(headers[-1][:bag_field] + [len(new_bags)] + headers[-1][bag_field + 1:])
    new_bags.append([len(new_gens), len(new_mods)])
    new_gens.append([0, 0])
    new_mods.append([0, 0, 0, 0, 0])
    return new_headers, new_bags, new_gens, new_mods


def _referenced(headers: list[list], bag_field: int, bags: list[list], gens: list[list], keep: list[int],
                reference: int) -> set[int]:
    """Indices named by generator `reference` in the zones of the kept headers."""
    return {amount for index in keep for bag in range(headers[index][bag_field], headers[index + 1][bag_field])
            for operator, amount in gens[bags[bag][0]:bags[bag + 1][0]] if operator == reference}


def _with_partners(shdr: list[list], chosen: set[int]) -> list[int]:
    """The chosen samples and, for stereo ones, their partners (recursively), in file order."""
    todo, kept = list(chosen), set()
    while todo:
        index = todo.pop()
        if index in kept or index >= len(shdr) - 1:
            continue
        kept.add(index)
        if shdr[index][9] & LINKED_TYPES:
            todo.append(shdr[index][8])
    return sorted(kept)


def _subset(font: SoundFont, presets: list[tuple[int, int]]) -> tuple[dict[bytes, list], list[tuple[int, int]]]:
    """The subset's tables (sample headers still pointing into the source pool) and the presets it lacked."""
    t = font.tables
    wanted = set(presets)
    keep_presets = [i for i, key in enumerate(font.presets()) if key in wanted]
    missing = sorted(wanted - {font.presets()[i] for i in keep_presets})
    keep_instruments = sorted(_referenced(t[b"phdr"], 3, t[b"pbag"], t[b"pgen"], keep_presets, INSTRUMENT_GENERATOR))
    named = _referenced(t[b"inst"], 1, t[b"ibag"], t[b"igen"], keep_instruments, SAMPLE_GENERATOR)
    keep_samples = _with_partners(t[b"shdr"], named)
    sample_numbers = {old: new for new, old in enumerate(keep_samples)}
    out = dict(zip((b"phdr", b"pbag", b"pgen", b"pmod"),
                   _zones(t[b"phdr"], 3, t[b"pbag"], t[b"pgen"], t[b"pmod"], keep_presets, INSTRUMENT_GENERATOR,
                          {old: new for new, old in enumerate(keep_instruments)}), strict=True))
    out.update(zip((b"inst", b"ibag", b"igen", b"imod"),
                   _zones(t[b"inst"], 1, t[b"ibag"], t[b"igen"], t[b"imod"], keep_instruments, SAMPLE_GENERATOR,
                          sample_numbers), strict=True))
    headers = [list(t[b"shdr"][index]) for index in keep_samples]
    for header in headers:
        if header[9] & LINKED_TYPES:  # a partner the source does not hold becomes a link to the first sample
            header[8] = sample_numbers.get(header[8], 0)
    out[b"shdr"] = headers + [list(t[b"shdr"][-1])]
    return out, missing


def _placed(header: list, offset: int, length: int, loop_origin: int) -> None:
    """Point `header` at a sample of `length` points at `offset`, loops kept relative to `loop_origin`."""
    header[3], header[4] = header[3] - loop_origin + offset, header[4] - loop_origin + offset
    header[1], header[2] = offset, offset + length


def _pcm_pool(font: SoundFont, headers: list[list]) -> bytes:
    """SF2 pool: each sample with its 46 tail points; headers rewritten in place."""
    parts, offset = [], 0
    for header in headers[:-1]:
        length = header[2] - header[1]
        parts.append(font.points(header[1], header[2] + TAIL_POINTS).tobytes())
        _placed(header, offset, length, header[1])
        offset += length + TAIL_POINTS
    return b"".join(parts)


def _flac_pool(font: SoundFont, headers: list[list]) -> bytes:
    """Pack pool: each sample and its tail points as one FLAC stream; headers hold byte ranges, relative loops."""
    import soundfile

    parts, offset = [], 0
    for header in headers[:-1]:
        buffer = io.BytesIO()
        soundfile.write(buffer, font.points(header[1], header[2] + TAIL_POINTS), int(header[5]), format="FLAC",
                        subtype="PCM_16", compression_level=1.0)
        stream = buffer.getvalue()
        header[3], header[4] = header[3] - header[1], header[4] - header[1]
        header[1], header[2] = offset, offset + len(stream)
        parts.append(stream)
        offset += len(stream)
    return b"".join(parts)


def _chunk(chunk_id: bytes, payload: bytes) -> bytes:
    return struct.pack("<4sI", chunk_id, len(payload)) + payload + (b"\0" if len(payload) & 1 else b"")


def _write(path: Path, form: bytes, font: SoundFont, pool: bytes, tables: dict[bytes, list]) -> int:
    """Write a RIFF file of `form` atomically; returns its size in bytes."""
    info = b"INFO" + b"".join(_chunk(chunk_id, payload) for chunk_id, payload in font.info)
    pdta = b"pdta" + b"".join(_chunk(name, b"".join(struct.pack(layout, *record) for record in tables[name]))
                              for name, layout in TABLES.items())
    data = _chunk(b"RIFF", form + _chunk(b"LIST", info) + _chunk(b"LIST", b"sdta" + _chunk(b"smpl", pool))
                  + _chunk(b"LIST", pdta))
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return len(data)


def _report(tables: dict[bytes, list], missing: list[tuple[int, int]], size: int) -> PackReport:
    return PackReport(len(tables[b"phdr"]) - 1, len(tables[b"inst"]) - 1, len(tables[b"shdr"]) - 1, missing, size)


def pack_soundfont(source: Path, out: Path, presets: list[tuple[int, int]] | None = None,
                   codec: str = "flac") -> PackReport:
    """Write the presets `presets` (default `corpus_presets()`) of SF2 `source` to `out`, atomically.

    `codec`: "flac" writes a pack (for `unpack_soundfont`), "pcm" a plain SF2 subset.
    """
    if codec not in CODECS:
        raise MusicSimError(f"unknown sample codec {codec!r}; choose one of {', '.join(CODECS)}")
    font = read_soundfont(source)
    tables, missing = _subset(font, corpus_presets() if presets is None else presets)
    if len(tables[b"phdr"]) == 1:
        raise MusicSimError(f"{source}: holds none of the {len(missing)} presets asked for")
    if codec == "flac":
        size = _write(Path(out), PACK_FORM, font, _flac_pool(font, tables[b"shdr"]), tables)
    else:
        size = _write(Path(out), SOUNDFONT_FORM, font, _pcm_pool(font, tables[b"shdr"]), tables)
    return _report(tables, missing, size)


def unpack_soundfont(pack: Path, out: Path) -> PackReport:
    """Turn a pack written by `pack_soundfont` back into a plain SF2 at `out`, atomically."""
    import soundfile

    font = read_soundfont(pack, PACK_FORM)
    parts, offset = [], 0
    for header in font.tables[b"shdr"][:-1]:
        try:
            points, _ = soundfile.read(io.BytesIO(font.pool[header[1]:header[2]]), dtype="int16")
        except (RuntimeError, soundfile.LibsndfileError) as error:
            raise MusicSimError(f"{pack}: sample {header[0].rstrip(bytes(1)).decode(errors='replace')!r} "
                                f"cannot be decoded ({error})") from error
        parts.append(points.astype("<i2").tobytes())
        _placed(header, offset, points.size - TAIL_POINTS, 0)
        offset += points.size
    size = _write(Path(out), SOUNDFONT_FORM, font, b"".join(parts), font.tables)
    return _report(font.tables, [], size)
