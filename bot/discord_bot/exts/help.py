"""`!help` and `/help`: what the bot does, every command with an example, or one command in full.

Built on discord.py's HelpCommand, which finds the command asked about (`!help ask`) and says so
when there is none; `/help command:ask` runs the very same help. Operator commands are listed, and
explained, to operators only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from discord import app_commands
from discord.ext import commands

from bot.discord_bot import render
from bot.discord_bot.client import AnswerBot
from bot.discord_bot.exts.ask import MENU_NAME
from bot.discord_bot.failures import Interaction
from bot.discord_bot.replies import Context, reply
from bot.discord_bot.text import clip, inert

AnyCommand = commands.Command[Any, ..., Any]


class AnswerHelp(commands.HelpCommand):
    context: Context

    def __init__(self) -> None:
        super().__init__(
            verify_checks=False,  # hidden commands are the operator's; showing them is decided by show_hidden
            command_attrs={
                "help": "Show what I can do, or how to use one command.",
                "usage": "[command]",
                "extras": {"example": "help ask"},
            },
        )

    async def prepare_help_command(self, ctx: Context, command: str | None = None, /) -> None:
        self.show_hidden = await ctx.bot.is_owner(ctx.author)
        await super().prepare_help_command(ctx, command)

    async def send_bot_help(self, mapping: Mapping[commands.Cog | None, list[AnyCommand]], /) -> None:
        listed = [command for commands_ in mapping.values() for command in commands_]
        await self._send_list(listed)

    async def send_cog_help(self, cog: commands.Cog, /) -> None:
        if not await self._send_list(cog.get_commands()):
            await self.send_error_message(self.command_not_found(cog.qualified_name))

    async def send_command_help(self, command: AnyCommand, /) -> None:
        if command.hidden and not self.show_hidden:
            await self.send_error_message(self.command_not_found(command.qualified_name))
            return
        embed = render.command_help_embed(self._entry(command), details=_details(command), choices=_choices(command))
        await reply(self.context, embed=embed, ephemeral=True)

    def command_not_found(self, string: str, /) -> str:
        return f"I have no command called “{inert(clip(string, 50))}”. `{self._prefix()}help` lists them all."

    def subcommand_not_found(self, command: AnyCommand, string: str, /) -> str:
        prefix = self._prefix()
        return f"`{prefix}{command.qualified_name}` takes no “{inert(clip(string, 50))}”. `{prefix}help {command.name}` shows how to use it."

    async def send_error_message(self, error: str, /) -> None:
        await reply(self.context, error, ephemeral=True)

    async def _send_list(self, listed: Sequence[AnyCommand]) -> bool:
        """The commands this person may see, with examples; False when there are none."""
        shown = await self.filter_commands(listed, sort=True, key=lambda c: (c.hidden, c.name))
        if not shown:
            return False
        bot = self.context.bot
        name = bot.user.name if bot.user else "bot"
        embed = render.help_embed(
            [self._entry(command) for command in shown], prefix=bot.settings.prefix, bot_name=name, menu=MENU_NAME
        )
        await reply(self.context, embed=embed, ephemeral=True)
        return True

    def _entry(self, command: AnyCommand) -> render.CommandHelp:
        """Usage and example as the person asked: slash forms in /help where there is one, prefix forms otherwise."""
        summary = (command.short_doc or "").strip()
        example = command.extras.get("example", command.name)
        slash = self.context.bot.tree.get_command(command.qualified_name)
        if self.context.interaction is not None and isinstance(slash, app_commands.Command):
            options = " ".join(p.name if p.required else f"[{p.name}]" for p in slash.parameters)
            return render.CommandHelp(f"/{slash.name} {options}".strip(), summary, f"/{example}")
        prefix = self.context.bot.settings.prefix
        return render.CommandHelp(f"{prefix}{command.qualified_name} {command.signature}".strip(), summary, f"{prefix}{example}")

    def _prefix(self) -> str:
        return "/" if self.context.interaction is not None else self.context.bot.settings.prefix


def _details(command: AnyCommand) -> str:
    """The command's help text after its first line."""
    return (command.help or "").strip().partition("\n")[2].strip()


def _choices(command: AnyCommand) -> Sequence[tuple[str, str]]:
    return tuple(command.extras.get("choices", {}).items())


class Help(commands.Cog):
    def __init__(self, bot: AnswerBot) -> None:
        self.bot = bot
        self._replaced = bot.help_command
        self._help = AnswerHelp()

    async def cog_load(self) -> None:
        self._help.cog = self
        self.bot.help_command = self._help

    async def cog_unload(self) -> None:
        self.bot.help_command = self._replaced

    @app_commands.command(name="help", description="Show what I can do, or how to use one command")
    @app_commands.describe(command="A command's name, such as ask")
    async def help_slash(self, interaction: Interaction, command: str | None = None) -> None:
        await self.bot.admit_interaction(interaction)
        ctx = await self.bot.get_context(interaction)
        runner = self._help.copy()  # discord.py's way: a fresh copy per use, so concurrent helps never share state
        runner.context = ctx
        await runner.command_callback(ctx, command=" ".join(command.split()) if command else None)


async def setup(bot: AnswerBot) -> None:
    await bot.add_cog(Help(bot))
