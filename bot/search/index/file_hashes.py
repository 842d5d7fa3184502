"""Each corpus file's content hash, read again only when its stat says the file may have changed.

Hashing every file to decide whether a saved index is still valid took 3.9 s of a 5.7 s restart
at 25,000 files. As git's index does, a record beside the saved index keeps each file's size,
modification and change times (ns) with the hash of its bytes; a file whose stat is unchanged is
not read. A file whose stat changed is hashed again, and when the hash is the same (a `touch`, a
checkout) the index stays valid and the new stat is recorded.

The "racy git" problem: a file edited twice within the file system's timestamp granularity keeps
its stat. Its recorded hash is trusted only if its modification time is older, by RACY_WINDOW_NS,
than the moment the pass that hashed it started; anything newer is "racily clean" and is hashed
again, until a later pass proves it settled. So an edit after a hash always shows in the stat.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.search.index.store import write_atomically

RECORD_FILE = "files.json"
_FORMAT = "corpus-answer-bot/file-hashes"
_VERSION = 1
# 2 s: FAT's timestamp granularity, the coarsest of a common file system, which also covers the
# few milliseconds by which Linux's file timestamps (a coarse clock) lag time.time_ns(). On ext4,
# xfs or btrfs (ns timestamps) it only means files saved in the 2 s before a pass are hashed again.
RACY_WINDOW_NS = 2_000_000_000


@dataclass(frozen=True)
class Stamp:
    """What the stat said of a file when its bytes hashed to `digest`."""

    size: int
    mtime_ns: int
    ctime_ns: int
    digest: str

    def matches(self, stat: os.stat_result) -> bool:
        return (self.size, self.mtime_ns, self.ctime_ns) == (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


class FileHashes:
    """The hashes of one folder's files, from the record at `record` (if any) where it can be trusted.

    `hashed` lists the files this pass read (the ones whose stat changed, were racily clean or new).
    """

    def __init__(self, folder: Path, record: Path | None, clock: Callable[[], int] = time.time_ns) -> None:
        self._folder = folder
        self._record = record
        self._started = clock()  # before any stat: what a hash taken in this pass is proven against
        self._known, self._checked_ns = self._read()
        self._now: dict[str, Stamp] = {}
        self.hashed: list[str] = []

    def digest(self, name: str, stat: os.stat_result) -> str:
        """The sha256 of the file `name` (relative to the folder) whose stat is `stat`; OSError if it cannot be read."""
        known = self._known.get(name)
        if known is not None and known.matches(stat) and known.mtime_ns + RACY_WINDOW_NS < self._checked_ns:
            self._now[name] = known
            return known.digest
        with open(os.path.join(self._folder, name), "rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()
        self.hashed.append(name)
        self._now[name] = Stamp(stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, digest)
        return digest

    def save(self) -> None:
        """Record this pass's stats, if anything was read or is gone; OSError if the record cannot be written.

        Nothing is written when nothing changed, so a read-only cache folder costs nothing either.
        """
        if self._record is None or (not self.hashed and self._now.keys() == self._known.keys()):
            return
        record = {
            "format": _FORMAT,
            "version": _VERSION,
            "folder": str(self._folder.resolve()),
            "checked_ns": self._started,
            "files": {name: [s.size, s.mtime_ns, s.ctime_ns, s.digest] for name, s in sorted(self._now.items())},
        }
        write_atomically(self._record, json.dumps(record, separators=(",", ":")).encode())

    def _read(self) -> tuple[dict[str, Stamp], int]:
        """The recorded stamps and when their pass started; none when there is no usable record for this folder."""
        if self._record is None:
            return {}, 0
        try:
            record = json.loads(self._record.read_bytes())
            if (record["format"], record["version"], record["folder"]) != (_FORMAT, _VERSION, str(self._folder.resolve())):
                return {}, 0
            return {name: Stamp(*fields) for name, fields in record["files"].items()}, int(record["checked_ns"])
        except (OSError, ValueError, KeyError, TypeError):
            return {}, 0
