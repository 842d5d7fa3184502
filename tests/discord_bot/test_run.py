"""`python -m bot run` and `check`: the real process against the loopback server, and its failure modes.

Exit codes (see bot/discord_bot/run.py and deploy/corpus-bot.service, which does not restart after 2 or 78):
0 stopped by a signal, 1 transient trouble, 2 a configuration error, 78 Discord refused the bot.
Every run logs at DEBUG with a token shaped like a real one, which must never appear in the output.
"""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import re
import shutil
import signal
import subprocess
import weakref
from collections.abc import Callable
from pathlib import Path

import discord
import pytest
from loopback.server import LoopbackDiscord, custom_ids

from bot.config import Secret, Settings
from bot.discord_bot import run
from bot.discord_bot.client import AnswerBot, use_endpoints
from bot.discord_bot.run import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, EXIT_REFUSED, check, run_bot, setup_logging
from bot.discord_bot.serving import Serving
from bot.search.engine import Engine

from .helpers import CORPUS, REPO, SECRET, deny_listing, environment, eventually, finish, running_bot, start

QUESTION = "when was the lighthouse finished?"



@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
async def test_run_answers_through_the_server_and_closes_cleanly_on_a_signal(
    loopback: LoopbackDiscord, tmp_path: Path, number: signal.Signals
) -> None:
    process = await start(environment(loopback, tmp_path, LOG_LEVEL="INFO"), tmp_path)  # DEBUG shows raw user ids
    try:
        await loopback.wait_for(lambda: loopback.connection is not None, timeout=60)
        asker = loopback.make_user("asker")
        question = await loopback.post_message(asker, f"!ask {QUESTION}", mention_bot=False)
        sent = await loopback.wait_for_reply(question, timeout=30)
        assert sent.json["embeds"] and sent.json["allowed_mentions"]["parse"] == []
        process.send_signal(number)
        code, log = await finish(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert code == EXIT_OK
    assert f"Received {number.name}; taking no new questions, finishing the 0 in flight (at most 10 s)" in log
    assert "Closed cleanly" in log and "Traceback" not in log
    assert "answered user=" in log and asker["id"] not in log
    await loopback.wait_for(lambda: loopback.connection is None)


async def test_run_with_a_token_rejected_at_login_exits_78(loopback: LoopbackDiscord, tmp_path: Path) -> None:
    """Handling: `_explain` maps discord.LoginFailure (401 at GET /users/@me) to 78, which systemd does not restart."""
    env = environment(loopback, tmp_path)
    loopback.token = "the-token-after-a-reset"
    code, log = await finish(await start(env, tmp_path))
    assert code == EXIT_REFUSED
    assert "Discord rejected the token (401 Unauthorized)" in log and "Traceback" not in log


@pytest.mark.parametrize(
    "close, explained",
    [
        (4004, "Discord rejected the token at the gateway (close code 4004)"),
        (4013, "Discord refused the intents the bot asked for as invalid (close code 4013)"),
    ],
)
async def test_run_refused_at_the_gateway_after_logging_in_exits_78(
    loopback: LoopbackDiscord, tmp_path: Path, close: int, explained: str
) -> None:
    """Handling: `_explain` maps these gateway close codes (REST login having worked) to 78, with a sentence each."""
    loopback.refuse_identify = close
    code, log = await finish(await start(environment(loopback, tmp_path), tmp_path))
    assert code == EXIT_REFUSED
    assert [r.path for r in loopback.requests][:2] == ["/users/@me", "/oauth2/applications/@me"]
    assert all(r.ok for r in loopback.requests) and len(loopback.identifies) == 1
    assert explained in log and "Traceback" not in log


async def test_run_without_the_portal_intent_says_what_to_switch_on(tmp_path: Path) -> None:
    """Handling: `_explain` maps PrivilegedIntentsRequired (close code 4014) to 78 and names the switch."""
    strict = LoopbackDiscord(token=SECRET, privileged_intents=False)
    await strict.start()
    try:
        code, log = await finish(await start(environment(strict, tmp_path), tmp_path))
    finally:
        await strict.stop()
    assert code == EXIT_REFUSED
    assert "Message Content Intent" in log and "MESSAGE_CONTENT_INTENT=false" in log


@pytest.mark.parametrize(
    "setting, value, explained",
    [
        ("DISCORD_GATEWAY_URL", "ws://127.0.0.1:1/gateway", "Cannot connect to the gateway at ws://127.0.0.1:1/gateway"),
        ("DISCORD_API_BASE", "http://127.0.0.1:1/api/v10", "Cannot reach the Discord API at http://127.0.0.1:1/api/v10"),
    ],
)
async def test_run_without_a_network_path_to_discord_exits_1(
    loopback: LoopbackDiscord, tmp_path: Path, setting: str, value: str, explained: str
) -> None:
    """Handling: `_explain` calls an unreachable API or gateway transient (1): systemd retries within its start limit."""
    code, log = await finish(await start(environment(loopback, tmp_path, **{setting: value}), tmp_path))
    assert code == EXIT_FAILED
    assert explained in log and "Traceback" not in log


async def test_run_without_a_token_stops_at_once(tmp_path: Path) -> None:
    code, log = await finish(await start(environment(None, tmp_path), tmp_path))
    assert code == EXIT_CONFIG
    assert "No Discord token: set DISCORD_TOKEN in .env" in log and "Traceback" not in log


@pytest.mark.parametrize(
    "setting, value, explained",
    [
        ("CORPUS_DIR", "no-such-folder", "Cannot start: corpus folder no-such-folder does not exist"),
        ("TOP_K", "many", "error: TOP_K='many' is not a whole number"),
        ("DISCORD_API_BASE", "ftp://example.org", "DISCORD_API_BASE='ftp://example.org' is not an http(s) URL"),
    ],
)
async def test_run_with_a_configuration_error_exits_2_before_connecting(
    loopback: LoopbackDiscord, tmp_path: Path, setting: str, value: str, explained: str
) -> None:
    """Handling: settings and corpus errors are 2 (`run_bot`, and `bot.cli` for settings it cannot parse)."""
    code, log = await finish(await start(environment(loopback, tmp_path, **{setting: value}), tmp_path))
    assert code == EXIT_CONFIG
    assert explained in log and "Traceback" not in log
    assert not loopback.requests


async def test_a_stop_signal_during_a_reconnect_backoff_closes_at_once(
    loopback: LoopbackDiscord,
    make_settings: Callable[..., Settings],
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Handling: `_run_until_stopped` cancels the connect loop once the bot is closed. discord.py's close() does not
    end a reconnect backoff (up to 17 minutes while Discord is unreachable), so SIGTERM would wait for SIGKILL."""

    class Patient(discord.backoff.ExponentialBackoff):  # type: ignore[type-arg]
        def delay(self) -> float:
            return 3600.0

    monkeypatch.setattr(discord.client, "ExponentialBackoff", Patient)
    settings = make_settings()
    use_endpoints(settings.api_base, settings.gateway_url)
    bot = AnswerBot(settings, engine, guild_ready_timeout=0.01)
    stop = run._Stop()
    serving = asyncio.create_task(run._run_until_stopped(bot, settings.token.value, stop))
    try:
        await loopback.wait_for(lambda: loopback.connection is not None)
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        await loopback.stop()  # Discord is gone: the reconnect is refused and the bot backs off
        await eventually(lambda: any("Attempting a reconnect in 3600.00s" in r.getMessage() for r in caplog.records))
        stop.name = "SIGTERM"
        stop.set()
        assert await asyncio.wait_for(serving, 10) == EXIT_OK
    finally:
        serving.cancel()
        use_endpoints(None, None)


def test_an_unreadable_corpus_at_start_up_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Handling: `_serve` treats a corpus it cannot read as a configuration error (2), not a crash."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = Settings(token=Secret(SECRET), corpus_dir=corpus, api_base="http://127.0.0.1:1/api/v10")
    out = io.StringIO()
    monkeypatch.setattr(run, "setup_logging", lambda settings: setup_logging(settings, out))
    try:
        with deny_listing(corpus, monkeypatch):
            assert run_bot(settings) == EXIT_CONFIG
    finally:
        logging.getLogger().handlers[:] = [h for h in logging.getLogger().handlers if h.get_name() != "bot"]
    assert f"Cannot start: cannot list corpus folder {corpus}: Permission denied" in out.getvalue()


def test_an_unexpected_crash_exits_1_with_its_traceback_logged_and_the_token_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Handling: `run_bot` logs any unexpected error through the redacting handler (Python's own traceback
    printer would show the token) and exits 1, so systemd restarts the bot."""

    def explode(settings: Settings, later: object = None) -> None:
        raise RuntimeError(f"something unforeseen while holding {settings.token.value}")

    out = io.StringIO()
    monkeypatch.setattr(run, "load_engine", explode)
    monkeypatch.setattr(run, "setup_logging", lambda settings: setup_logging(settings, out))
    try:
        code = run_bot(Settings(token=Secret(SECRET), corpus_dir=CORPUS))
    finally:
        logging.getLogger().handlers[:] = [h for h in logging.getLogger().handlers if h.get_name() != "bot"]
    log = out.getvalue()
    assert code == EXIT_FAILED
    assert "CRITICAL bot: The bot stopped on an unexpected error" in log
    assert "RuntimeError: something unforeseen while holding ********" in log and SECRET not in log


def test_dot_env_is_ignored_by_git() -> None:
    """The token's file can never be committed by accident."""
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("no git here")
    ignored = subprocess.run([git, "check-ignore", "--quiet", ".env"], cwd=REPO, check=False)
    assert ignored.returncode == 0, ".env is not in .gitignore"


def test_check_reports_without_connecting_and_never_shows_the_token(tmp_path: Path) -> None:
    settings = Settings(token=Secret("secret-token-value"), corpus_dir=CORPUS, message_content=False)
    out = io.StringIO()
    assert check(settings, out) == 0
    report = out.getvalue()
    assert "secret-token-value" not in report
    assert "Token:          set (not shown)" in report
    assert f"{CORPUS}: 3 articles" in report
    assert "guilds, guild_messages, dm_messages" in report and "no message content" in report
    assert report.rstrip().endswith("ready: `python -m bot run` would connect")


def test_check_shows_the_progress_of_the_index_it_builds_and_builds_it_once(tmp_path: Path) -> None:
    """On a big corpus the first check builds for minutes: it must not look hung, as it did when only `run` logged progress."""
    settings = Settings(token=Secret("t"), corpus_dir=CORPUS, index_cache=tmp_path / "index", semantic=False)
    building = io.StringIO()
    assert check(settings, io.StringIO(), building) == 0
    lines = building.getvalue().splitlines()
    assert lines and all("done in" in line or re.search(r": [\d,]+/[\d,]+", line) for line in lines)
    assert any("done in" in line for line in lines)
    again = io.StringIO()
    assert check(settings, io.StringIO(), again) == 0
    assert "done in" not in again.getvalue()  # the saved index is reused, nothing is built


def test_check_says_when_the_token_does_not_look_like_a_bot_token_but_leaves_it_to_discord(tmp_path: Path) -> None:
    shaped = "MTA5ODc2NTQzMjEwOTg3NjU0.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
    for token, warned in (("abc", True), (shaped, False)):
        out = io.StringIO()
        assert check(Settings(token=Secret(token), corpus_dir=CORPUS), out) == 0
        assert ("does not look like a bot token" in out.getvalue()) is warned
        assert token not in out.getvalue()


def test_check_fails_without_a_token_or_a_corpus(tmp_path: Path) -> None:
    out = io.StringIO()
    assert check(Settings(corpus_dir=tmp_path / "missing"), out) == 1
    report = out.getvalue()
    assert "Token:          missing" in report and "cannot load" in report
    assert report.rstrip().endswith("not ready: fix the lines above")


def test_logs_carry_timestamps_and_never_the_token() -> None:
    out = io.StringIO()
    root = logging.getLogger()
    level = root.level
    setup_logging(Settings(token=Secret("secret-token-value"), log_level="INFO"), out)
    try:
        logger = logging.getLogger("bot.test")
        try:
            raise RuntimeError("failed with secret-token-value")
        except RuntimeError:
            logger.exception("token was %s", "secret-token-value")
        logger.debug("below the level")
    finally:
        root.handlers[:] = [h for h in root.handlers if h.get_name() != "bot"]
        root.setLevel(level)
    text = out.getvalue()
    assert "secret-token-value" not in text
    assert "RuntimeError: failed with ********" in text
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ERROR +bot\.test: token was \*{8}\n", text)
    assert "below the level" not in text


def test_the_systemd_unit_restarts_exactly_the_exit_codes_that_may_pass() -> None:
    """deploy/corpus-bot.service must not restart after 2 or 78 (a restart cannot help) and must after 1."""
    unit = (REPO / "deploy" / "corpus-bot.service").read_text()
    settings = dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.lstrip().startswith("#")
    )
    assert settings["Restart"] == "on-failure"
    assert {int(code) for code in settings["RestartPreventExitStatus"].split()} == {EXIT_CONFIG, EXIT_REFUSED}
    assert int(settings["StartLimitBurst"]) > 1 and int(settings["StartLimitIntervalSec"]) > 0  # 1: retried, not forever


def test_check_counts_the_votes_and_names_damaged_feedback_lines(tmp_path: Path) -> None:
    """A damaged line (say, from a crash mid-write before this version) is skipped and named, not fatal."""
    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text('{"vote": "up"}\n{"vote": "do\n{"vote": "down"}\n\xff\n{"vote": "up"}\n')
    out = io.StringIO()
    check(Settings(token=Secret("t"), corpus_dir=CORPUS, feedback_file=feedback), out)
    assert (
        f"Feedback:       {feedback}: 3 votes (2 up, 1 down); skipped 2 damaged lines (2, 4): "
        "`python -m bot feedback` says why"
    ) in out.getvalue()


def test_systemd_and_docker_allow_the_same_stop_time_and_it_covers_the_shutdown_grace() -> None:
    """SIGKILL must not cut the drain short: the unit's TimeoutStopSec, Compose's stop_grace_period and the
    `docker run --stop-timeout` shown in the docs agree, with room for closing after SHUTDOWN_GRACE."""
    unit = (REPO / "deploy" / "corpus-bot.service").read_text()
    systemd = int(re.search(r"^TimeoutStopSec=(\d+)$", unit, re.MULTILINE)[1])  # type: ignore[index]
    compose = (REPO / "deploy" / "docker-compose.yml").read_text()
    docker = int(re.search(r"^\s+stop_grace_period: (\d+)s$", compose, re.MULTILINE)[1])  # type: ignore[index]
    shown = {int(t) for f in ("Dockerfile", "README.md") for t in re.findall(r"--stop-timeout (\d+)", (REPO / "deploy" / f).read_text())}
    assert systemd == docker and shown == {systemd}
    assert systemd >= run.SHUTDOWN_GRACE + 5


async def test_debug_logs_mask_interaction_tokens(loopback: LoopbackDiscord, tmp_path: Path) -> None:
    """Handling: `RedactingFormatter` masks interaction tokens, which discord.py's DEBUG lines show in raw gateway
    events and in callback and webhook URLs; anyone holding one could answer as the bot for 15 minutes."""
    async with running_bot(loopback, environment(loopback, tmp_path), tmp_path) as process:  # LOG_LEVEL=DEBUG
        slash = await loopback.slash(loopback.make_user("slasher"), "ask", {"question": QUESTION})
        answer = loopback.message_for(await loopback.wait_for_response(slash, timeout=30))
        click = await loopback.click(loopback.make_user("reader"), answer, custom_ids(answer)[1])
        await loopback.wait_for_request("POST", rf"/interactions/{click['id']}/.+/callback", timeout=30)
        process.send_signal(signal.SIGTERM)
        code, log = await finish(process)
    assert code == EXIT_OK
    for interaction in (slash, click):
        assert interaction["token"] not in log
        assert f"/interactions/{interaction['id']}/********/callback" in log
    assert f"/webhooks/{loopback.application_id}/********" in log and "'token': '********'" in log


class Answering:
    """The part of the bot `_swap_in` touches: what it serves, and the engine that answers."""

    def __init__(self, engine: Engine) -> None:
        self.serving = Serving.of(engine)

    @property
    def engine(self) -> Engine:
        return self.serving.engine


async def test_the_bot_serves_each_engine_the_vector_build_hands_over_and_keeps_the_last_when_the_build_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "bot")
    engines = [Engine.from_dir(CORPUS) for _ in range(3)]
    first = weakref.ref(engines[0])
    bot = Answering(engines[0])
    handed: asyncio.Queue[Engine | None] = asyncio.Queue()
    swapping = asyncio.create_task(run._swap_in(bot, handed))  # type: ignore[arg-type]
    for engine in engines[1:]:
        handed.put_nowait(engine)
        await eventually(lambda handed_over=engine: bot.engine is handed_over)
    engines.clear()
    gc.collect()
    assert first() is None  # the engine served before is let go, not kept beside the new one
    handed.put_nowait(None)
    await asyncio.wait_for(swapping, 10)
    assert bot.engine is engine  # the last one handed over still answers
    assert caplog.messages[-1] == "Building the sentence vectors failed; still " + engine.semantic_status.signals


async def test_after_a_reload_the_engines_built_for_the_articles_before_it_are_not_swapped_in_nor_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "bot")
    bot = Answering(Engine.from_dir(CORPUS))
    handed: asyncio.Queue[Engine | None] = asyncio.Queue()
    swapping = asyncio.create_task(run._swap_in(bot, handed))  # type: ignore[arg-type]
    await asyncio.sleep(0)  # it starts, as at start-up, before any reload
    reloaded = Serving.of(Engine.from_dir(CORPUS))
    bot.serving = reloaded
    stale = [Engine.from_dir(CORPUS) for _ in range(2)]
    dropped = [weakref.ref(engine) for engine in stale]
    while stale:
        handed.put_nowait(stale.pop(0))
    await eventually(handed.empty)  # the old build's engines are taken off the queue as they come
    await asyncio.sleep(0)
    gc.collect()
    assert [ref() for ref in dropped] == [None, None]  # and not kept alive beside the reloaded articles
    handed.put_nowait(None)  # the old build failing says nothing about the articles now served
    await asyncio.wait_for(swapping, 10)
    assert bot.serving is reloaded
    assert caplog.messages.count("Not swapping in the sentence vectors built for the articles before the reload") == 1
    assert not any("failed" in message for message in caplog.messages)
