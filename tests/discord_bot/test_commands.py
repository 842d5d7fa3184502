"""Every command explains itself (the settings and `.env.example` are tested in tests/test_config.py)."""

from __future__ import annotations

from bot.config import Settings
from bot.discord_bot.client import AnswerBot
from bot.search.engine import Engine


async def test_every_command_has_help_an_example_and_slash_descriptions(engine: Engine) -> None:
    async with AnswerBot(Settings(), engine) as bot:
        await bot.setup_hook()
        commands = list(bot.walk_commands())
        assert {c.name for c in commands} == {"ask", "sources", "source", "help", "reload", "sync"}
        for command in commands:
            assert command.help and command.help.strip(), f"{command.name} has no help text"
            assert command.extras["example"].split()[0] == command.name
        for slash in bot.tree.walk_commands():
            assert 1 <= len(slash.description) <= 100 and slash.description != "…", slash.name
            for parameter in slash.parameters:  # type: ignore[union-attr]
                assert parameter.description not in ("", "…"), f"/{slash.name} {parameter.name}"
        assert {c.name for c in bot.tree.walk_commands()} == {"ask", "sources", "source", "help"}

