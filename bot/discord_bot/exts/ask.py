"""Answering questions: `!ask`, `/ask`, mentions, replies to the bot, DMs and answer channels."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot import failures, render
from bot.discord_bot.backlog import SEARCH_THREADS, SearchTimes
from bot.discord_bot.client import AnswerBot, in_allowed_channel
from bot.discord_bot.failures import Busy, CannotReply, Interaction, Restarting
from bot.discord_bot.feedback import user_hash
from bot.discord_bot.replies import Context, can_reply, reply, typing_indicator
from bot.discord_bot.serving import Serving
from bot.discord_bot.text import clip
from bot.discord_bot.views import answer_view
from bot.search.engine import Answer

log = logging.getLogger(__name__)

CONVERSATION_TYPES = (discord.MessageType.default, discord.MessageType.reply)
MENU_NAME = "Ask the articles"
# Answered by the shipped articles (a test keeps it so): the example `!help` shows must work on a fresh install.
EXAMPLE_QUESTION = "who invested $13 billion?"
NO_TEXT = "That message has no text for me to look up. Ask with `/ask` instead."
# Questions waiting for a search (or in one) before newcomers are told to come back: the queue a
# flood would otherwise grow without bound. bench/discord_load.py, semantic signal on, 2 busy cores:
# 50 questions/s each with a new word are answered at p50 15-19 ms with RSS flat at 186-189 MB;
# 100/s outgrows the searches, and the queue had added 85 MB and 11 s of wait after 40 s; with
# this bound RSS levelled at 259 MB over 12,000 questions (before the reranker). With the reranker a
# burst of 1,000 is answered within 37 s (27/s, RSS peak 296 MB), so 2,000 waiting is about 75 s of work:
# MAX_ANSWER_DELAY (bot/config.py) refuses newcomers long before that when searches are that slow.
MAX_WAITING = 2000


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
    """Every way of asking ends in `answer`, so they all behave the same.

    Asking on purpose (`!ask`, `/ask`, a mention, a reply to the bot, a DM, the message menu) always
    gets a reply: the answer, "I couldn't find that", or the cooldown notice. In an answer channel
    people also chat, so a message there gets a reply only when the articles answer it, and neither
    chatter nor a question over the cooldown is told anything.
    """

    def __init__(self, bot: AnswerBot) -> None:
        self.bot = bot
        settings = bot.settings
        self._questions: commands.CooldownMapping[int] | None = None
        self._notices: commands.CooldownMapping[int] | None = None
        if settings.cooldown_seconds > 0:
            per = settings.cooldown_seconds
            self._questions = commands.CooldownMapping.from_cooldown(settings.cooldown_questions, per, _by_user_id)
            self._notices = commands.CooldownMapping.from_cooldown(1, per, _by_user_id)
        self._menu = app_commands.ContextMenu(name=MENU_NAME, callback=self.ask_about_message)
        self._waiting = 0
        self._searches = ThreadPoolExecutor(SEARCH_THREADS, thread_name_prefix="search")
        self._search_times = SearchTimes()
        self._now = discord.utils.utcnow
        self._swamped = False  # refusing newcomers since the last time the queue fell to half (by count and lateness)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self._menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self._menu.name, type=self._menu.type)
        self._searches.shutdown(wait=False, cancel_futures=True)

    @commands.hybrid_command(name="ask", usage="<question>", extras={"example": f"ask {EXAMPLE_QUESTION}"})
    @app_commands.describe(
        question="What you want to know, in your own words", private="Show the answer to you alone (default: no)"
    )
    async def ask(self, ctx: Context, *, question: str, private: bool = False) -> None:
        """Answer a question with the best sentences from the articles.

        With /ask, `private: True` shows the answer to you alone.
        """
        via = "slash" if ctx.interaction else "prefix"
        await self.answer(ctx, question, via=via, asker=ctx.author, private=private and ctx.interaction is not None)

    async def ask_about_message(self, interaction: Interaction, message: discord.Message) -> None:
        """Right-click a message → Apps → Ask the articles: answers its text to the one who asked, alone."""
        await self.bot.admit_interaction(interaction)
        question = message.content.strip()
        if not question:
            await interaction.response.send_message(NO_TEXT, ephemeral=True)
            return
        ctx = await self.bot.get_context(interaction)
        await self.answer(ctx, question, via="menu", asker=interaction.user, private=True)

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
            self.bot.admit_work()
            if question:
                await self.answer(ctx, question, via=via, asker=message.author)
            elif via != "channel":
                await reply(ctx, self._hint())
        except Exception as error:
            await failures.handle(ctx, error, f"answering a {via} question")

    async def answer(
        self, ctx: Context, question: str, *, via: str, asker: discord.abc.User, private: bool = False
    ) -> None:
        """Search in a worker thread and reply with the answer (to `asker` alone when `private`)."""
        started = time.perf_counter()
        serving = self.bot.serving
        if via == "channel":
            try:
                answer, predicted_s, search_started = await self._search(serving, question, ctx.message.created_at)
            except (Busy, Restarting):
                return  # chatter or not, a message in an answer channel is left alone when the bot is swamped or stopping
            if answer.abstained:
                self.bot.stats.record_chatter()
                log.debug("No answer in the articles for a message in answer channel %s; left it alone", ctx.channel.id)
                return
            if await self._cooling_down(ctx, asker, notify=False):
                log.debug("An answer in answer channel %s is over its asker's cooldown; left it alone", ctx.channel.id)
                return
        else:
            if await self._cooling_down(ctx, asker, notify=True):
                return
            async with typing_indicator(ctx, ephemeral=private):
                answer, predicted_s, search_started = await self._search(serving, question, ctx.message.created_at)
        await self._deliver(ctx, answer, serving, private=private)
        self._search_times.replied(search_started)
        latency_ms = (time.perf_counter() - started) * 1000
        self.bot.stats.record(abstained=answer.abstained, latency_ms=latency_ms)
        log.info(
            "answered user=%s via=%s abstained=%s hits=%d search_ms=%.1f latency_ms=%.0f late_s=%.1f predicted_s=%.1f",
            user_hash(asker.id),
            via,
            answer.abstained,
            len(answer.hits),
            answer.elapsed_ms,
            latency_ms,
            self._age_s(ctx.message.created_at),
            predicted_s,
        )

    async def _search(self, serving: Serving, question: str, asked_at: datetime) -> tuple[Answer, float, float]:
        """The engine's answer from a search thread, how late it was predicted to be, and when its search
        started (SearchTimes.now). Busy when MAX_WAITING questions are already waiting, or when the answer
        would be more than MAX_ANSWER_DELAY seconds late (see `_timed_search` for the second look).

        How late counts from `asked_at`, when Discord took the question: an event loop that has fallen
        behind (searches in threads take its CPU) makes a question late before it reaches this line.
        """
        limit = self.bot.settings.max_answer_delay
        late = self._age_s(asked_at) + self._search_times.delay_s(self._waiting)
        if self._waiting >= MAX_WAITING or (limit and late > limit):
            if not self._swamped:
                log.warning(
                    "%d questions are waiting for a search (a new one would be answered in about %.0f s); "
                    "telling newcomers to ask again later",
                    self._waiting,
                    late,
                )
                self._swamped = True
            raise Busy()
        if self._swamped and self._waiting <= MAX_WAITING // 2 and not (limit and late > limit / 2):
            log.info("Caught up: %d questions waiting for a search; taking new ones again", self._waiting)
            self._swamped = False
        self._waiting += 1
        try:
            loop = asyncio.get_running_loop()
            answer, started = await loop.run_in_executor(self._searches, self._timed_search, serving, question, asked_at)
            return answer, late, started
        finally:
            self._waiting -= 1

    def _timed_search(self, serving: Serving, question: str, asked_at: datetime) -> tuple[Answer, float]:
        """In a search thread: the answer, and when its search started.

        The threads take the next question themselves, not through the event loop, which in a flood is
        busy receiving and refusing questions. Before searching, a second look: a question whose answer
        would now be over MAX_ANSWER_DELAY late (the searches slowed down after it was taken) gets Busy,
        and one that could not be answered before a stop's drain ends gets Restarting.
        """
        longest = self._search_times.longest_s()
        if not self.bot.in_flight.can_finish(longest):
            raise Restarting()
        limit = self.bot.settings.max_answer_delay
        if limit and self._age_s(asked_at) + longest > limit:
            raise Busy()
        started = self._search_times.now()
        return self._search_times.timed(serving.engine.ask, question, self.bot.settings.top_k), started

    def _age_s(self, asked_at: datetime) -> float:
        return max(0.0, (self._now() - asked_at).total_seconds())

    async def _deliver(self, ctx: Context, answer: Answer, serving: Serving, *, private: bool) -> None:
        article_count = len(serving.engine.sources())
        if answer.abstained:
            prefix = "/" if ctx.interaction else self.bot.settings.prefix
            await reply(ctx, render.abstention(article_count, prefix), ephemeral=private)
            return
        view = answer_view(answer, serving.version)
        embed = render.answer_embed(answer, article_count=article_count)
        text = render.answer_text(answer, article_count=article_count)
        thread = await self._thread_for(ctx, answer.question)
        if thread is None:
            await reply(ctx, embed=embed, text=text, view=view, ephemeral=private)
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

    async def _cooling_down(self, ctx: Context, asker: discord.abc.User, *, notify: bool) -> bool:
        """True when `asker` asked too often; if `notify`, they are told so (once per window, or each slash use)."""
        if self._questions is None or self._notices is None:
            return False
        retry_after = self._questions.get_bucket(asker.id).update_rate_limit()  # type: ignore[union-attr]
        if retry_after is None:
            return False
        if not notify:
            return True
        first_notice = self._notices.get_bucket(asker.id).update_rate_limit() is None  # type: ignore[union-attr]
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


def _by_user_id(user_id: int) -> int:
    """Cooldown buckets are keyed by the asker's id (for the message menu, not the message's author)."""
    return user_id


async def setup(bot: AnswerBot) -> None:
    await bot.add_cog(Ask(bot))
