"""Shared names for the Discord layer's tests."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from loopback.server import LoopbackDiscord

from bot.discord_bot.client import AnswerBot

CORPUS = Path(__file__).parent / "corpus"
REPO = Path(__file__).resolve().parents[2]
SECRET = "MTA5ODc2NTQzMjEwOTg3NjU0Mw.GxYzAb.loopback-secret-Q1w2E3r4T5y6U7i8O9p0"  # shaped like a real token
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


@contextlib.contextmanager
def deny_writing(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Nothing can be written in `folder` or below: mode 555, and where root ignores modes, a patched mkstemp
    (every saved file is written to a temporary file first, see bot.search.index.store.write_atomically)."""
    folders = [folder, *(path for path in folder.rglob("*") if path.is_dir())]
    modes = {path: path.stat().st_mode for path in folders}
    for path in folders:
        path.chmod(0o555)
    try:
        if getattr(os, "geteuid", lambda: -1)() != 0:
            yield
            return
        make = tempfile.mkstemp

        def mkstemp(*args: Any, dir: str | None = None, **kwargs: Any) -> tuple[int, str]:
            if dir is not None and Path(dir).resolve().is_relative_to(folder.resolve()):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), dir)
            return make(*args, dir=dir, **kwargs)

        with monkeypatch.context() as patch:
            patch.setattr(tempfile, "mkstemp", mkstemp)
            yield
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def environment(loopback: LoopbackDiscord | None, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The child's environment: ours without any Discord settings, plus the loopback server's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "BOT_", "OWNER_", "ALLOWED_"))}
    env.update(
        PYTHONPATH=str(REPO),
        CORPUS_DIR=str(CORPUS),
        FEEDBACK_FILE=str(tmp_path / "feedback.jsonl"),
        LOG_LEVEL="DEBUG",
    )
    if loopback is not None:
        env.update(
            DISCORD_TOKEN=loopback.token, DISCORD_API_BASE=loopback.api_base, DISCORD_GATEWAY_URL=loopback.gateway_url
        )
    env.update(extra)
    return env


async def start(env: dict[str, str], cwd: Path, **options: Any) -> asyncio.subprocess.Process:
    """`python -m bot run` as a child process; `options` go to asyncio.create_subprocess_exec."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, **options,
    )


async def finish(process: asyncio.subprocess.Process, timeout: float = 30.0) -> tuple[int, str]:
    """The exit code and the log; neither the log nor standard output may hold the token."""
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    assert SECRET not in stdout.decode() + stderr.decode()
    return process.returncode, stderr.decode()


@contextlib.asynccontextmanager
async def running_bot(
    loopback: LoopbackDiscord, env: dict[str, str], cwd: Path, **options: Any
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m bot run` connected to the loopback server; killed afterwards if the test has not ended it."""
    process = await start(env, cwd, **options)
    try:
        await loopback.wait_for(lambda: loopback.connection is not None, timeout=60)
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
