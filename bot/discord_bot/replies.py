"""One way to answer a command: a reply that never pings, is never posted twice, and survives Discord's hiccups.

Replies to messages carry the question's id as their nonce, with discord.py's `enforce_nonce`: Discord
returns the first message instead of posting a second one when the same nonce comes again, so a
retry after a lost response, or a question delivered twice, still shows one reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.discord_bot import render

if TYPE_CHECKING:
    from bot.discord_bot.client import AnswerBot

log = logging.getLogger(__name__)

Context = commands.Context["AnswerBot"]

# discord.py retries 500, 502, 504 and 524 itself; 503 (Discord overloaded) it raises at once.
SERVER_ERROR_RETRIES = 2
SERVER_ERROR_WAIT = 1.0  # seconds before the first retry; doubled for each further one


async def reply(
    ctx: Context,
    content: str | None = None,
    *,
    embed: discord.Embed | None = None,
    text: str | None = None,
    view: discord.ui.View | None = None,
    ephemeral: bool = False,
) -> discord.Message:
    """Reply to the invoking message (or interaction), as `text` (default: the embed as text) without Embed Links."""
    if embed is not None and not ctx.bot_permissions.embed_links:
        content, embed = text if text is not None else render.embed_text(embed), None
    extra: dict[str, Any] = {"view": view} if view is not None else {}
    if ctx.interaction is not None:
        return await ctx.send(content, embed=embed, ephemeral=ephemeral, **extra)
    reference = ctx.message.to_reference(fail_if_not_exists=False)
    sent = await retrying(
        lambda: ctx.send(
            content, embed=embed, reference=reference, mention_author=False, nonce=ctx.message.id, **extra
        )
    )
    ctx.bot.refused_channels.discard(ctx.channel.id)
    return sent


async def retrying(send: Callable[[], Awaitable[discord.Message]]) -> discord.Message:
    """`send()`, tried again after a 5xx that discord.py gave up on; only for sends with a fixed nonce."""
    for attempt in range(SERVER_ERROR_RETRIES + 1):
        try:
            return await send()
        except discord.DiscordServerError as error:
            if attempt == SERVER_ERROR_RETRIES:
                raise
            wait = SERVER_ERROR_WAIT * 2**attempt
            log.warning("Discord answered %s %s; sending again in %g s", error.status, error.response.reason, wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


def can_reply(ctx: Context) -> bool:
    """Whether the bot may post in the invoking channel (interaction responses need no channel permission)."""
    if ctx.interaction is not None:
        return True
    permissions = ctx.bot_permissions
    if isinstance(ctx.channel, discord.Thread):
        return permissions.send_messages_in_threads
    return permissions.send_messages


@contextlib.asynccontextmanager
async def typing_indicator(ctx: Context) -> AsyncIterator[None]:
    """Show "typing…" while answering. For a message it is a courtesy: if Discord refuses it, answer anyway.

    For an interaction it defers the response, which must succeed for the answer to follow, so errors pass.
    """
    if ctx.interaction is not None:
        async with ctx.typing():
            yield
        return
    indicator = ctx.typing()
    try:
        await indicator.__aenter__()
    except discord.HTTPException as error:
        log.debug("No typing indicator in channel %s: %s %s", ctx.channel.id, error.status, error.text)
        yield
        return
    try:
        yield
    finally:
        await indicator.__aexit__(None, None, None)
