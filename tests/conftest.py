"""Fixtures shared across test folders: the loopback Discord-compatible server."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import AsyncIterator

import pytest
from loopback.server import LoopbackDiscord

# Saved indexes go to the per-user cache folder by default: keep the tests' out of the real one
# (set before any test imports bot.config, which reads it; bot processes the tests start inherit it).
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="corpus-bot-tests-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "load: a burst through the loopback server; in the default run, skip with -m 'not load'"
    )


@pytest.fixture
async def loopback() -> AsyncIterator[LoopbackDiscord]:
    """A started loopback Discord server (REST + gateway on 127.0.0.1), stopped after the test."""
    server = LoopbackDiscord()
    await server.start()
    yield server
    await server.stop()
