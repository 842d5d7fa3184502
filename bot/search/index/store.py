"""What every saved file shares: written atomically and readable by other users, a failed save named by its
cause, the error a file that cannot be trusted raises, and strings as one UTF-8 byte blob plus offsets.

The saved engine itself is `mapped.py`'s file, the vectors `vectors.py`'s.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

FILE_MODE = 0o644  # saved indexes, vectors and kept models: the owner writes, everyone may read


class StoreError(Exception):
    """A saved file cannot be used; the message says why, so the caller can rebuild and say so."""


def write_atomically(path: Path, content: bytes | Callable[[BinaryIO], object]) -> None:
    """Write `content` (bytes, or a function writing to a file) so a reader sees the old file or the new one.

    The file is readable by everyone (FILE_MODE), as a package cache is: mkstemp's 0600 kept another user's
    process from reusing a saved index, so it rebuilt on every start. Nothing saved here is secret.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as file:
            if isinstance(content, bytes):
                file.write(content)
            else:
                content(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def why_not_saved(error: OSError, setting: str) -> str:
    """A failed save in words an operator can act on: a full disk is not a permissions problem."""
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full ({reason}); free space where {setting} points, or point it at another disk"
    if error.errno == errno.EROFS:
        return f"the file system is read-only ({reason}); point {setting} at a writable folder"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied ({reason}); check {setting}'s permissions"
    return f"{reason}; check {setting}"


def pack_strings(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Strings as one UTF-8 uint8 blob and int64 byte offsets (len(strings) + 1 of them)."""
    encoded = [s.encode("utf-8") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def unpack_strings(blob: np.ndarray, offsets: np.ndarray) -> list[str]:
    """The inverse of `pack_strings`; raises ValueError if the two arrays do not fit together."""
    if blob.dtype != np.uint8 or blob.ndim != 1 or offsets.ndim != 1 or offsets.dtype.kind not in "iu":
        raise ValueError("packed strings need a 1-D uint8 blob and 1-D integer offsets")
    if len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(blob) or np.any(np.diff(offsets) < 0):
        raise ValueError("packed string offsets do not fit the blob")
    data = blob.tobytes()
    bounds = offsets.tolist()
    return [data[start:end].decode("utf-8") for start, end in zip(bounds[:-1], bounds[1:])]
