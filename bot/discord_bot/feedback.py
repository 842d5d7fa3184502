"""👍/👎 feedback in a local JSONL file for the operator to read, under pseudonymous user ids.

The file only ever grows by whole lines: a write that fails part-way (a full disk) is cut back to
where it began, and a fragment left by a crash before this process started is closed off on its
own line, so one bad write never takes a good record with it. The one reader of the file is
bot/feedback_report.py, which skips damaged lines instead of stopping.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.discord_bot.file_worker import FileWorker
from bot.feedback_report import Summary, load_summary

log = logging.getLogger(__name__)

# Discord wants an interaction answered within 3 s; the clicker hears back well before that either way,
# with room for a busy event loop. The write itself still happens when the disk answers.
WRITE_TIMEOUT = 1.5
READ_TIMEOUT = 10.0  # `/stats` defers its reply first, so it may wait this long for a big or slow file


class FeedbackLog:
    """Appends records as JSON lines on a writer thread of its own (see file_worker), and reads them on another."""

    def __init__(self, path: Path, *, timeout: float = WRITE_TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout
        self._worker = FileWorker("feedback")
        self._reader = FileWorker("feedback reader", backlog=2)  # a slow read never holds up a vote being saved

    async def summary(self) -> Summary:
        """The votes so far, by `bot feedback`'s rules; OSError if the file cannot be read (TimeoutError if it hangs)."""
        return await self._reader.run(lambda: load_summary(self.path), timeout=READ_TIMEOUT)

    async def append(self, record: Mapping[str, Any]) -> None:
        """Write one record; raises OSError (TimeoutError when the disk does not answer in time)."""
        line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode()
        await self._worker.run(lambda: append_line(self.path, line), timeout=self.timeout)


def append_line(path: Path, line: bytes) -> None:
    """Append `line` whole or not at all: on a failed write the file is truncated back to its old size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        size = os.fstat(fd).st_size
        if size and not _ends_a_line(path, size):
            log.warning("%s ended inside a line (an earlier crash?); starting the next record on a new line", path)
            line = b"\n" + line
        try:
            written = 0
            while written < len(line):
                written += os.write(fd, line[written:])
        except OSError:
            os.ftruncate(fd, size)
            raise
    finally:
        os.close(fd)


def _ends_a_line(path: Path, size: int) -> bool:
    with path.open("rb") as file:
        file.seek(size - 1)
        return file.read(1) == b"\n"


def user_hash(user_id: int) -> str:
    """A short stable pseudonym for logs and feedback, so neither holds raw user ids."""
    return hashlib.sha256(f"discord-user:{user_id}".encode()).hexdigest()[:12]
