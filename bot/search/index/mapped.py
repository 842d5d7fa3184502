"""Arrays in one file that is memory-mapped at load, so a restart reads almost nothing and processes share it.

The .npz the engine was saved in before was read whole and checksummed whole at every start: 1.35 s for a
million sentences, and a private copy in every shard process. Here the arrays lie uncompressed at
aligned offsets behind a JSON header, and loading maps the file read-only: the page cache holds one
copy for every process that maps it, and a page is read only when a question touches it.

Damage must still be refused, without reading every byte to find it:
- at load, a fixed prefix (magic, header length, the header's SHA-256), then the header's format,
  version, the file's exact size and each array's dtype, shape, offset and extent;
- a CRC-32 per 4 KiB block of every array, in a table after the arrays (itself checked at load): the
  arrays a load reads whole anyway (offsets, lengths, vocabularies) are verified then (`verify`); the
  big ones (postings, sentence text) a block at a time, the first time a question touches it (`check`).
A damaged block found then raises StoreError and removes the file (if it is still the one mapped),
so the next start rebuilds it. Saves are atomic (`store.write_atomically`): a process that mapped
the old file keeps reading it, whole, after a new one replaces it. (A mapped file cut short in place
would fault the process that reads past its end; nothing here writes a saved file in place.)
"""

from __future__ import annotations

import hashlib
import json
import math
import mmap
import os
import re
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from bot.search.index.store import StoreError, write_atomically

FORMAT = "corpus-answer-bot/mapped-arrays"
VERSION = 1
MAGIC = b"\x93CABMAP\n"
_LENGTH = 8  # the header's length in bytes, little-endian, after the magic
_DIGEST = 32  # the header's SHA-256, after its length
_PREFIX = len(MAGIC) + _LENGTH + _DIGEST
ALIGN = 64  # every array starts at a multiple of this (a cache line; any dtype's alignment)
# Bytes per CRC: a page. Questions read scattered sentences and short posting lists, so a block is what one
# read touches; with 64 KiB blocks a 1M-sentence index's first 400 questions hashed 97 MB and took 0.5 ms
# more at the median than the .npz (bench/run.py's questions). 34,484 CRCs (135 KB) for that 136 MB file.
BLOCK = 1 << 12
_CRC = np.dtype("<u4")
_DTYPE = re.compile(r"[<>|][iufbU][0-9]{1,2}")  # plain numbers and fixed-width text: never objects


class _Blocks:
    """One array's bytes, their CRCs, and which blocks are still to be checked (1) in a bytearray: find() is fast."""

    __slots__ = ("data", "crcs", "pending", "itemsize")

    def __init__(self, array: np.ndarray, crcs: np.ndarray) -> None:
        self.data = memoryview(array.reshape(-1).view(np.uint8))
        self.crcs = crcs
        self.pending = bytearray(b"\1" * len(crcs))
        self.itemsize = array.itemsize


class Mapped(Mapping[str, np.ndarray]):
    """Read-only arrays over one mapped file, with the meta saved beside them, checked block by block."""

    def __init__(self, path: Path, buffer: mmap.mmap, header: dict[str, Any], data_start: int, identity: tuple[int, int]):
        """Use `load_mapped`, which has checked `header` and the CRC table against the file."""
        self.path = path
        self.meta: dict[str, Any] = header["meta"]
        self._identity = identity  # (st_dev, st_ino) of the file mapped: only that file is removed when damaged
        table = header["crc32"]
        crcs = np.ndarray((table["blocks"],), _CRC, buffer, data_start + table["offset"])
        self._arrays: dict[str, np.ndarray] = {}
        self._blocks: dict[str, _Blocks] = {}
        for name, entry in header["arrays"].items():
            array = np.ndarray(tuple(entry["shape"]), np.dtype(entry["dtype"]), buffer, data_start + entry["offset"])
            self._arrays[name] = array  # read-only: the map is ACCESS_READ, so numpy refuses writes
            first = entry["first_block"]
            self._blocks[name] = _Blocks(array, crcs[first : first + _block_count(_nbytes(entry))])

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def verify(self, *names: str) -> None:
        """Check these arrays whole (for those a load reads whole anyway); StoreError if one is damaged."""
        for name in names:
            self._check_blocks(name, 0, len(self._blocks[name].pending))

    def check(self, name: str, start: int, stop: int) -> None:
        """Check the blocks holding elements [start, stop) of a 1-D array, each once; StoreError if damaged."""
        itemsize = self._blocks[name].itemsize
        self._check_blocks(name, start * itemsize // BLOCK, -(-stop * itemsize // BLOCK))

    def damaged(self, reason: str) -> StoreError:
        """The error for damage found after loading; removes the file (if still ours) so the next start rebuilds it."""
        try:
            stat = os.stat(self.path)
            if (stat.st_dev, stat.st_ino) == self._identity:
                os.unlink(self.path)
        except OSError:
            pass  # gone already, or replaced by another process's good copy, or not ours to remove
        return StoreError(f"{self.path} is damaged: {reason}; removed it, so the next start or !reload rebuilds it")

    def _check_blocks(self, name: str, first: int, last: int) -> None:
        blocks = self._blocks[name]
        block = blocks.pending.find(1, first, last)
        while block >= 0:
            if zlib.crc32(blocks.data[block * BLOCK : (block + 1) * BLOCK]) != blocks.crcs[block]:
                raise self.damaged(f"block {block} of {name} does not match its CRC")
            blocks.pending[block] = 0
            block = blocks.pending.find(1, block + 1, last)


def save_mapped(path: Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write `arrays` (plain numbers or fixed-width text) and JSON `meta` to `path`, atomically.

    The arrays follow the header, each aligned, then the table of every block's CRC-32, array after array.
    """
    contiguous = {}
    layout: dict[str, dict[str, Any]] = {}
    crcs: list[int] = []
    offset = 0
    for name, array in arrays.items():
        array = np.require(array, requirements="C")  # not ascontiguousarray: it makes a 0-d array 1-d
        if not _DTYPE.fullmatch(array.dtype.str):
            raise ValueError(f"array {name!r} is {array.dtype}; only numbers and fixed-width text can be mapped")
        data = memoryview(array.reshape(-1).view(np.uint8))
        layout[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "offset": offset, "first_block": len(crcs)}
        crcs += [zlib.crc32(data[start : start + BLOCK]) for start in range(0, len(data), BLOCK)]
        contiguous[name] = data
        offset = _aligned(offset + len(data))
    table = np.array(crcs, dtype=_CRC).tobytes()
    crc_table = {"offset": offset, "blocks": len(crcs), "crc32": zlib.crc32(table)}
    header = {"format": FORMAT, "version": VERSION, "size": offset + len(table), "arrays": layout, "crc32": crc_table}
    encoded = json.dumps({**header, "meta": dict(meta)}).encode()

    def write(file: BinaryIO) -> None:
        file.write(MAGIC + len(encoded).to_bytes(_LENGTH, "little") + hashlib.sha256(encoded).digest() + encoded)
        file.write(bytes(_aligned(_PREFIX + len(encoded)) - _PREFIX - len(encoded)))
        for data in contiguous.values():
            file.write(data)
            file.write(bytes(_aligned(len(data)) - len(data)))
        file.write(table)

    write_atomically(path, write)


def load_mapped(path: Path, expected_meta: Mapping[str, Any]) -> Mapped | None:
    """The arrays saved at `path`, mapped; None if there is no file there.

    Raises StoreError, with the reason, if the file was not written by `save_mapped` at this VERSION,
    its header or layout is damaged, or its meta differs from `expected_meta`. Reads the header only.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StoreError(f"{path} is unreadable: {error.strerror or error}") from error
    try:
        stat = os.fstat(fd)
        if stat.st_size < _PREFIX:
            raise StoreError(f"{path} was not written by this bot's mapped store (too short)")
        buffer = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    except OSError as error:
        raise StoreError(f"{path} is unreadable: {error.strerror or error}") from error
    finally:
        os.close(fd)
    if buffer[: len(MAGIC)] != MAGIC:
        raise StoreError(f"{path} was not written by this bot's mapped store")
    length = int.from_bytes(buffer[len(MAGIC) : len(MAGIC) + _LENGTH], "little")
    if _PREFIX + length > len(buffer):
        raise StoreError(f"{path} is damaged: truncated inside its header")
    header_bytes = buffer[_PREFIX : _PREFIX + length]
    if hashlib.sha256(header_bytes).digest() != buffer[len(MAGIC) + _LENGTH : _PREFIX]:
        raise StoreError(f"{path} is damaged: its header does not match the checksum saved with it")
    header = _parse_header(path, header_bytes)
    data_start = _aligned(_PREFIX + length)
    if data_start + header["size"] != len(buffer):
        raise StoreError(f"{path} is damaged: {len(buffer)} bytes where its header says {data_start + header['size']}")
    for key, value in expected_meta.items():
        if header["meta"].get(key) != value:
            raise StoreError(f"{path} was saved with {key}={header['meta'].get(key)!r}, expected {value!r}")
    table = header["crc32"]
    start = data_start + table["offset"]
    if zlib.crc32(buffer[start : start + table["blocks"] * _CRC.itemsize]) != table["crc32"]:
        raise StoreError(f"{path} is damaged: its table of block checksums does not match its own checksum")
    return Mapped(path, buffer, header, data_start, (stat.st_dev, stat.st_ino))


def _parse_header(path: Path, raw: bytes) -> dict[str, Any]:
    """The header, once its format, version and every array's layout are known to fit the file's size."""
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StoreError(f"{path} has a malformed header: {error}") from error
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise StoreError(f"{path} was not written by this bot's mapped store")
    if header.get("version") != VERSION:
        raise StoreError(f"{path} has mapped store version {header.get('version')!r}; this bot reads {VERSION}")
    size, arrays, table = header.get("size"), header.get("arrays"), header.get("crc32")
    if not isinstance(size, int) or not isinstance(arrays, dict) or not isinstance(header.get("meta"), dict):
        raise StoreError(f"{path} has a malformed header")
    end, blocks = 0, 0
    for name, entry in sorted(arrays.items(), key=lambda item: _offset(item[1])):
        if not _layout_fits(entry, end, blocks):
            raise StoreError(f"{path} has a malformed header: array {name!r} has a bad dtype, shape, offset or first block")
        end, blocks = _aligned(entry["offset"] + _nbytes(entry)), blocks + _block_count(_nbytes(entry))
    fields = ("offset", "blocks", "crc32")
    if not isinstance(table, dict) or not all(isinstance(table.get(field), int) for field in fields):
        raise StoreError(f"{path} has a malformed header: no table of block checksums")
    if table["offset"] != end or table["blocks"] != blocks or end + blocks * _CRC.itemsize != size:
        raise StoreError(f"{path} has a malformed header: its arrays and checksums do not fill {size} bytes")
    return header


def _layout_fits(entry: Any, end: int, blocks: int) -> bool:
    """An entry names a plain dtype and a shape, starts where the previous array ended, and so do its CRCs."""
    if not isinstance(entry, dict) or not isinstance(entry.get("dtype"), str) or not _DTYPE.fullmatch(entry["dtype"]):
        return False
    try:
        if np.dtype(entry["dtype"]).str != entry["dtype"]:
            return False
    except TypeError:
        return False
    shape = entry.get("shape")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        return False
    return entry.get("offset") == end and entry.get("first_block") == blocks


def _offset(entry: Any) -> int:
    offset = entry.get("offset") if isinstance(entry, dict) else None
    return offset if isinstance(offset, int) else -1


def _nbytes(entry: dict[str, Any]) -> int:
    return math.prod(entry["shape"]) * np.dtype(entry["dtype"]).itemsize


def _block_count(nbytes: int) -> int:
    return -(-nbytes // BLOCK)


def _aligned(offset: int) -> int:
    return -(-offset // ALIGN) * ALIGN
