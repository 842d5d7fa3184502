"""The one failure path: a short friendly reply for user mistakes, one line for Discord's trouble, a traceback for ours.

Commands come here through `on_command_error`; it, the mention listener and the buttons log through
`failures.report`.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot.client import AnswerBot, CannotReply, ChannelNotAllowed, Restarting
from bot.discord_bot.failures import report
from bot.discord_bot.inflight import RESTARTING
from bot.discord_bot.replies import Context, reply

log = logging.getLogger(__name__)


async def apologise(ctx: Context) -> None:
    """Tell the user something broke on our side, if Discord still lets us."""
    try:
        await reply(
            ctx, "Sorry, something went wrong on my side; the operator can find the details in the log.", ephemeral=True
        )
    except discord.HTTPException:
        log.warning("Could not even send the apology in channel %s", ctx.channel.id)


def refused(ctx: Context, why: str) -> None:
    """Log that the bot may not answer in this channel, once, until a reply there gets through again.

    Users who ask there get no answer; the operator gets one line, not one per question.
    """
    channel = ctx.channel.id
    if channel in ctx.bot.refused_channels:
        log.debug("Still not allowed to answer in channel %s (%s)", channel, why)
        return
    ctx.bot.refused_channels.add(channel)
    log.warning(
        "Not allowed to answer in channel %s (%s); check the bot's permissions there. "
        "Further questions there go unanswered without another warning until a reply gets through",
        channel,
        why,
    )


def usage(ctx: Context) -> str:
    """`!name <params>` for the command being run, with the prefix the user typed."""
    command = ctx.command
    if command is None:
        return ""
    prefix = "/" if ctx.interaction else ctx.clean_prefix
    return f"{prefix}{command.qualified_name} {command.signature}".strip()


def example(ctx: Context) -> str:
    command = ctx.command
    if command is None or "example" not in command.extras:
        return ""
    prefix = "/" if ctx.interaction else ctx.clean_prefix
    return f" For example: `{prefix}{command.extras['example']}`"


def unwrap(error: Exception) -> Exception:
    """The error that actually happened, out of discord.py's invoke and hybrid wrappers."""
    while True:
        if isinstance(error, commands.HybridCommandError):
            error = error.original
        elif isinstance(error, (commands.CommandInvokeError, app_commands.CommandInvokeError)):
            error = error.original
        else:
            return error


class Errors(commands.Cog):
    def __init__(self, bot: AnswerBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_command_error(self, ctx: Context, raw: commands.CommandError) -> None:
        self.bot.in_flight.admit()  # discord.py runs this in a task of its own: a reply here is work in flight too
        error = unwrap(raw)
        if isinstance(error, commands.CommandNotFound):
            return
        if isinstance(error, Restarting):
            await reply(ctx, RESTARTING, ephemeral=True)
            return
        if isinstance(error, CannotReply):
            refused(ctx, str(error))
            return
        if isinstance(error, ChannelNotAllowed):
            if ctx.interaction is not None:
                await reply(ctx, str(error), ephemeral=True)
            return
        if isinstance(error, commands.NotOwner):
            await reply(ctx, "Only the bot's operator can do that.", ephemeral=True)
        elif isinstance(error, commands.MissingRequiredArgument):
            await reply(ctx, f"`{usage(ctx)}` needs {error.param.name}.{example(ctx)}", ephemeral=True)
        elif isinstance(error, commands.UserInputError):
            await reply(ctx, f"I didn't understand that. Usage: `{usage(ctx)}`.{example(ctx)}", ephemeral=True)
        elif isinstance(error, commands.CommandOnCooldown):
            await reply(ctx, f"Slow down a little: try again in {error.retry_after:.0f} s.", ephemeral=True)
        elif isinstance(error, (commands.CheckFailure, app_commands.CheckFailure)):
            await reply(ctx, "You can't use that here.", ephemeral=True)
        elif isinstance(error, discord.Forbidden):
            refused(ctx, error.text or str(error.status))
        elif report(error, f"command {ctx.command.qualified_name if ctx.command else '?'}", ctx.channel.id):
            await apologise(ctx)


async def setup(bot: AnswerBot) -> None:
    await bot.add_cog(Errors(bot))
