"""Buttons under answers and source lists.

Each button is a DynamicItem whose custom id carries everything its callback needs (sentence ids,
article numbers, a page), so buttons on old messages keep working after a restart. Answer buttons
also carry the corpus version (see serving.py) their ids belong to: after the articles change, a
click says so plainly instead of showing whatever sentence now has that id. Buttons from before
versions existed have none and get the same answer.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import discord

from bot.discord_bot import failures, render
from bot.discord_bot.failures import Interaction, Restarting
from bot.discord_bot.feedback import user_hash
from bot.search.engine import Answer


CUSTOM_ID_LIMIT = 100
CONTEXT_WINDOW = 2
OLDER_ARTICLES = (
    "That answer came from an older version of the articles, which have changed since, "
    "so I can't show its sentences or sources reliably. Ask again for an answer from the current articles."
)
_VERSION = r"(?:(?P<version>[0-9a-f]{8}):)?"
Item = TypeVar("Item", bound=discord.ui.DynamicItem[Any])


def fit_ids(prefix: str, numbers: Sequence[int]) -> str:
    """`prefix` + as many comma-separated numbers as fit in Discord's 100-character custom id."""
    custom_id = prefix + str(numbers[0])
    for number in numbers[1:]:
        longer = f"{custom_id},{number}"
        if len(longer) > CUSTOM_ID_LIMIT:
            break
        custom_id = longer
    return custom_id


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(","))


def _versioned(prefix: str, version: str | None) -> str:
    """A custom id's prefix with the corpus version (a button rebuilt from an old id without one keeps that id)."""
    return f"{prefix}{version}:" if version else prefix


def _ids_of(button: discord.ui.Button[Any]) -> tuple[int, ...]:
    """The numbers a button's custom id kept after `fit_ids` (they always come last)."""
    return _numbers((button.custom_id or "").rsplit(":", 1)[1])


def _safely(
    callback: Callable[[Item, Interaction], Awaitable[None]],
) -> Callable[[Item, Interaction], Awaitable[None]]:
    """Run a button's callback as work in flight; a failure goes to `failures.handle`, never Discord's bare 'interaction failed'."""

    @functools.wraps(callback)
    async def wrapper(self: Item, interaction: Interaction) -> None:
        try:
            if not interaction.client.in_flight.admit():
                raise Restarting()
            await callback(self, interaction)
        except Exception as error:
            await failures.handle(interaction, error, f"button {getattr(self.item, 'custom_id', '?')}")

    return wrapper


class ContextButton(
    discord.ui.DynamicItem[discord.ui.Button], template=rf"answer:context:{_VERSION}(?P<ids>\d+(?:,\d+)*)"
):
    """Shows the sentences around each answer sentence, to the clicker only."""

    def __init__(self, version: str | None, sentence_ids: Sequence[int]) -> None:
        button = discord.ui.Button(
            label="More context",
            emoji="📖",
            style=discord.ButtonStyle.secondary,
            custom_id=fit_ids(_versioned("answer:context:", version), sentence_ids),
        )
        super().__init__(button)
        self.version = version
        self.sentence_ids = _ids_of(button)

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ContextButton:
        return cls(match["version"], _numbers(match["ids"]))

    @_safely
    async def callback(self, interaction: Interaction) -> None:
        serving = interaction.client.serving
        if self.version != serving.version:
            await interaction.response.send_message(OLDER_ARTICLES, ephemeral=True)
            return
        passages = [(sid, serving.engine.context_of(sid, window=CONTEXT_WINDOW)) for sid in self.sentence_ids]
        await interaction.response.send_message(embed=render.context_embed(passages), ephemeral=True)


class SourcesButton(
    discord.ui.DynamicItem[discord.ui.Button], template=rf"answer:sources:{_VERSION}(?P<numbers>\d+(?:,\d+)*)"
):
    """Lists the articles an answer came from, to the clicker only."""

    def __init__(self, version: str | None, article_numbers: Sequence[int]) -> None:
        button = discord.ui.Button(
            label="Sources",
            emoji="📚",
            style=discord.ButtonStyle.secondary,
            custom_id=fit_ids(_versioned("answer:sources:", version), article_numbers),
        )
        super().__init__(button)
        self.version = version
        self.article_numbers = _ids_of(button)

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SourcesButton:
        return cls(match["version"], _numbers(match["numbers"]))

    @_safely
    async def callback(self, interaction: Interaction) -> None:
        bot = interaction.client
        serving = bot.serving
        if self.version != serving.version:
            await interaction.response.send_message(OLDER_ARTICLES, ephemeral=True)
            return
        articles = [a for a in map(serving.engine.article, self.article_numbers) if a is not None]
        embed = render.articles_embed(articles, prefix=bot.settings.prefix)
        await interaction.response.send_message(embed=embed, ephemeral=True)


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button],
    template=rf"answer:vote:(?P<vote>up|down):{_VERSION}(?P<ids>\d+(?:,\d+)*)",
):
    """👍/👎 on an answer, appended to the operator's feedback file with the corpus version its ids belong to."""

    def __init__(self, vote: str, version: str | None, sentence_ids: Sequence[int]) -> None:
        button = discord.ui.Button(
            emoji="👍" if vote == "up" else "👎",
            style=discord.ButtonStyle.secondary,
            custom_id=fit_ids(_versioned(f"answer:vote:{vote}:", version), sentence_ids),
        )
        super().__init__(button)
        self.vote = vote
        self.version = version
        self.sentence_ids = _ids_of(button)

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> VoteButton:
        return cls(match["vote"], match["version"], _numbers(match["ids"]))

    @_safely
    async def callback(self, interaction: Interaction) -> None:
        message = interaction.message
        record = {
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "vote": self.vote,
            "user": user_hash(interaction.user.id),
            "question": _question_of(message),
            "sentence_ids": list(self.sentence_ids),
            "corpus_version": self.version,
            "message_id": message.id if message else None,
            "channel_id": interaction.channel_id,
            "guild_id": interaction.guild_id,
        }
        try:
            await interaction.client.feedback.append(record)
        except OSError:  # FeedbackLog.append has logged it
            await interaction.response.send_message(
                "Thanks! I couldn't save that right now; the operator has been told.", ephemeral=True
            )
            return
        await interaction.response.send_message("Thanks for the feedback!", ephemeral=True)


def _question_of(message: discord.Message | None) -> str | None:
    """The question an answer message shows: its embed title, or the bold first line of plain text."""
    if message is None:
        return None
    if message.embeds and message.embeds[0].title:
        return message.embeds[0].title
    first = message.content.split("\n", 1)[0]
    return first.strip("*") or None


class PageButton(discord.ui.DynamicItem[discord.ui.Button], template=r"sources:page:(?P<page>\d+)"):
    """Turns the `!sources` list to another page (for everyone, by editing the message)."""

    def __init__(self, page: int, *, label: str = "", disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=label or f"Page {page}",
                style=discord.ButtonStyle.secondary,
                custom_id=f"sources:page:{page}",
                disabled=disabled,
            )
        )
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PageButton:
        return cls(int(match["page"]))

    @_safely
    async def callback(self, interaction: Interaction) -> None:
        bot = interaction.client
        articles = bot.engine.sources()
        page = render.page_of(articles, self.page)
        embed = render.sources_embed(page, total=len(articles), prefix=bot.settings.prefix)
        await interaction.response.edit_message(content=None, embed=embed, view=sources_view(page))


def answer_view(answer: Answer, version: str) -> discord.ui.View | None:
    """More context, Sources, 👍 and 👎 under an answer from corpus `version`; nothing under an abstention."""
    if answer.abstained or not answer.hits:
        return None
    sentence_ids = [hit.sentence_id for hit in answer.hits]
    articles = list(dict.fromkeys(a.number for hit in answer.hits for a in (hit.article, *hit.also_in)))
    view = discord.ui.View(timeout=None)
    view.add_item(ContextButton(version, sentence_ids))
    view.add_item(SourcesButton(version, articles))
    view.add_item(VoteButton("up", version, sentence_ids))
    view.add_item(VoteButton("down", version, sentence_ids))
    return view


def sources_view(page: render.Page) -> discord.ui.View | None:
    """Previous/Next under a page of sources, when there is more than one page."""
    if page.count < 2:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(PageButton(max(1, page.number - 1), label="◀ Previous", disabled=page.number == 1))
    view.add_item(PageButton(min(page.count, page.number + 1), label="Next ▶", disabled=page.number == page.count))
    return view


DYNAMIC_ITEMS = (ContextButton, SourcesButton, VoteButton, PageButton)
