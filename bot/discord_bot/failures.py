"""The one failure path: what the user is told and what the operator reads, whatever failed and wherever.

Commands (through the error cog), the message listener, buttons and app commands all hand their
errors to `handle`, which tells a user's mistake apart from Discord's trouble and from our bugs:

- a user's mistake or a refused check gets a short, friendly reply that only they see;
- a channel where Discord refuses the bot is logged once, and nothing is sent there;
- Discord's own trouble (5xx after retries, a rate limit past its budget, an interaction delivered
  twice or expired) is one log line without a traceback;
- anything else is our bug: its traceback is logged and the user gets an apology.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Union

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot import replies
from bot.discord_bot.inflight import RESTARTING

if TYPE_CHECKING:
    from bot.discord_bot.client import AnswerBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["AnswerBot"]
Origin = Union[replies.Context, Interaction]
"""Where a failure happened: a command's or message's context, or an interaction (a button click)."""

ALREADY_ACKNOWLEDGED = 40060  # Discord delivered the interaction twice and the other delivery answered it
UNKNOWN_INTERACTION = 10062  # the interaction expired (3 s for the first response) or never existed
APOLOGY = "Sorry, something went wrong on my side; the operator can find the details in the log."
NOT_OWNER = "Only the bot's operator can do that."
BUSY = "So many questions are waiting for me right now that yours would take too long. Please ask again in a minute."


class CannotReply(commands.CheckFailure):
    """The bot lacks the permission to post where a command was used."""


class Restarting(commands.CheckFailure):
    """Work arrived after SIGTERM: the bot finishes the questions it has and takes no new ones."""


class Busy(Exception):
    """More questions are waiting for a search than the bot answers in reasonable time."""


class ChannelNotAllowed(commands.CheckFailure):
    """A command was used outside the channels set in ALLOWED_CHANNELS."""

    def __init__(self, channels: frozenset[int]) -> None:
        listed = ", ".join(f"<#{channel}>" for channel in sorted(channels))
        super().__init__(f"I only answer in {listed}.")


async def handle(origin: Origin, error: BaseException, what: str) -> None:
    """Tell the user and the operator what they each need to know about `error`, which happened doing `what`."""
    error = unwrap(error)
    bot, channel_id, is_interaction = _where(origin)
    if isinstance(error, commands.CommandNotFound):
        return
    if isinstance(error, (CannotReply, discord.Forbidden)):
        why = str(error) if isinstance(error, CannotReply) else error.text or str(error.status)
        refused(bot, channel_id, why)
        return
    if isinstance(error, ChannelNotAllowed) and not is_interaction:
        return  # a message outside the allowed channels is not meant for the bot: stay quiet there
    text = _for_the_user(origin, error)
    if text is None and not report(error, what, channel_id):
        return
    try:
        await _tell(origin, text or APOLOGY)
    except discord.HTTPException:
        log.warning("Could not even tell the user in channel %s what went wrong with %s", channel_id, what)


def _for_the_user(origin: Origin, error: BaseException) -> str | None:
    """The reply to a user's mistake or a refused check; None for a failure on our or Discord's side."""
    if isinstance(error, Restarting):
        return RESTARTING
    if isinstance(error, Busy):
        return BUSY
    if isinstance(error, ChannelNotAllowed):
        return str(error)
    if isinstance(error, commands.NotOwner):
        return NOT_OWNER
    if isinstance(error, commands.MissingRequiredArgument) and isinstance(origin, commands.Context):
        return f"`{_usage(origin)}` needs {error.param.name}.{_example(origin)}"
    if isinstance(error, commands.UserInputError) and isinstance(origin, commands.Context):
        return f"I didn't understand that. Usage: `{_usage(origin)}`.{_example(origin)}"
    if isinstance(error, commands.CommandOnCooldown):
        return f"Slow down a little: try again in {error.retry_after:.0f} s."
    if isinstance(error, (commands.CheckFailure, app_commands.CheckFailure)):
        return "You can't use that here."
    return None


def report(error: BaseException, what: str, channel_id: int | None) -> bool:
    """Log a failure to answer once, and say whether an apology is worth sending.

    Discord's own trouble is one line with no traceback: a 5xx that outlasted the retries, a rate
    limit that outlasted RATE_LIMIT_BUDGET (an apology would only be limited too), an interaction
    delivered twice (the other delivery answered it) or one that expired. Anything else is our bug:
    its traceback is logged.
    """
    code = getattr(error, "code", None)
    if isinstance(error, discord.DiscordServerError):
        log.warning(
            "Discord answered %s %s in channel %s even after retries; the user gets an apology if Discord lets us",
            error.status,
            error.response.reason,
            channel_id,
        )
        return True
    if isinstance(error, Exception) and replies.is_rate_limit(error):
        log.warning(
            "Discord kept rate-limiting %s in channel %s for over %g s; gave up, so that question has no answer",
            what,
            channel_id,
            replies.RATE_LIMIT_BUDGET,
        )
        return False
    if isinstance(error, discord.HTTPException) and code == ALREADY_ACKNOWLEDGED:
        log.info("Discord delivered an interaction in channel %s twice; the first delivery answered it", channel_id)
        return False
    if isinstance(error, discord.NotFound) and code == UNKNOWN_INTERACTION:
        log.warning(
            "An interaction in channel %s expired before Discord took our response (Discord slow or failing); "
            "the user saw 'interaction failed'",
            channel_id,
        )
        return False
    log.error("%s failed", what[:1].upper() + what[1:], exc_info=error)
    return True


def refused(bot: AnswerBot, channel_id: int | None, why: str) -> None:
    """Log that the bot may not answer in this channel, once, until a reply there gets through again.

    Users who ask there get no answer; the operator gets one line, not one per question.
    """
    if channel_id in bot.refused_channels:
        log.debug("Still not allowed to answer in channel %s (%s)", channel_id, why)
        return
    if channel_id is not None:
        bot.refused_channels.add(channel_id)
    log.warning(
        "Not allowed to answer in channel %s (%s); check the bot's permissions there. "
        "Further questions there go unanswered without another warning until a reply gets through",
        channel_id,
        why,
    )


def unwrap(error: BaseException) -> BaseException:
    """The error that actually happened, out of discord.py's invoke and hybrid wrappers."""
    while True:
        if isinstance(error, commands.HybridCommandError):
            error = error.original
        elif isinstance(error, (commands.CommandInvokeError, app_commands.CommandInvokeError)):
            error = error.original
        else:
            return error


def _where(origin: Origin) -> tuple[AnswerBot, int | None, bool]:
    if isinstance(origin, commands.Context):
        return origin.bot, origin.channel.id, origin.interaction is not None
    return origin.client, origin.channel_id, True


async def _tell(origin: Origin, text: str) -> None:
    """`text` to the user alone: ephemeral for an interaction, a reply to the question's message otherwise."""
    if isinstance(origin, commands.Context):
        await replies.reply(origin, text, ephemeral=True)
    elif origin.response.is_done():
        await origin.followup.send(text, ephemeral=True)
    else:
        await origin.response.send_message(text, ephemeral=True)


def _usage(ctx: replies.Context) -> str:
    """`!name <params>` for the command being run, with the prefix the user typed."""
    command = ctx.command
    if command is None:
        return ""
    prefix = "/" if ctx.interaction else ctx.clean_prefix
    return f"{prefix}{command.qualified_name} {command.signature}".strip()


def _example(ctx: replies.Context) -> str:
    command = ctx.command
    if command is None or "example" not in command.extras:
        return ""
    prefix = "/" if ctx.interaction else ctx.clean_prefix
    return f" For example: `{prefix}{command.extras['example']}`"
