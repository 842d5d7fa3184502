"""The bot against a misbehaving server: the loopback server's fault injection, exercised end to end.

The reliability work builds on these hooks; here each one is shown to work and the bot to survive it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from loopback.server import LoopbackDiscord

from bot.discord_bot.client import AnswerBot
from bot.health import DEFAULT_MAX_AGE, check_health

from .helpers import StartBot, eventually

QUESTION = "when was the lighthouse finished?"
MESSAGES = r"/channels/\d+/messages"


async def test_rest_errors_and_rate_limits_are_retried(bot: AnswerBot, loopback: LoopbackDiscord) -> None:
    loopback.queue_error("POST", MESSAGES, 502)  # first: discord.py waits 1 s before its first retry, longer later
    loopback.queue_rate_limit("POST", MESSAGES, retry_after=0.05)
    since = loopback.mark()
    question = await loopback.post_message(loopback.make_user("alice"), f"!ask {QUESTION}")
    await loopback.wait_for_reply(question)
    attempts = [r.status for r in loopback.requests[since:] if r.method == "POST" and r.path.endswith("/messages")]
    assert attempts == [502, 429, 200]


async def test_forbidden_in_one_channel_is_logged_and_the_others_work(
    bot: AnswerBot, loopback: LoopbackDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    locked = loopback.add_channel("locked")
    refusal = {"message": "Missing Access", "code": 50001}
    loopback.queue_error("POST", rf"/channels/{locked.id}/messages", 403, refusal, times=None)
    await loopback.dispatch("CHANNEL_CREATE", locked.payload())
    user = loopback.make_user("bob")
    since = loopback.mark()
    await loopback.post_message(user, f"!ask {QUESTION}", channel=locked)
    refused = await loopback.wait_for_request("POST", rf"/channels/{locked.id}/messages", since=since)
    assert refused.status == 403
    question = await loopback.post_message(user, f"!ask {QUESTION}")
    assert (await loopback.wait_for_reply(question)).json["embeds"]
    await eventually(lambda: any(r.name == "bot.discord_bot.exts.errors" for r in caplog.records))
    warnings = [r for r in caplog.records if r.name == "bot.discord_bot.exts.errors"]
    assert [r.getMessage() for r in warnings] == [
        f"Not allowed to answer in channel {locked.id} (Missing Access); check the bot's permissions there"
    ]
    assert warnings[0].exc_info is None


async def test_the_bot_resumes_after_a_close_a_drop_or_a_resumable_invalid_session(
    bot: AnswerBot, loopback: LoopbackDiscord
) -> None:
    faults = (
        lambda: loopback.close_gateway(4000),
        loopback.drop_gateway,
        lambda: loopback.invalidate_session(resumable=True),
    )
    for resumed, fault in enumerate(faults, start=1):
        before = loopback.connection
        await fault()
        await loopback.wait_for(lambda: loopback.connection is not None and loopback.connection is not before)
        assert len(loopback.resumes) == resumed and len(loopback.identifies) == 1
    question = await loopback.post_message(loopback.make_user("carol"), f"!ask {QUESTION}")
    assert (await loopback.wait_for_reply(question)).json["embeds"]


async def test_a_connected_bot_keeps_its_heartbeat_file_fresh(start_bot: StartBot, tmp_path: Path) -> None:
    health = tmp_path / "run" / "health"
    bot = await start_bot(health_file=health)
    await eventually(health.exists)
    assert check_health(health, DEFAULT_MAX_AGE)[0]
    await bot.close()
    assert not bot._heartbeat.is_running()
