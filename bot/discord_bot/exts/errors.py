"""Routes every command's and app command's error to the one failure path, `failures.handle`."""

from __future__ import annotations

from discord import app_commands
from discord.ext import commands

from bot.discord_bot import failures
from bot.discord_bot.client import AnswerBot
from bot.discord_bot.replies import Context


class Errors(commands.Cog):
    def __init__(self, bot: AnswerBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        # Hybrid commands report through on_command_error; pure app commands (the context menu) through the tree.
        self._tree_handler = self.bot.tree.on_error
        self.bot.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]

    async def cog_unload(self) -> None:
        self.bot.tree.on_error = self._tree_handler  # type: ignore[method-assign]

    @commands.Cog.listener()
    async def on_command_error(self, ctx: Context, error: commands.CommandError) -> None:
        self.bot.in_flight.admit()  # discord.py runs this in a task of its own: a reply here is work in flight too
        name = ctx.command.qualified_name if ctx.command else "?"
        await failures.handle(ctx, error, f"command {name}")

    async def on_app_command_error(
        self, interaction: failures.Interaction, error: app_commands.AppCommandError
    ) -> None:
        self.bot.in_flight.admit()
        name = interaction.command.qualified_name if interaction.command else "?"
        await failures.handle(interaction, error, f"app command {name}")


async def setup(bot: AnswerBot) -> None:
    await bot.add_cog(Errors(bot))
