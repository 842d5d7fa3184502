"""One way to answer a command: a reply that never pings, and plain text where embeds are not allowed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.discord_bot import render

if TYPE_CHECKING:
    from bot.discord_bot.client import AnswerBot

Context = commands.Context["AnswerBot"]


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
    if ctx.interaction is None:
        reference = ctx.message.to_reference(fail_if_not_exists=False)
        return await ctx.send(content, embed=embed, reference=reference, mention_author=False, **extra)
    return await ctx.send(content, embed=embed, ephemeral=ephemeral, **extra)
