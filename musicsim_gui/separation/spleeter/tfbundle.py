"""Reads TensorFlow checkpoints (the "tensor bundle": `PREFIX.index` + `PREFIX.data-NNNNN-of-MMMMM`) without TensorFlow.

Architecture:
1. `PREFIX.index` is a LevelDB-style sorted table: a 48-byte footer points at the index block, whose
   entries point at data blocks; each block holds prefix-compressed key/value entries followed by a
   restart array, and is followed by a 1-byte compression type and a masked CRC-32C (checked).
2. The value under the empty key is a `BundleHeaderProto` (shard count, byte order); every other key is a
   tensor name whose value is a `BundleEntryProto` (dtype, shape, shard, offset, size, CRC-32C). Both
   protobuf messages are decoded by hand from the wire format (`proto_fields`).
3. `read_tensor` slices the bytes out of the data shard, checks the CRC and returns a NumPy array.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicsim_gui.core.errors import ModelError
from musicsim_gui.separation.spleeter.crc32c import crc32c, unmask

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?", 17: "<u2",
          19: "<f2", 22: "<u4", 23: "<u8"}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode a base-128 varint at `pos`; returns (value, next position)."""
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7


def signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def proto_fields(message: bytes) -> dict[int, list[int | bytes]]:
    """Protobuf wire format → {field number: [values]} (varints as int, everything else as bytes)."""
    out: dict[int, list[int | bytes]] = {}
    pos = 0
    while pos < len(message):
        key, pos = _varint(message, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(message, pos)
        elif wire == 1:
            value, pos = message[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(message, pos)
            value, pos = message[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = message[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives: dtype code, shape, shard index, byte offset and size, masked CRC."""

    name: str
    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc: int | None
    sliced: bool


def _shape(message: bytes) -> tuple[int, ...]:
    dims = proto_fields(message).get(2, [])
    return tuple(signed64(int(proto_fields(dim).get(1, [0])[0])) for dim in dims)  # type: ignore[arg-type]


def _entry(name: str, value: bytes) -> TensorEntry:
    f = proto_fields(value)
    crc = struct.unpack("<I", f[6][0])[0] if 6 in f else None
    return TensorEntry(name, int(f.get(1, [0])[0]), _shape(f[2][0]) if 2 in f else (),  # type: ignore[arg-type]
                       int(f.get(3, [0])[0]), int(f.get(4, [0])[0]), int(f.get(5, [0])[0]), crc, 7 in f)


def _block(data: bytes, offset: int, size: int) -> bytes:
    """The contents of the block at (offset, size), after checking its type byte and CRC."""
    if offset + size + 5 > len(data):
        raise ValueError("block handle points past the end of the file")
    contents = data[offset:offset + size + 1]
    if contents[-1] != 0:
        raise ValueError(f"compressed table blocks (type {contents[-1]}) are not supported")
    stored = struct.unpack("<I", data[offset + size + 1:offset + size + 5])[0]
    if crc32c(contents) != unmask(stored):
        raise ValueError("table block checksum mismatch")
    return contents[:-1]


def _block_entries(block: bytes) -> list[tuple[bytes, bytes]]:
    """The (key, value) pairs of one block, keys un-prefixed."""
    restarts = struct.unpack("<I", block[-4:])[0]
    end = len(block) - 4 - 4 * restarts
    entries, pos, key = [], 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        own, pos = _varint(block, pos)
        size, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + own]
        pos += own
        entries.append((key, block[pos:pos + size]))
        pos += size
    return entries


def read_table(path: Path) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of a LevelDB-format table file, in key order."""
    data = path.read_bytes()
    if len(data) < FOOTER_SIZE or struct.unpack("<Q", data[-8:])[0] != TABLE_MAGIC:
        raise ValueError("not a table file (bad magic number)")
    footer = data[-FOOTER_SIZE:]
    _, pos = _varint(footer, 0)
    _, pos = _varint(footer, pos)
    index_offset, pos = _varint(footer, pos)
    index_size, _ = _varint(footer, pos)
    entries = []
    for _, handle in _block_entries(_block(data, index_offset, index_size)):
        offset, pos = _varint(handle, 0)
        size, _ = _varint(handle, pos)
        entries.extend(_block_entries(_block(data, offset, size)))
    return entries


class CheckpointReader:
    """The tensors of the checkpoint at `prefix` (e.g. `…/model` for `model.index` + `model.data-*`)."""

    def __init__(self, prefix: str | Path) -> None:
        self.prefix = Path(prefix)
        index = self.prefix.with_name(self.prefix.name + ".index")
        try:
            pairs = read_table(index)
        except OSError as error:
            raise ModelError(f"{index}: cannot read the checkpoint index ({error.strerror})") from error
        except (ValueError, IndexError, struct.error) as error:
            raise ModelError(f"{index}: not a TensorFlow checkpoint index ({error})") from error
        header = proto_fields(pairs[0][1]) if pairs and pairs[0][0] == b"" else {}
        if int(header.get(2, [0])[0]) != 0:  # type: ignore[arg-type]
            raise ModelError(f"{index}: big-endian checkpoints are not supported")
        self.shards = int(header.get(1, [1])[0])  # type: ignore[arg-type]
        self.entries = {k.decode(): _entry(k.decode(), v) for k, v in pairs if k}

    def shard_path(self, shard: int) -> Path:
        return self.prefix.with_name(f"{self.prefix.name}.data-{shard:05d}-of-{self.shards:05d}")

    def names(self) -> list[str]:
        return sorted(self.entries)

    def read_tensor(self, name: str, verify: bool = True) -> np.ndarray:
        """The tensor called `name` as a NumPy array (CRC-checked unless `verify=False`)."""
        entry = self.entries[name]
        if entry.dtype not in DTYPES or entry.sliced:
            raise ModelError(f"{self.prefix}: tensor {name!r} has an unsupported type (dtype {entry.dtype})")
        path = self.shard_path(entry.shard)
        try:
            with open(path, "rb") as handle:
                handle.seek(entry.offset)
                raw = handle.read(entry.size)
        except OSError as error:
            raise ModelError(f"{path}: cannot read checkpoint data ({error.strerror})") from error
        if len(raw) != entry.size:
            raise ModelError(f"{path}: truncated checkpoint data for {name!r}")
        if verify and entry.crc is not None and crc32c(raw) != unmask(entry.crc):
            raise ModelError(f"{path}: checksum mismatch for tensor {name!r}; the file is corrupt")
        array = np.frombuffer(raw, dtype=DTYPES[entry.dtype])
        if array.size != int(np.prod(entry.shape, dtype=np.int64)):
            raise ModelError(f"{path}: tensor {name!r} holds {array.size} values, shape says {entry.shape}")
        return array.reshape(entry.shape).copy()
