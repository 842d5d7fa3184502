"""Sentence vectors saved as they are made, so a stopped build continues where it stopped.

Embedding every sentence of a big corpus takes minutes to hours; the complete vectors file
(vectors.save_vectors) is written only at the end. Meanwhile each batch of new vectors is appended
to a checkpoint file beside it, `vectors-<model>.partial`, and fsynced: after Ctrl-C, a kill or a
power cut, the next build reads back every batch that was written whole and embeds only the rest.

The file is a header line naming the format, the model's checksum and the vectors' width, then
blocks: the number of rows (8 bytes), a SHA-256 of the block's bytes, then the rows' text keys
(uint64) and int8 rows, as the complete file holds them. A block cut short by the stop, or damaged, ends the reading: what
came before it is kept, and the next batch is written after the last good block.

One build writes a checkpoint at a time: it holds an exclusive lock (flock) on the file while it has it
open. Two builds of the same vectors at once (a `!reload` while the bot's background build runs, two
shard processes starting on a new corpus) would otherwise append over each other's blocks, and the
first to finish would delete the file under the other; the second gets CheckpointInUse and builds
without one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import BinaryIO

import numpy as np

from bot.search.index.store import write_atomically
from bot.search.index.vectors import SavedVectors, vectors_path

FORMAT = b"corpus-answer-bot/vector-checkpoint 2"  # 2: int8 rows (1 held float16)
_COUNT = 8
_DIGEST = 32
_ATTEMPTS = 3  # opening the checkpoint while other builds create and remove it


class CheckpointInUse(Exception):
    """Another build (this process or another) is writing the same checkpoint."""


def checkpoint_path(folder: Path, model_sha256: str) -> Path:
    return vectors_path(folder, model_sha256).with_suffix(".partial")


class Checkpoint:
    """The vectors one model has made so far for a corpus: read back on open, appended a batch at a time."""

    def __init__(self, path: Path, model_sha256: str, dimensions: int) -> None:
        """Open (creating it if need be) the checkpoint, reading back every row written whole before (`read_back`).

        Raises CheckpointInUse when another build holds it, OSError when the folder cannot be written."""
        self.path = path
        header = _header(model_sha256, dimensions)
        self._file = _locked(path, header)
        try:
            self._saved, good_end = _read(path, header, dimensions)
            if good_end is None:  # another model's or width's, or a damaged header: start it again (we hold it)
                self._file.truncate(0)
                self._file.write(header)
                self._file.flush()
                os.fsync(self._file.fileno())
            else:
                self._file.truncate(good_end)  # a block cut short by the last stop goes
            self._file.seek(0, os.SEEK_END)
        except BaseException:
            self._file.close()
            raise

    def read_back(self) -> SavedVectors:
        """The rows written before this build, once: the build copies them into its own array, and while it runs
        (hours, at a million sentences) a second copy of them here would double what it holds."""
        saved, self._saved = self._saved, _empty(self._saved.rows.shape[1])
        return saved

    def append(self, keys: np.ndarray, rows: np.ndarray) -> None:
        """Write one batch of int8 rows and make it durable before returning."""
        body = keys.astype("<u8").tobytes() + rows.astype(np.int8).tobytes()
        self._file.write(len(keys).to_bytes(_COUNT, "little") + hashlib.sha256(body).digest() + body)
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()  # and with it the lock

    def remove(self) -> None:
        """The complete vectors are saved: the checkpoint has served (removed while still held, so no other
        build takes it in between)."""
        self.path.unlink(missing_ok=True)
        self.close()


def _locked(path: Path, header: bytes) -> BinaryIO:
    """The checkpoint at `path` (created with `header` if there is none) open for writing, holding its
    exclusive lock; CheckpointInUse when another build holds it (never waits).

    A build that finished removes the file it held, so the lock taken is checked to be on the file the
    path names now, and taken again on the new one if not (a few times: then it is another build's)."""
    for _ in range(_ATTEMPTS):
        try:
            file = path.open("r+b")
        except FileNotFoundError:
            write_atomically(path, header)  # as every saved file is: so an unwritable folder fails here, at once
            continue
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            raise CheckpointInUse(f"{path.name} is being written by another build of the same vectors") from None
        try:
            if os.stat(path).st_ino == os.fstat(file.fileno()).st_ino:
                return file
        except FileNotFoundError:
            pass
        file.close()
    raise CheckpointInUse(f"{path.name} keeps being replaced by another build of the same vectors")


def read_checkpoint(path: Path, model_sha256: str, dimensions: int) -> SavedVectors:
    """The rows a checkpoint holds, without opening it for writing (none when there is no checkpoint)."""
    return _read(path, _header(model_sha256, dimensions), dimensions)[0]


def _header(model_sha256: str, dimensions: int) -> bytes:
    return FORMAT + b" " + json.dumps({"model": model_sha256, "dimensions": dimensions}).encode() + b"\n"


def _empty(dimensions: int) -> SavedVectors:
    return SavedVectors(np.empty(0, dtype=np.uint64), np.empty((0, dimensions), dtype=np.int8))


def _read(path: Path, header: bytes, dimensions: int) -> tuple[SavedVectors, int | None]:
    """The rows of every whole block and where the good part of the file ends (None: unusable)."""
    none = _empty(dimensions)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return none, None
    if not data.startswith(header):
        return none, None
    keys: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    at = len(header)
    row_bytes = 8 + dimensions
    while at + _COUNT + _DIGEST <= len(data):
        count = int.from_bytes(data[at : at + _COUNT], "little")
        start = at + _COUNT + _DIGEST
        end = start + count * row_bytes
        if count == 0 or end > len(data) or hashlib.sha256(data[start:end]).digest() != data[at + _COUNT : start]:
            break
        keys.append(np.frombuffer(data, dtype="<u8", count=count, offset=start))
        rows.append(np.frombuffer(data, dtype=np.int8, count=count * dimensions, offset=start + 8 * count).reshape(count, dimensions))
        at = end
    if not keys:
        return none, at
    return SavedVectors(np.concatenate(keys).astype(np.uint64), np.concatenate(rows)), at
