"""`!reload`: the operator re-reads the corpus without a restart."""

from __future__ import annotations

import asyncio
import logging

from discord.ext import commands

from bot.discord_bot import render
from bot.discord_bot.client import AnswerBot, load_engine
from bot.discord_bot.replies import Context, reply, typing_indicator
from bot.discord_bot.serving import Serving
from bot.discord_bot.text import clip, escape, plural
from bot.memory import trim
from bot.search.read.corpus import CorpusError

log = logging.getLogger(__name__)


class Reload(commands.Cog):
    def __init__(self, bot: AnswerBot) -> None:
        self.bot = bot
        self._reloading = asyncio.Lock()

    @commands.command(name="reload", hidden=True, extras={"example": "reload"})
    @commands.is_owner()
    async def reload(self, ctx: Context) -> None:
        """Re-read the corpus folder; if it fails, the current articles keep serving."""
        if self._reloading.locked():
            await reply(ctx, "A reload is already running; wait for it to finish.")
            return
        async with self._reloading, typing_indicator(ctx):
            was = len(self.bot.engine.sources())  # the count only: the old engine must be free to go
            folder = self.bot.settings.corpus_dir
            try:
                serving = await asyncio.to_thread(lambda: Serving.of(load_engine(self.bot.settings)))
            except (CorpusError, OSError) as error:
                log.warning("Reload of %s failed; still serving the previous index: %s", folder, error)
                await reply(
                    ctx,
                    clip(
                        f"Reload failed, so I'm still answering from the previous "
                        f"{plural(was, 'article')}.\nWhy: {error}",
                        render.CONTENT_LIMIT,
                    ),
                )
                return
            self.bot.serving = serving
        await asyncio.to_thread(trim)  # what the old engine and the build held goes back to the system
        engine = serving.engine
        log.info(
            "Reloaded %s: %d articles (was %d); %s", folder, len(engine.sources()), was, engine.semantic_status.signals
        )
        for warning in engine.warnings:
            log.warning("%s", warning)
        lines = [
            f"Reloaded: {plural(len(engine.sources()), 'article')} "
            f"(was {was}), {plural(len(engine.warnings), 'warning')}."
        ]
        lines += [f"- {escape(warning)}" for warning in engine.warnings[:5]]
        await reply(ctx, clip("\n".join(lines), render.CONTENT_LIMIT))


async def setup(bot: AnswerBot) -> None:
    await bot.add_cog(Reload(bot))
