"""`/stats` (operators only): how the bot is doing since it started, privately to whoever asked."""

from __future__ import annotations

from discord import app_commands
from discord.ext import commands

from bot.discord_bot import render
from bot.discord_bot.client import AnswerBot
from bot.discord_bot.replies import Context, reply, typing_indicator
from bot.discord_bot.text import plural


class Stats(commands.Cog):
    def __init__(self, bot: AnswerBot) -> None:
        self.bot = bot

    @commands.hybrid_command(name="stats", hidden=True, extras={"example": "stats"})
    @app_commands.default_permissions(manage_guild=True)  # listed for server managers; operators are checked below
    @commands.is_owner()
    async def stats(self, ctx: Context) -> None:
        """How I am doing since I started: answers, abstentions, latency, votes, articles, uptime and model."""
        async with typing_indicator(ctx, ephemeral=True):
            votes = await self._votes()
        engine = self.bot.engine
        articles = engine.sources()
        report = render.StatsReport(
            snapshot=self.bot.stats.snapshot(),
            votes=votes,
            articles=len(articles),
            sentences=sum(article.sentence_count for article in articles),
            model=engine.semantic_status.model_line,
            shards=self.bot.shard_summary(),
        )
        await reply(ctx, embed=render.stats_embed(report), ephemeral=True)

    async def _votes(self) -> str:
        """👍/👎 as `bot feedback` counts them, or why they cannot be counted."""
        path = self.bot.feedback.path
        try:
            summary = await self.bot.feedback.summary()
        except FileNotFoundError:
            return "none yet"
        except OSError as error:
            return f"cannot read {path}: {error.strerror or error}"
        up = sum(rating.up for rating in summary.ratings)
        down = sum(rating.down for rating in summary.ratings)
        skipped = f" ({plural(len(summary.notes), 'damaged line')} skipped)" if summary.notes else ""
        return f"👍 {up:,} · 👎 {down:,} on {plural(len(summary.ratings), 'answer')}{skipped}"


async def setup(bot: AnswerBot) -> None:
    await bot.add_cog(Stats(bot))
