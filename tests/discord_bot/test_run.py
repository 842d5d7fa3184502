"""`python -m bot run` and `check`: the real process against the loopback server, and its failure modes."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import signal
import sys
from pathlib import Path

import pytest
from loopback.server import LoopbackDiscord

from bot.config import Secret, Settings
from bot.discord_bot.run import check, setup_logging

from .helpers import CORPUS

REPO = Path(__file__).resolve().parents[2]
QUESTION = "when was the lighthouse finished?"


def environment(loopback: LoopbackDiscord | None, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The child's environment: ours without any Discord settings, plus the loopback server's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "BOT_", "OWNER_", "ALLOWED_"))}
    env.update(PYTHONPATH=str(REPO), CORPUS_DIR=str(CORPUS), FEEDBACK_FILE=str(tmp_path / "feedback.jsonl"))
    if loopback is not None:
        env.update(
            DISCORD_TOKEN=loopback.token, DISCORD_API_BASE=loopback.api_base, DISCORD_GATEWAY_URL=loopback.gateway_url
        )
    env.update(extra)
    return env


async def start(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def finish(process: asyncio.subprocess.Process, timeout: float = 30.0) -> tuple[int, str]:
    _, stderr = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, stderr.decode()


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
async def test_run_answers_through_the_server_and_closes_cleanly_on_a_signal(
    loopback: LoopbackDiscord, tmp_path: Path, number: signal.Signals
) -> None:
    process = await start(environment(loopback, tmp_path, LOG_LEVEL="INFO"), tmp_path)
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
    assert code == 0
    assert f"Received {number.name}; closing the connection to Discord" in log
    assert "Closed cleanly" in log and "Traceback" not in log
    assert "answered user=" in log and asker["id"] not in log
    assert loopback.token not in log
    await loopback.wait_for(lambda: loopback.connection is None)


async def test_run_with_an_invalid_token_explains_and_fails(loopback: LoopbackDiscord, tmp_path: Path) -> None:
    env = environment(loopback, tmp_path, DISCORD_TOKEN="not-the-right-token")
    code, log = await finish(await start(env, tmp_path))
    assert code == 1
    assert "Discord rejected the token (401 Unauthorized)" in log
    assert "Traceback" not in log and "not-the-right-token" not in log


async def test_run_without_a_token_stops_at_once(tmp_path: Path) -> None:
    code, log = await finish(await start(environment(None, tmp_path), tmp_path))
    assert code == 2
    assert "No Discord token: set DISCORD_TOKEN in .env" in log and "Traceback" not in log


async def test_run_without_the_portal_intent_says_what_to_switch_on(tmp_path: Path) -> None:
    strict = LoopbackDiscord(privileged_intents=False)
    await strict.start()
    try:
        code, log = await finish(await start(environment(strict, tmp_path), tmp_path))
    finally:
        await strict.stop()
    assert code == 1
    assert "Message Content Intent" in log and "MESSAGE_CONTENT_INTENT=false" in log


async def test_run_with_an_unreachable_gateway_explains(loopback: LoopbackDiscord, tmp_path: Path) -> None:
    env = environment(loopback, tmp_path, DISCORD_GATEWAY_URL="ws://127.0.0.1:1/gateway")
    code, log = await finish(await start(env, tmp_path))
    assert code == 1
    assert "Cannot connect to the gateway at ws://127.0.0.1:1/gateway" in log and "Traceback" not in log


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
