"""Shared names for the Discord layer's tests."""

from __future__ import annotations

import asyncio

from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.discord_bot.client import AnswerBot

CORPUS = Path(__file__).parent / "corpus"
StartBot = Callable[..., Awaitable[AnswerBot]]


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until `predicate()` holds, for state the loopback server is not told about (such as logs)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)
