"""Fixtures for the Discord layer: the real engine over a tiny corpus and a bot connected to the loopback server."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from loopback.server import LoopbackDiscord, body_of

from bot.config import Secret, Settings
from bot.discord_bot.client import GATEWAY_SILENCE_TIMEOUT, AnswerBot, make_bot, use_endpoints
from bot.search.engine import Engine

from .helpers import CORPUS, SECRET, StartBot


@pytest.fixture
async def loopback() -> AsyncIterator[LoopbackDiscord]:
    """The loopback server, accepting only SECRET, a token shaped like a real one, so tests can show it never leaks."""
    server = LoopbackDiscord(token=SECRET)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.from_dir(CORPUS)


@pytest.fixture
def make_settings(loopback: LoopbackDiscord, tmp_path: Path) -> Callable[..., Settings]:
    """Settings pointing at the loopback server, with no cooldown unless a test asks for one."""

    def make(**changes: object) -> Settings:
        base = Settings(
            token=Secret(loopback.token),
            corpus_dir=CORPUS,
            feedback_file=tmp_path / "feedback.jsonl",
            owner_ids=frozenset({int(loopback.owner["id"])}),
            cooldown_seconds=0.0,
            api_base=loopback.api_base,
            gateway_url=loopback.gateway_url,
        )
        return dataclasses.replace(base, **changes)  # type: ignore[arg-type]

    return make


@pytest.fixture
async def start_bot(
    loopback: LoopbackDiscord, engine: Engine, make_settings: Callable[..., Settings]
) -> AsyncIterator[StartBot]:
    """Start a real AnswerBot against the loopback server and wait until it is ready.

    Afterwards, every message the bot sent must have asked Discord to ping no one.
    """
    started: list[tuple[AnswerBot, asyncio.Task[None]]] = []

    async def start(
        *, with_engine: Engine | None = None, heartbeat_timeout: float = GATEWAY_SILENCE_TIMEOUT, **changes: object
    ) -> AnswerBot:
        settings = make_settings(**changes)
        use_endpoints(settings.api_base, settings.gateway_url)
        bot = make_bot(settings, with_engine or engine, guild_ready_timeout=0.01, heartbeat_timeout=heartbeat_timeout)
        identified = len(loopback.identifies)
        task = asyncio.create_task(bot.start(settings.token.value))
        started.append((bot, task))
        connected = asyncio.create_task(
            loopback.wait_for(lambda: len(loopback.identifies) > identified and loopback.connection is not None)
        )
        await asyncio.wait({task, connected}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            connected.cancel()
            task.result()
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        return bot

    yield start
    for bot, task in started:
        await bot.close()
        await asyncio.gather(task, return_exceptions=True)
    use_endpoints(None, None)
    for request in loopback.sent_messages():
        mentions = body_of(request).get("allowed_mentions") or {}
        may_ping = mentions.get("parse") != [] or mentions.get("users") or mentions.get("roles")
        assert not may_ping and not mentions.get("replied_user"), f"{request.path} may ping: {mentions}"


@pytest.fixture
async def bot(start_bot: StartBot) -> AnswerBot:
    return await start_bot()
