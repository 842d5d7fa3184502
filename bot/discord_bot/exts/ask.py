"""Answering questions: `!ask`, `/ask`, mentions, replies to the bot, DMs and answer channels."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot import failures, render
from bot.discord_bot.client import AnswerBot, in_allowed_channel
from bot.discord_bot.failures import CannotReply, Restarting
from bot.discord_bot.feedback import user_hash
from bot.discord_bot.replies import Context, can_reply, reply, typing_indicator
from bot.discord_bot.serving import Serving
from bot.discord_bot.text import clip
from bot.discord_bot.views import answer_view
from bot.search.engine import Answer

log = logging.getLogger(__name__)

CONVERSATION_TYPES = (discord.MessageType.default, discord.MessageType.reply)


def addressed_question(message: discord.Message, me: int, answer_channels: frozenset[int]) -> tuple[str, str] | None:
    """(how the bot was addressed, the question) when a message is meant for the bot, else None.

    The question is the text with the bot's mentions removed; it may be empty.
    """
    mention = re.compile(rf"<@!?{me}>")
    text = mention.sub(" ", message.content).strip()
    if message.guild is None:
        return "dm", text
    if mention.search(message.content):
        return "mention", text
    replied = message.reference.resolved if message.reference else None
    if isinstance(replied, discord.Message) and replied.author.id == me:
        return "reply", text
    if any(user.id == me for user in message.mentions):
        return "mention", text
    channel_ids = {message.channel.id, getattr(message.channel, "parent_id", None)}
    if not answer_channels.isdisjoint(channel_ids):
        return "channel", text
    return None


class Ask(commands.Cog):
    """Every way of asking ends in `answer`, so they all behave the same."""

    def __init__(self, bot: AnswerBot) -> None:
        self.bot = bot
        settings = bot.settings
        self._questions: commands.CooldownMapping[discord.Message] | None = None
        self._notices: commands.CooldownMapping[discord.Message] | None = None
        if settings.cooldown_seconds > 0:
            per, user = settings.cooldown_seconds, commands.BucketType.user
            self._questions = commands.CooldownMapping.from_cooldown(settings.cooldown_questions, per, user)
            self._notices = commands.CooldownMapping.from_cooldown(1, per, user)

    @commands.hybrid_command(name="ask", extras={"example": "ask when was the lighthouse finished?"})
    @app_commands.describe(question="What you want to know, in your own words")
    async def ask(self, ctx: Context, *, question: str) -> None:
        """Answer a question with the best sentences from the articles."""
        await self.answer(ctx, question, via="slash" if ctx.interaction else "prefix")

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """Mentions, replies to the bot, DMs and answer-channel messages are questions too."""
        if message.author.bot or self.bot.user is None or message.type not in CONVERSATION_TYPES:
            return
        addressed = addressed_question(message, self.bot.user.id, self.bot.settings.answer_channels)
        if addressed is None or not in_allowed_channel(self.bot.settings, message.channel):
            return
        ctx = await self.bot.get_context(message)
        if ctx.valid:
            return  # a command such as `@Bot sources`: the command handles it
        via, question = addressed
        try:
            if not can_reply(ctx):
                raise CannotReply("missing the Send Messages permission")
            if not self.bot.in_flight.admit():
                raise Restarting()
            if question:
                await self.answer(ctx, question, via=via)
            elif via != "channel":
                await reply(ctx, self._hint())
        except Exception as error:
            await failures.handle(ctx, error, f"answering a {via} question")

    async def answer(self, ctx: Context, question: str, *, via: str) -> None:
        """Search in a worker thread under a typing indicator and reply with the answer."""
        started = time.perf_counter()
        if await self._cooling_down(ctx):
            return
        serving = self.bot.serving
        async with typing_indicator(ctx):
            answer = await asyncio.to_thread(serving.engine.ask, question, self.bot.settings.top_k)
        await self._deliver(ctx, answer, serving)
        log.info(
            "answered user=%s via=%s abstained=%s hits=%d search_ms=%.1f latency_ms=%.0f",
            user_hash(ctx.author.id),
            via,
            answer.abstained,
            len(answer.hits),
            answer.elapsed_ms,
            (time.perf_counter() - started) * 1000,
        )

    async def _deliver(self, ctx: Context, answer: Answer, serving: Serving) -> None:
        article_count = len(serving.engine.sources())
        if answer.abstained:
            prefix = "/" if ctx.interaction else self.bot.settings.prefix
            await reply(ctx, render.abstention(article_count, prefix))
            return
        view = answer_view(answer, serving.version)
        embed = render.answer_embed(answer, article_count=article_count)
        text = render.answer_text(answer, article_count=article_count)
        thread = await self._thread_for(ctx, answer.question)
        if thread is None:
            await reply(ctx, embed=embed, text=text, view=view)
        elif thread.permissions_for(thread.guild.me).embed_links:
            await thread.send(embed=embed, view=view)
        else:
            await thread.send(text, view=view)

    async def _thread_for(self, ctx: Context, question: str) -> discord.Thread | None:
        """A new public thread on the question when ANSWER_IN_THREAD is on and possible, else None."""
        if (
            not self.bot.settings.answer_in_thread
            or ctx.interaction is not None
            or not isinstance(ctx.channel, discord.TextChannel)
            or not ctx.bot_permissions.create_public_threads
        ):
            return None
        name = clip(" ".join(question.split()), 100) or "Question"
        try:
            return await ctx.message.create_thread(name=name, auto_archive_duration=1440)
        except discord.HTTPException as error:
            log.warning("Cannot start a thread in channel %s (%s); answering inline", ctx.channel.id, error)
            return None

    async def _cooling_down(self, ctx: Context) -> bool:
        """True (after telling the user once per window) when the user asked too often."""
        if self._questions is None or self._notices is None:
            return False
        retry_after = self._questions.get_bucket(ctx.message).update_rate_limit()  # type: ignore[union-attr]
        if retry_after is None:
            return False
        first_notice = self._notices.get_bucket(ctx.message).update_rate_limit() is None  # type: ignore[union-attr]
        if ctx.interaction is not None or first_notice:
            await reply(
                ctx,
                f"You're asking faster than I can keep up with. Try again in {max(1, round(retry_after))} s.",
                ephemeral=True,
            )
        return True

    def _hint(self) -> str:
        prefix = self.bot.settings.prefix
        return (
            f"Ask me a question after the mention, or use `{prefix}ask <question>`. "
            f"`{prefix}help` shows what I can do."
        )


async def setup(bot: AnswerBot) -> None:
    await bot.add_cog(Ask(bot))
