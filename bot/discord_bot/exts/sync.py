"""`!sync`: the operator publishes the slash commands and the message menu to Discord, or takes them back.

Discord lists a server's own copy of a command beside the global one, so a command published both
ways shows twice there. Every reply therefore ends with what people in that server now see, and
says how to get back to each command once.
"""

from __future__ import annotations

import logging
from collections import Counter

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot.client import AnswerBot
from bot.discord_bot.replies import Context, reply
from bot.discord_bot.text import plural

log = logging.getLogger(__name__)

# What the operator may ask for, and what each does. There is no "this server's own commands" choice apart
# from `here`: the bot declares none for one server alone, so publishing them would publish nothing.
CHOICES = {
    "global": "publish the commands to every server (Discord may take a few minutes to show them)",
    "here": "copy the commands to this server only: they appear at once (also `copy`)",
    "clear": "remove this server's copies (the global commands stay)",
    "clear global": "remove the global commands (this server's copies stay)",
}
SYNONYMS = {"copy": "here"}
IN_A_SERVER = {"here", "clear"}


class Sync(commands.Cog):
    def __init__(self, bot: AnswerBot) -> None:
        self.bot = bot

    @commands.command(
        name="sync",
        hidden=True,
        usage="[global|here|clear|clear global]",
        extras={"example": "sync here", "choices": CHOICES},
    )
    @commands.is_owner()
    async def sync(self, ctx: Context, *, choice: str = "global") -> None:
        """Publish the slash commands: everywhere, here only (at once), or remove them."""
        choice = " ".join(choice.lower().split())
        choice = SYNONYMS.get(choice, choice)
        if choice not in CHOICES:
            raise commands.BadArgument(f"{choice!r} is not one of: {', '.join(CHOICES)}")
        guild = ctx.guild
        if choice in IN_A_SERVER and guild is None:
            await reply(ctx, f"`{choice}` only works in a server; use it there, or `{ctx.clean_prefix}sync` for every server.")
            return
        tree = self.bot.tree
        if choice == "global":
            done = f"Published {plural(len(await tree.sync()), 'command')} to every server."
        elif choice == "here":
            assert guild is not None
            tree.copy_global_to(guild=guild)
            done = f"Copied {plural(len(await tree.sync(guild=guild)), 'command')} to this server."
        elif choice == "clear":
            assert guild is not None
            tree.clear_commands(guild=guild)
            await tree.sync(guild=guild)
            done = "Removed this server's copies."
        else:
            # Straight to the API: clearing the tree's global commands would also stop them answering here.
            await self.bot.http.bulk_upsert_global_commands(self.bot.application_id, payload=[])  # type: ignore[arg-type]
            done = "Removed the global commands."
        log.info("sync %s: %s", choice, done)
        await reply(ctx, f"{done} {await self._what_people_see(ctx)}")

    async def _what_people_see(self, ctx: Context) -> str:
        """The commands in this server's picker (or everywhere, in a DM), and the fix when any shows twice."""
        published = await self.bot.tree.fetch_commands()
        if ctx.guild is not None:
            published += await self.bot.tree.fetch_commands(guild=ctx.guild)
        where = "here" if ctx.guild is not None else "in servers without their own copies"
        if not published:
            return f"People {where} now see no commands; `{ctx.clean_prefix}sync` publishes them."
        counts = Counter(_label(command) for command in published)
        listing = ", ".join(f"{name} ×{count}" if count > 1 else name for name, count in sorted(counts.items()))
        seen = f"People {where} now see: {listing}."
        if max(counts.values()) > 1:
            prefix = ctx.clean_prefix
            seen += (
                f" Commands published both globally and to this server show twice: `{prefix}sync clear` keeps"
                f" the global ones, `{prefix}sync clear global` keeps this server's."
            )
        return seen


def _label(command: app_commands.AppCommand) -> str:
    return f"/{command.name}" if command.type is discord.AppCommandType.chat_input else f"“{command.name}” (Apps menu)"


async def setup(bot: AnswerBot) -> None:
    await bot.add_cog(Sync(bot))
