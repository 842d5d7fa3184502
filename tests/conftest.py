"""Fixtures shared across test folders: the loopback Discord-compatible server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from loopback.server import LoopbackDiscord


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
