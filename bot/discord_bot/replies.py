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
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord.ext import commands

from bot.discord_bot import render

if TYPE_CHECKING:
    from bot.discord_bot.client import AnswerBot  # named in Context's string annotation

log = logging.getLogger(__name__)

Context = commands.Context["AnswerBot"]
T = TypeVar("T")

# discord.py retries 500, 502, 504 and 524 itself; 503 (Discord overloaded) it raises at once.
SERVER_ERROR_RETRIES = 2
SERVER_ERROR_WAIT = 1.0  # seconds before the first retry; doubled for each further one
# discord.py waits out a 429 five times (about 1.5 s of a typical 0.3 s per-route limit), then raises.
# A reply keeps waiting until this many seconds have passed since its first try; shutdown's grace
# period (run.SHUTDOWN_GRACE) still bounds it when the bot is stopping.
RATE_LIMIT_BUDGET = 60.0


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
        # No nonce here, so a 5xx whose response was lost could post twice: only 429s are retried.
        return await retrying(
            lambda: ctx.send(content, embed=embed, ephemeral=ephemeral, **extra), server_errors=False
        )
    reference = ctx.message.to_reference(fail_if_not_exists=False)
    sent = await retrying(
        lambda: ctx.send(
            content, embed=embed, reference=reference, mention_author=False, nonce=ctx.message.id, **extra
        )
    )
    ctx.bot.refused_channels.discard(ctx.channel.id)
    return sent


async def retrying(send: Callable[[], Awaitable[T]], *, server_errors: bool = True) -> T:
    """`send()`, tried again after a 429 or a 5xx that discord.py gave up on.

    A 429 means Discord did nothing, so it is always safe to send again: waited out until
    RATE_LIMIT_BUDGET seconds have passed. A 5xx may hide a request that took effect, so it is
    retried (SERVER_ERROR_RETRIES times) only when `server_errors`, for sends with a fixed nonce.
    The last error is raised for `failures.report` to log in one line.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RATE_LIMIT_BUDGET
    failures = 0
    while True:
        try:
            return await send()
        except discord.HTTPException as error:
            if is_rate_limit(error):
                wait = retry_after(error)
                if loop.time() + wait > deadline:
                    raise
                log.debug("Still rate limited after discord.py's own retries; sending again in %g s", wait)
            elif isinstance(error, discord.DiscordServerError) and server_errors and failures < SERVER_ERROR_RETRIES:
                wait = SERVER_ERROR_WAIT * 2**failures
                failures += 1
                log.warning("Discord answered %s %s; sending again in %g s", error.status, error.response.reason, wait)
            else:
                raise
        await asyncio.sleep(wait)


def is_rate_limit(error: Exception) -> bool:
    return isinstance(error, discord.HTTPException) and error.status == 429


def retry_after(error: discord.HTTPException) -> float:
    """How long Discord asked us to wait, from the Retry-After header (1 s if it is missing or odd)."""
    try:
        return max(0.0, min(float(error.response.headers.get("Retry-After", 1.0)), RATE_LIMIT_BUDGET))
    except ValueError:
        return 1.0


def can_reply(ctx: Context) -> bool:
    """Whether the bot may post in the invoking channel (interaction responses need no channel permission)."""
    if ctx.interaction is not None:
        return True
    permissions = ctx.bot_permissions
    if isinstance(ctx.channel, discord.Thread):
        return permissions.send_messages_in_threads
    return permissions.send_messages


@contextlib.asynccontextmanager
async def typing_indicator(ctx: Context, *, ephemeral: bool = False) -> AsyncIterator[None]:
    """Show "typing…" while answering. For a message it is a courtesy: if Discord refuses it, answer anyway.

    For an interaction it defers the response, which must succeed for the answer to follow, so errors pass;
    an answer meant for the asker alone must be deferred `ephemeral`, since the answer takes the deferral's place.
    """
    if ctx.interaction is not None:
        async with ctx.typing(ephemeral=ephemeral):
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
