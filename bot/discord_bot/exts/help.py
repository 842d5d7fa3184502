"""`!help`: every command with an example; operator commands only for operators."""

from __future__ import annotations

from discord.ext import commands

from bot.discord_bot import render
from bot.discord_bot.client import AnswerBot
from bot.discord_bot.replies import Context, reply


def command_help(command: commands.Command[object, ..., object], prefix: str) -> render.CommandHelp:
    usage = f"{prefix}{command.qualified_name} {command.signature}".strip()
    summary = (command.help or "").strip().split("\n", 1)[0]
    return render.CommandHelp(usage, summary, f"{prefix}{command.extras.get('example', command.name)}")


class Help(commands.Cog):
    def __init__(self, bot: AnswerBot) -> None:
        self.bot = bot

    @commands.hybrid_command(name="help", extras={"example": "help"})
    async def help(self, ctx: Context) -> None:
        """Show what I can do, with examples."""
        operator = await self.bot.is_owner(ctx.author)
        shown = sorted((c for c in self.bot.commands if operator or not c.hidden), key=lambda c: (c.hidden, c.name))
        prefix = self.bot.settings.prefix
        entries = [command_help(command, prefix) for command in shown]
        name = self.bot.user.name if self.bot.user else "bot"
        await reply(ctx, embed=render.help_embed(entries, prefix=prefix, bot_name=name), ephemeral=True)


async def setup(bot: AnswerBot) -> None:
    await bot.add_cog(Help(bot))
