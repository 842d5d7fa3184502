"""Shared names for the Discord layer's tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.discord_bot.client import AnswerBot

CORPUS = Path(__file__).parent / "corpus"
StartBot = Callable[..., Awaitable[AnswerBot]]
