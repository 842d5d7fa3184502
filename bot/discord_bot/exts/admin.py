"""Operator commands: `!reload` re-reads the corpus without a restart, `!sync` publishes slash commands."""

from __future__ import annotations

import asyncio
import logging

import discord
from discord.ext import commands

from bot.discord_bot import render
from bot.discord_bot.client import AnswerBot, load_engine
from bot.discord_bot.replies import Context, reply, typing_indicator
from bot.discord_bot.serving import Serving
from bot.discord_bot.text import clip, escape, plural
from bot.search.corpus import CorpusError

log = logging.getLogger(__name__)


class Admin(commands.Cog):
    def __init__(self, bot: AnswerBot) -> None:
        self.bot = bot
        self._reloading = asyncio.Lock()

    async def cog_check(self, ctx: Context) -> bool:  # type: ignore[override]
        if not await self.bot.is_owner(ctx.author):
            raise commands.NotOwner("only owners may run operator commands")
        return True

    @commands.command(name="reload", hidden=True, extras={"example": "reload"})
    async def reload(self, ctx: Context) -> None:
        """Re-read the corpus folder; if it fails, the current articles keep serving."""
        if self._reloading.locked():
            await reply(ctx, "A reload is already running; wait for it to finish.")
            return
        async with self._reloading, typing_indicator(ctx):
            old = self.bot.engine
            folder = self.bot.settings.corpus_dir
            try:
                serving = await asyncio.to_thread(lambda: Serving.of(load_engine(self.bot.settings)))
            except (CorpusError, OSError) as error:
                log.warning("Reload of %s failed; still serving the previous index: %s", folder, error)
                await reply(
                    ctx,
                    clip(
                        f"Reload failed, so I'm still answering from the previous "
                        f"{plural(len(old.sources()), 'article')}.\nWhy: {error}",
                        render.CONTENT_LIMIT,
                    ),
                )
                return
            self.bot.serving = serving
        engine = serving.engine
        log.info("Reloaded %s: %d articles (was %d)", folder, len(engine.sources()), len(old.sources()))
        for warning in engine.warnings:
            log.warning("%s", warning)
        lines = [
            f"Reloaded: {plural(len(engine.sources()), 'article')} "
            f"(was {len(old.sources())}), {plural(len(engine.warnings), 'warning')}."
        ]
        lines += [f"- {escape(warning)}" for warning in engine.warnings[:5]]
        await reply(ctx, clip("\n".join(lines), render.CONTENT_LIMIT))

    @commands.command(name="sync", hidden=True, extras={"example": "sync here"})
    async def sync(self, ctx: Context, scope: str = "global") -> None:
        """Publish the slash commands: `global` (every server) or `here` (this server, at once)."""
        if scope not in {"global", "here"}:
            raise commands.BadArgument("scope must be global or here")
        guild: discord.abc.Snowflake | None = None
        if scope == "here":
            if ctx.guild is None:
                await reply(ctx, "`here` only works in a server; use it there, or sync globally.")
                return
            guild = ctx.guild
            self.bot.tree.copy_global_to(guild=ctx.guild)
        synced = await self.bot.tree.sync(guild=guild)
        where = "to this server" if guild else "globally (Discord may take a few minutes to show them)"
        log.info("Synced %d slash commands %s", len(synced), "to guild %s" % guild.id if guild else "globally")
        await reply(ctx, f"Synced {plural(len(synced), 'slash command')} {where}.")


async def setup(bot: AnswerBot) -> None:
    await bot.add_cog(Admin(bot))
