"""Shared names for the Discord layer's tests."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from bot.discord_bot.client import AnswerBot

CORPUS = Path(__file__).parent / "corpus"
StartBot = Callable[..., Awaitable[AnswerBot]]


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until `predicate()` holds, for state the loopback server is not told about (such as logs)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


@contextlib.contextmanager
def deny_listing(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Listing `folder` fails with permission denied: mode 000, and where root ignores modes, a patched iterdir."""
    mode = folder.stat().st_mode
    folder.chmod(0)
    try:
        if getattr(os, "geteuid", lambda: -1)() != 0:
            yield
            return
        listing = Path.iterdir

        def iterdir(self: Path) -> Iterator[Path]:
            if self == folder:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
            return listing(self)

        with monkeypatch.context() as patch:
            patch.setattr(Path, "iterdir", iterdir)
            yield
    finally:
        folder.chmod(mode)
