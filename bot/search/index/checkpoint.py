"""Sentence vectors saved as they are made, so a stopped build continues where it stopped.

Embedding every sentence of a big corpus takes minutes to an hour; the complete vectors file
(cache.save_vectors) is written only at the end. Meanwhile each batch of new vectors is appended
to a checkpoint file beside it, `vectors-<model>.partial`, and fsynced: after Ctrl-C, a kill or a
power cut, the next build reads back every batch that was written whole and embeds only the rest.

The file is a header line naming the format, the model's checksum and the vectors' width, then
blocks: the number of rows (8 bytes), a SHA-256 of the block's bytes, then the rows' text keys
(uint64) and vectors (float16). A block cut short by the stop, or damaged, ends the reading: what
came before it is kept, and the next batch is written after the last good block.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from bot.search.cache import VECTOR_DTYPE, vectors_path
from bot.search.index.store import write_atomically

FORMAT = b"corpus-answer-bot/vector-checkpoint 1"
_COUNT = 8
_DIGEST = 32
_LITTLE_ENDIAN = np.dtype(VECTOR_DTYPE).newbyteorder("<")


def checkpoint_path(folder: Path, model_sha256: str) -> Path:
    return vectors_path(folder, model_sha256).with_suffix(".partial")


class Checkpoint:
    """The vectors one model has made so far for a corpus: read back on open, appended a batch at a time."""

    def __init__(self, path: Path, model_sha256: str, dimensions: int) -> None:
        """Open (creating it if need be) the checkpoint; `saved` holds every vector written whole before."""
        self.path = path
        header = _header(model_sha256, dimensions)
        self.saved, good_end = _read(path, header, dimensions)
        if good_end is None:  # no checkpoint, another model's or width's, or a damaged header: start it again
            write_atomically(path, header)  # as every saved file is: so an unwritable folder fails here, at once
        self._file = path.open("r+b")
        if good_end is not None:
            self._file.truncate(good_end)  # a block cut short by the last stop goes
        self._file.seek(0, os.SEEK_END)

    def append(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Write one batch and make it durable before returning."""
        body = keys.astype("<u8").tobytes() + vectors.astype(_LITTLE_ENDIAN).tobytes()
        self._file.write(len(keys).to_bytes(_COUNT, "little") + hashlib.sha256(body).digest() + body)
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def remove(self) -> None:
        """The complete vectors are saved: the checkpoint has served."""
        self.close()
        self.path.unlink(missing_ok=True)


def read_checkpoint(path: Path, model_sha256: str, dimensions: int) -> dict[int, np.ndarray]:
    """The vectors a checkpoint holds by text key, without opening it for writing (empty when there is none)."""
    return _read(path, _header(model_sha256, dimensions), dimensions)[0]


def _header(model_sha256: str, dimensions: int) -> bytes:
    return FORMAT + b" " + json.dumps({"model": model_sha256, "dimensions": dimensions}).encode() + b"\n"


def _read(path: Path, header: bytes, dimensions: int) -> tuple[dict[int, np.ndarray], int | None]:
    """The vectors of every whole block, by text key, and where the good part of the file ends (None: unusable)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}, None
    if not data.startswith(header):
        return {}, None
    saved: dict[int, np.ndarray] = {}
    at = len(header)
    row_bytes = 8 + dimensions * _LITTLE_ENDIAN.itemsize
    while at + _COUNT + _DIGEST <= len(data):
        count = int.from_bytes(data[at : at + _COUNT], "little")
        start = at + _COUNT + _DIGEST
        end = start + count * row_bytes
        if count == 0 or end > len(data) or hashlib.sha256(data[start:end]).digest() != data[at + _COUNT : start]:
            break
        keys = np.frombuffer(data, dtype="<u8", count=count, offset=start)
        vectors = np.frombuffer(data, dtype=_LITTLE_ENDIAN, count=count * dimensions, offset=start + 8 * count)
        rows = vectors.reshape(count, dimensions).astype(np.float32)
        saved.update(zip(keys.tolist(), rows))
        at = end
    return saved, at
