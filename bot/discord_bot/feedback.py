"""👍/👎 feedback in a local JSONL file for the operator to read, under pseudonymous user ids.

The file only ever grows by whole lines: a write that fails part-way (a full disk) is cut back to
where it began, and a fragment left by a crash before this process started is closed off on its
own line, so one bad write never takes a good record with it. The one reader of the file is
bot/feedback_report.py, which skips damaged lines instead of stopping.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import logging
import os
import stat
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
# Votes waiting for the disk while it is slow; past this many a click is told its vote was not saved,
# so a disk that never answers costs bounded memory. A burst of clicks is written as one append.
MAX_WAITING = 10_000


class UnsafeFile(OSError):
    """FEEDBACK_FILE is a link or not a regular file: nothing is written through it."""


class FeedbackLog:
    """Appends records as JSON lines on a writer thread of its own (see file_worker), and reads them on another.

    Votes that arrive while a write is under way wait for the next one, which appends them all at once:
    450 clicks in a tenth of a second are two writes, not 450 jobs in a queue that holds 100.
    """

    def __init__(self, path: Path, *, timeout: float = WRITE_TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout
        self._worker = FileWorker("feedback")
        self._reader = FileWorker("feedback reader", backlog=2)  # a slow read never holds up a vote being saved
        self._waiting: list[tuple[bytes, asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None
        self._refusals_said: set[str] = set()

    async def summary(self) -> Summary:
        """The votes so far, by `bot feedback`'s rules; OSError if the file cannot be read (TimeoutError if it hangs)."""
        return await self._reader.run(lambda: load_summary(self.path), timeout=READ_TIMEOUT)

    async def append(self, record: Mapping[str, Any]) -> None:
        """Write one record; raises OSError (TimeoutError when the disk does not answer in time), logged here.

        A refused file (a link, a folder, a device) is logged once; other failures each time.
        """
        try:
            await self._append(record)
        except UnsafeFile as error:
            if str(error) not in self._refusals_said:
                self._refusals_said.add(str(error))
                log.error("Cannot write feedback to %s: %s", self.path, error)
            raise
        except OSError as error:
            log.error("Cannot write feedback to %s: %s", self.path, error)
            raise

    async def _append(self, record: Mapping[str, Any]) -> None:
        if len(self._waiting) >= MAX_WAITING:
            raise TimeoutError(f"{MAX_WAITING} earlier votes are still waiting for the disk")
        line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode()
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        written.add_done_callback(_retrieved)  # a clicker who stopped waiting leaves no "never retrieved" warning
        self._waiting.append((line, written))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_waiting())
        try:
            await asyncio.wait_for(asyncio.shield(written), self.timeout)
        except TimeoutError:
            raise TimeoutError(f"the feedback write did not finish within {self.timeout:g} s") from None

    async def _write_waiting(self) -> None:
        """Append every waiting line in one write, again until none is waiting; each waiter learns how it went."""
        while self._waiting:
            batch, self._waiting = self._waiting, []
            data = b"".join(line for line, _ in batch)
            try:
                await self._worker.run(lambda: append_line(self.path, data), timeout=self.timeout)
                outcome: BaseException | None = None
            except OSError as error:
                outcome = error
            for _, written in batch:
                if written.done():
                    continue
                if outcome is None:
                    written.set_result(None)
                else:
                    written.set_exception(outcome)


def _retrieved(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def append_line(path: Path, line: bytes) -> None:
    """Append `line` (one or more whole lines) whole or not at all: on a failed write the file is cut back.

    The file is opened without following a link (O_NOFOLLOW) and must be a regular file: a link planted
    at FEEDBACK_FILE would otherwise have the bot append to whatever it points at, as root if it runs so.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise UnsafeFile(f"{path} is not a regular file; point FEEDBACK_FILE at a file")
        size = status.st_size
        if size and not _ends_a_line(path, status, size):
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


def _open(path: Path, flags: int) -> int:
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnsafeFile(f"{path} is a symbolic link, which is never followed; point FEEDBACK_FILE at the file itself") from None
        raise


def _ends_a_line(path: Path, written: os.stat_result, size: int) -> bool:
    fd = _open(path, os.O_RDONLY)
    try:
        status = os.fstat(fd)
        if (status.st_dev, status.st_ino) != (written.st_dev, written.st_ino):
            raise UnsafeFile(f"{path} was replaced while being written; not writing to it")
        return os.pread(fd, 1, size - 1) == b"\n"
    finally:
        os.close(fd)


def user_hash(user_id: int) -> str:
    """A short stable pseudonym for logs and feedback, so neither holds raw user ids."""
    return hashlib.sha256(f"discord-user:{user_id}".encode()).hexdigest()[:12]
