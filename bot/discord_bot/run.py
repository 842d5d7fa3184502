"""Entry points for `python -m bot run` and `python -m bot check`.

`run_bot` turns every way start-up can fail (no token, a rejected token, a missing privileged
intent, an unreachable server, a bad corpus) into one clear log line and an exit code, and
closes the bot cleanly on SIGTERM or SIGINT: new questions get a "restarting" reply, the ones in
flight get SHUTDOWN_GRACE seconds to be answered, then the connection closes. The exit codes tell systemd what to do
(deploy/corpus-bot.service restarts on failure, except after 2 and 78):

    0   stopped by SIGTERM or SIGINT
    1   transient trouble (no network, Discord unreachable or failing, a crash): restarting may help
    2   a configuration error (no token, a bad setting, an unusable corpus): fix the settings
    78  Discord refused the bot (a rejected token, disallowed or invalid intents): fix it in the
        developer portal or the settings (78 is EX_CONFIG in sysexits.h)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import aiohttp
import discord

from bot import factory
from bot.config import AUTO_SHARDS, Settings, SettingsError
from bot.discord_bot.client import (
    DISCORD_API_BASE,
    DISCORD_GATEWAY,
    AnswerBot,
    check_endpoints,
    intents_for,
    load_engine,
    make_bot,
    use_endpoints,
)
from bot.discord_bot.serving import Serving
from bot.discord_bot.text import plural
from bot.feedback_report import read_votes, summarise
from bot.progress import progress_to
from bot.search.engine import Engine
from bot.search.read.corpus import CorpusError
from bot.terminal import shown

log = logging.getLogger("bot")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_REFUSED = 78  # EX_CONFIG
# On SIGTERM the questions in flight get this long to be answered before the connection closes
# (a reply waiting out a rate limit is the slow case). Closing then takes about a second more, well
# inside the 20 s that deploy/corpus-bot.service (TimeoutStopSec) and docker-compose.yml
# (stop_grace_period) allow before SIGKILL; a test keeps the three in step.
SHUTDOWN_GRACE = 10.0
NO_TOKEN = (
    "No Discord token: set DISCORD_TOKEN in .env (copy .env.example) or in the environment. "
    "Get it from the developer portal: your application → Bot → Reset Token."
)
REJECTED_TOKEN = (
    "Discord rejected the token (401 Unauthorized). Copy a fresh one from the developer portal "
    "(your application → Bot → Reset Token) into DISCORD_TOKEN; it is the bot token, not the client secret."
)
MISSING_INTENT = (
    "Discord refused the message-content intent (close code 4014). Either switch on "
    "Bot → Privileged Gateway Intents → Message Content Intent in the developer portal, "
    "or set MESSAGE_CONTENT_INTENT=false (slash commands, mentions and DMs still work)."
)
INVALID_INTENTS = (
    "Discord refused the intents the bot asked for as invalid (close code 4013). "
    "This discord.py may be too old or too new for the gateway: reinstall the pinned version."
)


# Interaction tokens let anyone answer as the bot for 15 minutes. discord.py's DEBUG lines show them in
# raw gateway events ('token': '…') and in interaction and webhook URLs (/interactions/ID/TOKEN/…).
_INTERACTION_TOKENS = (
    (re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]+"""), r"\1********"),
    (re.compile(r"(/(?:interactions|webhooks)/\d+/)[^/\s?'\"]+"), r"\1********"),
)


class RedactingFormatter(logging.Formatter):
    """Formats records, masks the bot token and interaction tokens wherever they appear (tracebacks included),
    and shows control characters from questions or file names as escapes instead of passing them to the terminal."""

    def __init__(self, fmt: str, secret: str) -> None:
        super().__init__(fmt)
        self._secret = secret

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if self._secret:
            text = text.replace(self._secret, "********")
        for pattern, masked in _INTERACTION_TOKENS:
            text = pattern.sub(masked, text)
        return shown(text)


def setup_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Timestamped lines on stderr at LOG_LEVEL; replaces any handler an earlier call installed."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name("bot")
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)-8s %(name)s: %(message)s", settings.token.value)
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "bot"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)


def run_bot(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT; return the process exit code (see the module's docstring)."""
    setup_logging(settings)
    if not settings.token:
        log.error(NO_TOKEN)
        return EXIT_CONFIG
    try:
        return asyncio.run(_serve(settings))
    except KeyboardInterrupt:
        log.info("Interrupted before the bot started")
        return EXIT_OK
    except Exception as error:
        # Through the log, so the token is masked even here (Python's own traceback printer would not).
        log.critical("The bot stopped on an unexpected error", exc_info=error)
        return EXIT_FAILED


async def _serve(settings: Settings) -> int:
    try:
        use_endpoints(settings.api_base, settings.gateway_url)
    except SettingsError as error:
        log.error("%s", error)
        return EXIT_CONFIG
    loop = asyncio.get_running_loop()
    vectors: asyncio.Queue[Engine | None] = asyncio.Queue()

    def built(engine: Engine | None) -> None:  # from the thread building sentence vectors
        with contextlib.suppress(RuntimeError):  # the bot stopped meanwhile: nothing to swap
            loop.call_soon_threadsafe(vectors.put_nowait, engine)

    with _stop_signals() as stop:
        try:
            engine = await asyncio.to_thread(load_engine, settings, built)
        except (CorpusError, OSError) as error:
            log.error("Cannot start: %s", error)
            return EXIT_CONFIG
        for warning in engine.warnings:
            log.warning("%s", warning)
        log.info("Loaded %d articles from %s; %s", len(engine.sources()), settings.corpus_dir, engine.semantic_status.signals)
        bot = make_bot(settings, engine)
        swapping = asyncio.create_task(_swap_in(bot, vectors))
        try:
            return await _run_until_stopped(bot, settings.token.value, stop)
        finally:
            swapping.cancel()


async def _swap_in(bot: AnswerBot, vectors: asyncio.Queue[Engine | None]) -> None:
    """Serve each engine the background build hands over (factory.load_engine): those covering the vectors
    saved so far, then the complete one; None, a failed build, leaves the last one serving.

    Only while the bot serves the build's own engines: after a `!reload` they are of the articles before it,
    and are taken off the queue and dropped as they come, so none is kept alive there.
    """
    serving = bot.serving
    while (engine := await vectors.get()) is not None:
        if bot.serving is not serving:
            if serving is not None:
                log.info("Not swapping in the sentence vectors built for the articles before the reload")
                serving = None
            del engine  # not held while the next one is awaited
            continue
        bot.serving = serving = await asyncio.to_thread(Serving.of, engine)  # the previous engine goes with its serving
        status = engine.semantic_status
        log.info("Sentence vectors %s; %s", "being built" if status.partial else "built", status.signals)
    if serving is not None:
        log.warning("Building the sentence vectors failed; still %s", bot.engine.semantic_status.signals)


async def _run_until_stopped(bot: AnswerBot, token: str, stop: _Stop) -> int:
    """Run the bot until a signal arrives (exit 0) or it fails (explained, 1 or 78); close it either way."""
    async with bot:
        with _quiet_first_connect(bot):
            running = asyncio.create_task(bot.start(token))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                log.info(
                    "Received %s; taking no new questions, finishing the %d in flight (at most %g s)",
                    stop.name,
                    len(bot.in_flight),
                    SHUTDOWN_GRACE,
                )
                cut_off = await bot.in_flight.drain(SHUTDOWN_GRACE)
                if cut_off:
                    log.warning("%d questions or clicks were still unanswered after %g s; stopped them", cut_off, SHUTDOWN_GRACE)
                log.info("Closing the connection to Discord")
                await bot.close()
                running.cancel()  # it may be sleeping out a reconnect backoff, which close() does not end
                await asyncio.gather(running, return_exceptions=True)
                log.info("Closed cleanly")
                return EXIT_OK
            stopping.cancel()
            error = running.exception()
            if error is None:
                log.error("The connection to Discord ended without a stop signal; exiting so the service restarts")
                return EXIT_FAILED
            return _explain(error, bot)


@contextlib.contextmanager
def _quiet_first_connect(bot: AnswerBot) -> Iterator[None]:
    """Hide discord.py's reconnect traceback while the very first gateway connect fails: `_explain` says it."""

    def keep(record: logging.LogRecord) -> bool:
        return not (not bot.gateway_reached and str(record.msg).startswith("Attempting a reconnect"))

    library = logging.getLogger("discord.client")
    library.addFilter(keep)
    try:
        yield
    finally:
        library.removeFilter(keep)


class _Stop(asyncio.Event):
    name = ""


@contextlib.contextmanager
def _stop_signals() -> Iterator[_Stop]:
    """An event set by SIGTERM or SIGINT while inside; discord.py installs no SIGTERM handler itself."""
    loop = asyncio.get_running_loop()
    stop = _Stop()

    def received(name: str) -> None:
        stop.name = name
        stop.set()

    numbers = (signal.SIGTERM, signal.SIGINT)
    for number in numbers:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(number, received, number.name)
    try:
        yield stop
    finally:
        for number in numbers:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(number)


def _explain(error: BaseException, bot: AnswerBot) -> int:
    """Log a start-up or connection failure as one clear sentence and return its exit code.

    78 when Discord refuses the bot (restarting cannot help), 1 for trouble that may pass;
    anything unexpected is re-raised, for `run_bot` to log with its traceback.
    """
    api = discord.http.Route.BASE
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    if isinstance(error, discord.LoginFailure):
        log.error(REJECTED_TOKEN)
        return EXIT_REFUSED
    if isinstance(error, discord.PrivilegedIntentsRequired):
        log.error(MISSING_INTENT)
        return EXIT_REFUSED
    if isinstance(error, discord.ConnectionClosed) and error.code == 4004:
        log.error(REJECTED_TOKEN.replace("(401 Unauthorized)", "at the gateway (close code 4004)"))
        return EXIT_REFUSED
    if isinstance(error, discord.ConnectionClosed) and error.code == 4013:
        log.error(INVALID_INTENTS)
        return EXIT_REFUSED
    if isinstance(error, discord.ConnectionClosed):
        log.error("The gateway closed the connection with code %s (%s); stopping", error.code, error.reason)
    elif isinstance(error, discord.HTTPException):
        log.error("The Discord API at %s answered %s during start-up: %s", api, error.status, error.text)
    elif isinstance(error, (aiohttp.ClientError, OSError, asyncio.TimeoutError)) and bot.user is None:
        log.error("Cannot reach the Discord API at %s: %s", api, error or type(error).__name__)
    elif isinstance(error, (aiohttp.ClientError, OSError, asyncio.TimeoutError, discord.GatewayNotFound)):
        log.error("Cannot connect to the gateway at %s: %s", gateway, error or type(error).__name__)
    elif isinstance(error, AttributeError) and not bot.gateway_reached:
        # discord.py's reconnect path dereferences the websocket it never got on a failed first connect.
        log.error("Cannot connect to the gateway at %s; check DISCORD_GATEWAY_URL and the network", gateway)
    else:
        raise error
    return EXIT_FAILED


# A bot token is three base64url parts joined by dots: the bot's user id, a timestamp, a signature.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{17,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}")
TOKEN_SHAPE = "copy it again from the developer portal (your application → Bot → Reset Token); Discord will refuse anything else"


def looks_like_bot_token(token: str) -> bool:
    """Whether `token` has a bot token's shape; Discord alone can say whether it is valid."""
    return _TOKEN_SHAPE.fullmatch(token.strip()) is not None


def check(settings: Settings, out: TextIO | None = None, building: TextIO | None = None) -> int:
    """Report what `run` would do, without connecting; 0 when it would start, 1 when it would not.

    Loading the corpus builds whatever index is not saved yet, as `run` would; on a big corpus that
    takes minutes, so its progress goes to `building` (stderr): a bar in a terminal, lines elsewhere.
    """
    out = out or sys.stdout
    ready = True

    def say(label: str, value: str) -> None:
        print(f"{label + ':' if label else '':<16}{value}", file=out)

    if settings.token and not looks_like_bot_token(settings.token.value):
        say("Token", "set (not shown), but it does not look like a bot token (three parts separated by dots); " + TOKEN_SHAPE)
    elif settings.token:
        say("Token", "set (not shown)")
    else:
        ready = False
        say("Token", "missing: run would stop at once. " + NO_TOKEN)
    intents = intents_for(settings)
    enabled = [name for name, on in intents if on]
    say("Intents", ", ".join(enabled))
    if settings.message_content:
        say("", "message_content is privileged: switch on Bot → Privileged Gateway Intents → Message Content")
    else:
        say("", f"no message content: {settings.prefix}ask and answer channels need it; slash, mentions, DMs work")
    say("Prefix", f"{settings.prefix} (or mention the bot)")
    try:
        engine = factory.load_engine(settings, progress=progress_to(building or sys.stderr))
    except CorpusError as error:
        ready = False
        say("Corpus", f"{settings.corpus_dir}: cannot load: {error}")
    else:
        sentences = sum(article.sentence_count for article in engine.sources())
        say("Corpus", f"{settings.corpus_dir}: {plural(len(engine.sources()), 'article')}, {plural(sentences, 'sentence')}")
        semantic = engine.semantic_status
        if semantic.model:
            say("Semantic", f"{semantic.model}, sha256 {semantic.sha256}")
            say("", f"sentence vectors: {semantic.vectors}")
        else:
            say("Semantic", "off: answers come from word matching (BM25) alone")
        if semantic.reranker:
            say("Reranker", f"{semantic.reranker}, sha256 {semantic.reranker_sha256}")
        else:
            say("Reranker", "off: answers are ordered by the fused score")
        for warning in engine.warnings:
            say("  warning", warning)
    say("Answers in", _ids(settings.allowed_channels, "every channel the bot can see"))
    say("Every message", _ids(settings.answer_channels, "none (only commands, mentions, replies, DMs)"))
    say("Threads", "answers go in a new thread" if settings.answer_in_thread else "answers are replies")
    say("Top k", str(settings.top_k))
    say("Shards", _shards(settings))
    say("Owners", _ids(settings.owner_ids, "the application's owner (from the developer portal)"))
    cooldown = f"{settings.cooldown_questions} questions per {settings.cooldown_seconds:g} s per user"
    say("Cooldown", cooldown if settings.cooldown_seconds > 0 else "off")
    say("Feedback", _feedback_summary(settings.feedback_file))
    say("Health file", str(settings.health_file) if settings.health_file else "none (no heartbeat for health checks)")
    say("Log level", settings.log_level)
    say("API", settings.api_base or f"{DISCORD_API_BASE} (Discord)")
    say("Gateway", settings.gateway_url or f"{DISCORD_GATEWAY} (Discord)")
    try:
        check_endpoints(settings.api_base, settings.gateway_url)
    except SettingsError as error:
        ready = False
        say("", str(error))
    say("Result", "ready: `python -m bot run` would connect" if ready else "not ready: fix the lines above")
    return EXIT_OK if ready else EXIT_FAILED


def _feedback_summary(path: Path) -> str:
    """Where votes go and what is there so far, damaged lines named (they are skipped, not fatal)."""
    if not path.exists():
        return f"{path} (no votes yet)"
    if not path.is_file():
        return f"{path} is not a regular file: votes cannot be saved there"
    try:
        read = read_votes(path)
    except OSError as error:
        return f"{path}: cannot read it ({error.strerror or error})"
    summary = summarise(read.votes)
    ups = sum(rating.up for rating in summary.ratings)
    text = f"{path}: {summary.votes} votes ({ups} up, {summary.votes - ups} down)"
    if read.skipped:
        numbers = [number for number, _ in read.skipped]
        lines = ", ".join(map(str, numbers[:5])) + (" …" if len(numbers) > 5 else "")
        text += f"; skipped {len(numbers)} damaged lines ({lines}): `python -m bot feedback` says why"
    return text


def _shards(settings: Settings) -> str:
    count, ids = settings.shard_count, settings.shard_ids
    if count is None:
        return "none: one gateway connection (set SHARD_COUNT to shard)"
    if count == AUTO_SHARDS:
        return "as many as Discord recommends, all in this process"
    here = ", ".join(map(str, ids)) if ids else "all"
    return f"{here} of {count} in this process"


def _ids(ids: frozenset[int], empty: str) -> str:
    return ", ".join(str(i) for i in sorted(ids)) if ids else empty
