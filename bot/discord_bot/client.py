"""The bot: a small-footprint discord.py client that holds one engine and swaps it whole on reload."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
import yarl
from discord.ext import commands, tasks

from bot.config import AUTO_SHARDS, Settings, SettingsError
from bot.discord_bot.failures import CannotReply, ChannelNotAllowed, Restarting
from bot.discord_bot.feedback import FeedbackLog
from bot.discord_bot.file_worker import FileWorker
from bot.discord_bot.inflight import InFlight
from bot.discord_bot.replies import can_reply
from bot.discord_bot.serving import Serving
from bot.discord_bot.stats import Stats
from bot.discord_bot.views import DYNAMIC_ITEMS
from bot.health import write_heartbeat
from bot.progress import Lines
from bot import factory
from bot.search.engine import Engine

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.discord_bot.exts.ask",
    "bot.discord_bot.exts.sources",
    "bot.discord_bot.exts.help",
    "bot.discord_bot.exts.reload",
    "bot.discord_bot.exts.sync",
    "bot.discord_bot.exts.stats",
    "bot.discord_bot.exts.errors",
)
HEARTBEAT_SECONDS = 30.0  # well inside bot.health's 90 s default, so one late write is no alarm
# A gateway connection silent for this long is a zombie: close it and resume (discord.py's default;
# Discord's heartbeat interval is about 41 s). Tests pass a short one to see it happen.
GATEWAY_SILENCE_TIMEOUT = 60.0
DISCORD_API_BASE = discord.http.Route.BASE
DISCORD_GATEWAY = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def intents_for(settings: Settings) -> discord.Intents:
    """Only what answering needs: guilds (channels, permissions), messages, and content if asked for."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = settings.message_content
    return intents


def check_endpoints(api_base: str | None, gateway_url: str | None) -> None:
    """Raise SettingsError unless the API base is http(s) and the gateway ws(s) (None means Discord's)."""
    if api_base is not None and not api_base.startswith(("http://", "https://")):
        raise SettingsError(
            f"DISCORD_API_BASE={api_base!r} is not an http(s) URL; use e.g. http://127.0.0.1:8080/api/v10"
        )
    if gateway_url is not None and not gateway_url.startswith(("ws://", "wss://")):
        raise SettingsError(
            f"DISCORD_GATEWAY_URL={gateway_url!r} is not a ws(s) URL; use e.g. ws://127.0.0.1:8080/gateway"
        )


def use_endpoints(api_base: str | None, gateway_url: str | None) -> None:
    """Point discord.py at another Discord-compatible server, or back at Discord when None.

    discord.py keeps these addresses in class attributes, so this affects every client in the process.
    """
    check_endpoints(api_base, gateway_url)
    discord.http.Route.BASE = api_base.rstrip("/") if api_base else DISCORD_API_BASE
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url) if gateway_url else DISCORD_GATEWAY


def load_engine(settings: Settings, later: factory.Later | None = None) -> Engine:
    """Build the engine from the corpus folder (slow for big corpora: call it in a thread); see factory.load_engine for `later`."""
    return factory.load_engine(settings, progress=Lines(lambda line: log.info("Building the index: %s", line)), later=later)


def in_allowed_channel(settings: Settings, channel: object) -> bool:
    """True where the bot may answer: everywhere when no channels are set, always in DMs and their threads."""
    if not settings.allowed_channels or getattr(channel, "guild", None) is None:
        return True
    ids = {getattr(channel, "id", None), getattr(channel, "parent_id", None)}
    return not settings.allowed_channels.isdisjoint(ids)


class AnswerBot(commands.Bot):
    """The corpus-answering bot; `serving` (the engine and its corpus version) is replaced whole by `!reload`."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        *,
        guild_ready_timeout: float = 2.0,
        heartbeat_timeout: float = GATEWAY_SILENCE_TIMEOUT,
        **sharding: Any,
    ) -> None:
        # The bot has no voice features: spare operators discord.py's warnings about voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned_or(settings.prefix),
            intents=intents_for(settings),
            help_command=None,
            allowed_mentions=discord.AllowedMentions.none(),
            max_messages=None,
            member_cache_flags=discord.MemberCacheFlags.none(),
            chunk_guilds_at_startup=False,
            owner_ids=set(settings.owner_ids),
            case_insensitive=True,
            strip_after_prefix=True,
            guild_ready_timeout=guild_ready_timeout,
            heartbeat_timeout=heartbeat_timeout,
            **sharding,
        )
        self.settings = settings
        self.serving = Serving.of(engine)
        self.feedback = FeedbackLog(settings.feedback_file)
        self._health_writer = FileWorker("heartbeat", backlog=2)
        # Channels where Discord refused a reply: logged once, then quiet until a reply gets through.
        self.refused_channels: set[int] = set()
        self.in_flight = InFlight()
        self.stats = Stats()
        self.add_check(self._taking_questions)
        self.add_check(self._allowed_here)
        self.add_check(self._can_reply_here)

    @property
    def engine(self) -> Engine:
        return self.serving.engine

    @property
    def connected(self) -> bool:
        """Whether the gateway connection is open (for a sharded bot: every shard this process runs)."""
        return self.ws is not None and self.ws.open

    @property
    def gateway_reached(self) -> bool:
        """Whether a gateway connection ever opened: a failure before that is a failure to connect at all."""
        return self.ws is not None

    def shard_summary(self) -> str:
        """Which shards this process runs, for /stats; "" when the bot does not shard."""
        return ""

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        if self.settings.health_file is not None:
            self._heartbeat.start()
        if self.settings.message_content:
            log.info(
                "Requesting the message-content intent: it must be switched on in the developer portal "
                "(Bot → Privileged Gateway Intents → Message Content Intent) or Discord refuses the connection"
            )
        else:
            log.info(
                "Message-content intent is off: slash commands, mentions, replies that ping me and DMs work. "
                "For %sask and answer channels, switch on Bot → Privileged Gateway Intents → Message Content "
                "Intent in the developer portal and set MESSAGE_CONTENT_INTENT=true",
                self.settings.prefix,
            )

    async def on_ready(self) -> None:
        log.info(
            "Connected as %s (id %s) to %d servers; serving %d articles",
            self.user,
            self.user.id if self.user else "?",
            len(self.guilds),
            len(self.engine.sources()),
        )

    async def close(self) -> None:
        # stop() as well as cancel(): Python 3.11's wait_for can swallow a cancellation that arrives just as
        # the heartbeat write finishes, and the loop would then run on after close.
        self._heartbeat.stop()
        self._heartbeat.cancel()
        await super().close()
        heartbeat = self._heartbeat.get_task()
        if heartbeat is not None:
            await asyncio.wait({heartbeat}, timeout=1.0)

    @tasks.loop(seconds=HEARTBEAT_SECONDS)
    async def _heartbeat(self) -> None:
        """Rewrite HEALTH_FILE while connected: a closed gateway or a stuck event loop lets it go stale."""
        path = self.settings.health_file
        if not self.connected or not self.is_ready() or path is None:
            return
        try:
            await self._health_writer.run(lambda: write_heartbeat(path), timeout=HEARTBEAT_SECONDS)
        except OSError as error:
            log.warning("Cannot write the heartbeat file %s: %s", self.settings.health_file, error)

    @_heartbeat.before_loop
    async def _before_heartbeat(self) -> None:
        await self.wait_until_ready()

    def admit_work(self) -> None:
        """Count the current task as work in flight, or raise Restarting once the bot is stopping."""
        if not self.in_flight.admit():
            raise Restarting()

    async def check_channel(self, user: discord.abc.User, channel: object) -> None:
        """Raise ChannelNotAllowed outside ALLOWED_CHANNELS, unless `user` is an owner (they may ask anywhere)."""
        if not in_allowed_channel(self.settings, channel) and not await self.is_owner(user):
            raise ChannelNotAllowed(self.settings.allowed_channels)

    async def admit_interaction(self, interaction: discord.Interaction[AnswerBot]) -> None:
        """The global checks, for app commands that are not hybrid (discord.py applies them to commands only)."""
        self.admit_work()
        await self.check_channel(interaction.user, interaction.channel)

    async def _taking_questions(self, ctx: commands.Context[AnswerBot]) -> bool:
        """Global check, first: counts the command as work in flight, or refuses it once the bot is stopping."""
        self.admit_work()
        return True

    async def _allowed_here(self, ctx: commands.Context[AnswerBot]) -> bool:
        """Global check: commands work only in ALLOWED_CHANNELS (owners may use them anywhere)."""
        await self.check_channel(ctx.author, ctx.channel)
        return True

    async def _can_reply_here(self, ctx: commands.Context[AnswerBot]) -> bool:
        """Global check: skip commands where the bot may not post, rather than collect 403s from Discord."""
        if can_reply(ctx):
            return True
        raise CannotReply("missing the Send Messages permission")


class ShardedAnswerBot(AnswerBot, commands.AutoShardedBot):
    """The same bot on discord.py's AutoShardedBot: one gateway connection per shard, SHARD_IDS of them here.

    AnswerBot's methods come first and AutoShardedBot's client next (commands.Bot adds nothing of its
    own), so everything above runs over discord.py's shard manager.
    """

    def __init__(self, settings: Settings, engine: Engine, **options: Any) -> None:
        count = settings.shard_count
        super().__init__(
            settings,
            engine,
            shard_count=None if count == AUTO_SHARDS else count,  # None: ask Discord how many
            shard_ids=list(settings.shard_ids) or None,
            **options,
        )

    async def on_shard_ready(self, shard_id: int) -> None:
        log.info("Shard %d of %s connected", shard_id, self.shard_count)

    @property
    def connected(self) -> bool:
        return bool(self.shards) and not any(shard.is_closed() for shard in self.shards.values())

    @property
    def gateway_reached(self) -> bool:
        return bool(self.shards)

    def shard_summary(self) -> str:
        ids = ", ".join(str(shard) for shard in sorted(self.shards))
        return f"{ids} of {self.shard_count} in this process (the counts above are this process's)"


def make_bot(settings: Settings, engine: Engine, **options: Any) -> AnswerBot:
    """The bot the settings ask for: sharded when SHARD_COUNT is set, one connection otherwise."""
    if settings.shard_count is None:
        return AnswerBot(settings, engine, **options)
    return ShardedAnswerBot(settings, engine, **options)
