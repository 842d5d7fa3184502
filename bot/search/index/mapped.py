"""Arrays in one file that is memory-mapped at load, so a restart reads almost nothing and processes share it.

`bot.search.index.store`'s .npz is read whole and checksummed whole at every start: 1.35 s for a
million sentences, and a private copy in every shard process. Here the arrays lie uncompressed at
aligned offsets behind a JSON header, and loading maps the file read-only: the page cache holds one
copy for every process that maps it, and a page is read only when a question touches it.

Damage must still be refused, without reading every byte to find it:
- at load, a fixed prefix (magic, header length, the header's SHA-256), then the header's format,
  version, the file's exact size and each array's dtype, shape, offset and extent;
- a CRC-32 per 64 KiB block of every array, listed in the header: the arrays a load reads whole
  anyway (offsets, lengths, vocabularies) are verified then (`verify`); the big ones (postings,
  sentence text) a block at a time, the first time a question touches it (`check`).
A damaged block found then raises StoreError and removes the file (if it is still the one mapped),
so the next start rebuilds it. Saves are atomic (`store.write_atomically`): a process that mapped
the old file keeps reading it, whole, after a new one replaces it.
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
BLOCK = 1 << 16  # bytes per CRC: a first touch costs ~0.06 ms a block; 2,400 CRCs for a 1M-sentence index
_DTYPE = re.compile(r"[<>|][iufbU][0-9]{1,2}")  # plain numbers and fixed-width text: never objects


class Mapped(Mapping[str, np.ndarray]):
    """Read-only arrays over one mapped file, with the meta saved beside them, checked block by block."""

    def __init__(self, path: Path, buffer: mmap.mmap, header: dict[str, Any], data_start: int, identity: tuple[int, int]):
        """Use `load_mapped`, which has checked `header` against the file."""
        self.path = path
        self.meta: dict[str, Any] = header["meta"]
        self._identity = identity  # (st_dev, st_ino) of the file mapped: only that file is removed when damaged
        self._arrays: dict[str, np.ndarray] = {}
        self._crcs: dict[str, list[int]] = {}
        self._unchecked: dict[str, np.ndarray] = {}
        for name, entry in header["arrays"].items():
            dtype = np.dtype(entry["dtype"])
            array = np.ndarray(tuple(entry["shape"]), dtype, buffer, data_start + entry["offset"])
            self._arrays[name] = array  # read-only: the map is ACCESS_READ, so numpy refuses writes
            self._crcs[name] = entry["crc32"]
            self._unchecked[name] = np.ones(len(entry["crc32"]), dtype=bool)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def verify(self, *names: str) -> None:
        """Check these arrays whole (for those a load reads whole anyway); StoreError if one is damaged."""
        for name in names:
            self._check_blocks(name, 0, len(self._crcs[name]))

    def check(self, name: str, start: int, stop: int) -> None:
        """Check the blocks holding elements [start, stop) of a 1-D array, each once; StoreError if damaged."""
        itemsize = self._arrays[name].itemsize
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
        unchecked = self._unchecked[name]
        if not unchecked[first:last].any():
            return
        data = memoryview(self._arrays[name].reshape(-1).view(np.uint8))
        for block in np.flatnonzero(unchecked[first:last]).tolist():
            block += first
            if zlib.crc32(data[block * BLOCK : (block + 1) * BLOCK]) != self._crcs[name][block]:
                raise self.damaged(f"block {block} of {name} does not match its CRC")
            unchecked[block] = False


def save_mapped(path: Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write `arrays` (plain numbers or fixed-width text) and JSON `meta` to `path`, atomically."""
    contiguous = {}
    layout: dict[str, dict[str, Any]] = {}
    offset = 0
    for name, array in arrays.items():
        array = np.require(array, requirements="C")  # not ascontiguousarray: it makes a 0-d array 1-d
        if not _DTYPE.fullmatch(array.dtype.str):
            raise ValueError(f"array {name!r} is {array.dtype}; only numbers and fixed-width text can be mapped")
        data = memoryview(array.reshape(-1).view(np.uint8))
        crcs = [zlib.crc32(data[start : start + BLOCK]) for start in range(0, len(data), BLOCK)]
        layout[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "offset": offset, "crc32": crcs}
        contiguous[name] = data
        offset = _aligned(offset + len(data))
    header = json.dumps({"format": FORMAT, "version": VERSION, "size": offset, "arrays": layout, "meta": dict(meta)}).encode()

    def write(file: BinaryIO) -> None:
        file.write(MAGIC + len(header).to_bytes(_LENGTH, "little") + hashlib.sha256(header).digest() + header)
        file.write(bytes(_aligned(_PREFIX + len(header)) - _PREFIX - len(header)))
        for name, data in contiguous.items():
            file.write(data)
            file.write(bytes(_aligned(len(data)) - len(data)))

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
    size, arrays = header.get("size"), header.get("arrays")
    if not isinstance(size, int) or not isinstance(arrays, dict) or not isinstance(header.get("meta"), dict):
        raise StoreError(f"{path} has a malformed header")
    end = 0
    for name, entry in sorted(arrays.items(), key=lambda item: _offset(item[1])):
        if not _layout_fits(entry, end, size):
            raise StoreError(f"{path} has a malformed header: array {name!r} has a bad dtype, shape, offset or checksums")
        end = entry["offset"] + _nbytes(entry)
    return header


def _layout_fits(entry: Any, end: int, size: int) -> bool:
    """An entry names a plain dtype and a shape, and starts aligned after the previous array and ends in the file."""
    if not isinstance(entry, dict) or not isinstance(entry.get("dtype"), str) or not _DTYPE.fullmatch(entry["dtype"]):
        return False
    try:
        if np.dtype(entry["dtype"]).str != entry["dtype"]:
            return False
    except TypeError:
        return False
    shape, offset, crcs = entry.get("shape"), entry.get("offset"), entry.get("crc32")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape) or not isinstance(offset, int):
        return False
    nbytes = _nbytes(entry)
    if offset % ALIGN or offset < end or offset + nbytes > size or not isinstance(crcs, list):
        return False
    return len(crcs) == -(-nbytes // BLOCK) and all(isinstance(crc, int) for crc in crcs)


def _offset(entry: Any) -> int:
    offset = entry.get("offset") if isinstance(entry, dict) else None
    return offset if isinstance(offset, int) else -1


def _nbytes(entry: dict[str, Any]) -> int:
    return math.prod(entry["shape"]) * np.dtype(entry["dtype"]).itemsize


def _aligned(offset: int) -> int:
    return -(-offset // ALIGN) * ALIGN
