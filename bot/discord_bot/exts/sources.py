"""`!sources` (the article list, a page at a time) and `!source N` (one article)."""

from __future__ import annotations

from discord import app_commands
from discord.ext import commands

from bot.discord_bot import render
from bot.discord_bot.client import AnswerBot
from bot.discord_bot.replies import Context, reply
from bot.discord_bot.views import sources_view


class Sources(commands.Cog):
    def __init__(self, bot: AnswerBot) -> None:
        self.bot = bot

    @commands.hybrid_command(name="sources", extras={"example": "sources"})
    @app_commands.describe(page="Which page of the list (10 articles a page)")
    async def sources(self, ctx: Context, page: commands.Range[int, 1, 100_000] = 1) -> None:
        """List the articles I answer from, 10 a page."""
        articles = self.bot.engine.sources()
        shown = render.page_of(articles, page)
        embed = render.sources_embed(shown, total=len(articles), prefix=self.bot.settings.prefix)
        await reply(ctx, embed=embed, view=sources_view(shown))

    @commands.hybrid_command(name="source", extras={"example": "source 2"})
    @app_commands.describe(number="The article's number, as shown by sources")
    async def source(self, ctx: Context, number: int) -> None:
        """Show one article's details and its opening lines."""
        engine = self.bot.engine
        article = engine.article(number)
        if article is None:
            total = len(engine.sources())
            await reply(ctx, render.missing_source(number, total, self.bot.settings.prefix), ephemeral=True)
            return
        await reply(ctx, embed=render.source_embed(article, engine.opening(number)))


async def setup(bot: AnswerBot) -> None:
    await bot.add_cog(Sources(bot))
