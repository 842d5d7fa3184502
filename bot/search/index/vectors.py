"""Sentence vectors on disk: int8 rows in the index's order, memory-mapped, each under its text's key.

One file per model (named by the model file's checksum): a header line, then each row's text key
(uint64), then the rows themselves, unit vectors times SCALE rounded to int8. The keys let a rebuild
reuse the vector of every sentence whose text is unchanged, whatever its new position; the rows are
mapped, not read, so a restart costs the same at 1,000 sentences as at 1,000,000, and several shard
processes share one copy in the page cache.

Loading reads the header and the keys (8 bytes a sentence, checked against the header's SHA-256) and
checks the file's size, so a truncated, foreign or half-written file is refused and built again. The
rows themselves are not checksummed: that would read the whole file at every start. A damaged byte
among them moves one sentence's cosine, never what is read or run.

Questions read their few hundred rows through `RowFile` (pread), not through the mapping: each fault
on a mapped file also maps up to 15 neighbouring pages already in the page cache (the kernel's
fault-around, which MADV_RANDOM does not stop), so re-scoring 300 scattered rows a question made all
345 MB of 881,048 rows resident in the process after 40 questions (bench/vector_search.py,
`binary-hnsw16-300` against `-pread`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from bot.search.index.store import StoreError, write_atomically

FORMAT = "corpus-answer-bot/vectors"
VERSION = 1
VECTORS_FILE = "vectors-{model}.int8"  # the model file's sha256, first 16 hex digits
# A unit vector's components times 127, rounded: the cosine moves by about 0.002 (the rounding of 384
# components). Exact search over these rows finds 97.9% of float32's best 30 on bench/vector_search.py's
# clustered vectors at 100,000 rows, whose best 30 are near-ties; a scale per row would find 99.5%, at
# 4 bytes a row and a multiplication per score, where bench/quality.py's sets already answer as with
# float16 vectors within a question or two (README, "Vector search").
SCALE = 127
HEADER_BYTES = 4096  # the header line, padded: the keys and rows start on a page boundary
_KEY = np.dtype("<u8")


class RowFile:
    """The int8 rows of a saved vectors file, read by pread from a descriptor of the very file mapped.

    Only the bytes asked for are copied; their pages stay in the page cache (shared by shard processes,
    dropped under memory pressure) and are never mapped into this process, so they are not its RSS.
    """

    def __init__(self, fd: int, offset: int, rows: int, dimensions: int) -> None:
        self._fd = fd  # owned: closed with this object
        self._offset = offset
        self._rows = rows
        self._width = dimensions
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)  # no read-ahead around a row read from disk

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            os.close(self._fd)
            self._fd = -1

    def read(self, docs: np.ndarray) -> np.ndarray:
        """Rows `docs` (any order), one pread each: about 1 µs a row."""
        out = np.empty((len(docs), self._width), dtype=np.int8)
        view = memoryview(out.reshape(-1)).cast("B")
        width = self._width
        for i, doc in enumerate(np.asarray(docs).tolist()):
            if not 0 <= doc < self._rows:
                raise IndexError(f"row {doc} of {self._rows}")
            if os.preadv(self._fd, [view[i * width : (i + 1) * width]], self._offset + doc * width) != width:
                raise StoreError("the vectors file was cut short while in use")
        return out

    def read_range(self, start: int, stop: int) -> np.ndarray:
        """Rows `start` to `stop`, read in one call (building a graph reads them all, a slice at a time)."""
        stop = min(stop, self._rows)
        data = os.pread(self._fd, (stop - start) * self._width, self._offset + start * self._width)
        if len(data) != (stop - start) * self._width:
            raise StoreError("the vectors file was cut short while in use")
        return np.frombuffer(data, dtype=np.int8).reshape(stop - start, self._width)


@dataclass(frozen=True)
class SavedVectors:
    """One model's vectors as saved: `keys[i]` is the text key of `rows[i]` (int8, memory-mapped).

    `file` reads the same rows without mapping them (None where the platform has no pread, or the rows
    are in memory).
    """

    keys: np.ndarray
    rows: np.ndarray
    keys_sha256: str = ""
    index: str = ""  # the fingerprint of the saved index whose sentences the rows follow, in its order
    file: RowFile | None = None

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """For each key, the row that holds its vector, or -1 when none does."""
        if not len(self.keys):
            return np.full(len(keys), -1, dtype=np.int64)
        order = np.argsort(self.keys, kind="stable")
        at = np.minimum(np.searchsorted(self.keys, keys, sorter=order), len(order) - 1)
        return np.where(self.keys[order[at]] == keys, order[at], -1)


def text_key(text: str) -> int:
    """The key a sentence's vector is saved under: 64 bits of a hash of the text the model read."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def vectors_path(folder: Path, model_sha256: str) -> Path:
    return folder / VECTORS_FILE.format(model=model_sha256[:16])


def quantize(vectors: np.ndarray) -> np.ndarray:
    """Unit float vectors as the int8 rows searched and saved."""
    return np.clip(np.rint(np.asarray(vectors, dtype=np.float32) * SCALE), -127, 127).astype(np.int8)


def save_vectors(path: Path, model_sha256: str, keys: np.ndarray, rows: np.ndarray, index: str = "") -> None:
    """Write one model's int8 rows under their text keys, atomically (a reader sees the old file or the new one).

    `index` names the saved index the rows follow (its fingerprint), so a restart of that same index
    knows they fit without computing every sentence's key.
    """
    keys = np.ascontiguousarray(keys, dtype=_KEY)
    if rows.dtype != np.int8 or rows.ndim != 2 or len(rows) != len(keys):
        raise ValueError("vectors to save must be one int8 row per key")
    header = _header(model_sha256, len(keys), rows.shape[1], hashlib.sha256(keys).hexdigest(), index)

    def write(file: BinaryIO) -> None:
        file.write(header)
        file.write(keys.tobytes())
        for start in range(0, len(rows), 65_536):  # a memory-mapped source is copied a slice at a time
            file.write(np.ascontiguousarray(rows[start : start + 65_536]).tobytes())

    write_atomically(path, write)


def load_vectors(path: Path, model_sha256: str, dimensions: int) -> SavedVectors | None:
    """The vectors saved at `path`, their rows memory-mapped; None if there is no file.

    Raises StoreError, saying why, if the file is not this model's, has the wrong width, is cut short or
    longer than its header says, or its keys do not match the header's checksum.
    """
    try:
        with path.open("rb") as file:  # the rows are mapped, and read, from this very file (not its path again)
            header_bytes = file.read(HEADER_BYTES)
            size = os.fstat(file.fileno()).st_size
            header = _parse(path, header_bytes)
            rows = header["rows"]
            if header["model"] != model_sha256:
                raise StoreError(f"{path} holds another model's vectors")
            if header["dtype"] != "int8" or header["scale"] != SCALE or header["dimensions"] != dimensions:
                raise StoreError(
                    f"{path} holds {header['dtype']} rows of {header['dimensions']} (scale {header['scale']}); "
                    f"this model makes int8 rows of {dimensions} (scale {SCALE})"
                )
            expected = HEADER_BYTES + rows * (_KEY.itemsize + dimensions)
            if size != expected:
                raise StoreError(f"{path} is {size:,} bytes; {rows:,} vectors of {dimensions} take {expected:,}")
            keys = np.frombuffer(file.read(rows * _KEY.itemsize), dtype=_KEY)
            if hashlib.sha256(keys).hexdigest() != header["keys_sha256"]:
                raise StoreError(f"{path} is damaged: its keys do not match the checksum saved with them")
            start = HEADER_BYTES + rows * _KEY.itemsize
            if not rows:
                return SavedVectors(keys, np.empty((0, dimensions), dtype=np.int8), header["keys_sha256"], header["index"])
            matrix = np.memmap(file, dtype=np.int8, mode="r", offset=start, shape=(rows, dimensions))
            reader = RowFile(os.dup(file.fileno()), start, rows, dimensions) if hasattr(os, "preadv") else None
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StoreError(f"{path} is unreadable: {error}") from error
    return SavedVectors(keys, matrix, header["keys_sha256"], header["index"], reader)


def _header(model_sha256: str, rows: int, dimensions: int, keys_sha256: str, index: str) -> bytes:
    record = {
        "format": FORMAT,
        "version": VERSION,
        "model": model_sha256,
        "rows": rows,
        "dimensions": dimensions,
        "dtype": "int8",
        "scale": SCALE,
        "keys_sha256": keys_sha256,
        "index": index,
    }
    line = json.dumps(record, sort_keys=True).encode() + b"\n"
    return line.ljust(HEADER_BYTES, b" ")


def _parse(path: Path, data: bytes) -> dict:
    line = data.split(b"\n", 1)[0]
    try:
        header = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        header = None
    if len(data) < HEADER_BYTES or not isinstance(header, dict) or header.get("format") != FORMAT:
        raise StoreError(f"{path} was not written by this bot's vector store")
    if header.get("version") != VERSION:
        raise StoreError(f"{path} has vector format version {header.get('version')!r}; this bot reads {VERSION}")
    fields = {"model": str, "rows": int, "dimensions": int, "dtype": str, "scale": int, "keys_sha256": str, "index": str}
    if any(not isinstance(header.get(name), kind) for name, kind in fields.items()) or header["rows"] < 0:
        raise StoreError(f"{path} has a malformed header")
    return header
