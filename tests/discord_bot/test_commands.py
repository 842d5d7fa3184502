"""Every command explains itself, and every setting is documented in .env.example."""

from __future__ import annotations

import re
from pathlib import Path

from bot.config import Settings, load_settings
from bot.discord_bot.client import AnswerBot
from bot.search.engine import Engine

REPO = Path(__file__).resolve().parents[2]


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


def test_env_example_documents_every_setting_with_its_default() -> None:
    example = REPO / ".env.example"
    names = set(re.findall(r"^([A-Z_]+)=", example.read_text(), re.MULTILINE))
    source = (REPO / "bot" / "config.py").read_text()
    read = set(re.findall(r'(?:values\.get\(|text\(|values, )"([A-Z_]+)"', source))
    assert read and read == names
    lines = example.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[A-Z_]+=", line):
            above = next(text for text in reversed(lines[:number]) if not re.match(r"^[A-Z_]+=", text))
            assert above.startswith("#"), f"{line} has no comment above its group"
    assert load_settings(environ={}, env_file=example) == load_settings(environ={}, env_file=None)
