"""Every command explains itself (the settings and `.env.example` are tested in tests/test_config.py)."""

from __future__ import annotations

import discord

from bot.config import Settings
from bot.discord_bot import render
from bot.discord_bot.client import AnswerBot
from bot.discord_bot.exts.ask import MENU_NAME
from bot.factory import load_engine
from bot.search.engine import Engine

from .helpers import REPO


async def test_every_command_has_help_an_example_and_slash_descriptions(engine: Engine) -> None:
    async with AnswerBot(Settings(), engine) as bot:
        await bot.setup_hook()
        commands = list(bot.walk_commands())
        assert {c.name for c in commands} == {"ask", "sources", "source", "help", "reload", "sync", "stats"}
        for command in commands:
            assert command.help and command.help.strip(), f"{command.name} has no help text"
            assert command.extras["example"].split()[0] == command.name
        for slash in bot.tree.walk_commands():
            assert 1 <= len(slash.description) <= 100 and slash.description != "…", slash.name
            for parameter in slash.parameters:  # type: ignore[union-attr]
                assert parameter.description not in ("", "…"), f"/{slash.name} {parameter.name}"
        assert {c.name for c in bot.tree.walk_commands()} == {"ask", "sources", "source", "help", "stats"}
        assert [menu.name for menu in bot.tree.get_commands(type=discord.AppCommandType.message)] == [MENU_NAME]


async def test_every_help_example_works_on_the_shipped_articles(engine: Engine) -> None:
    """A fresh install answers from corpus/ with the sentence model on: the examples `!help` shows must work there."""
    shipped = load_engine(Settings(corpus_dir=REPO / "corpus", index_cache=None))
    async with AnswerBot(Settings(), engine) as bot:
        await bot.setup_hook()
        examples = {c.name: c.extras["example"].split(maxsplit=1)[1:] for c in bot.walk_commands()}
    (question,) = examples["ask"]
    answer = shipped.ask(question)
    assert not answer.abstained, f"`!ask {question}`: {answer.reason}"
    (number,) = examples["source"]
    assert shipped.article(int(number)) is not None
    pages = -(-len(shipped.sources()) // render.ARTICLES_PER_PAGE)
    assert all(1 <= int(page) <= pages for page in examples["sources"])
