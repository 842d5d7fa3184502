"""The bot against a misbehaving Discord: gateway drops, REST errors, refused channels, a broken corpus.

Each test names, in its docstring, the handling it covers; without that handling the test fails.
Every test here also checks that the token never reached a log record (at DEBUG level, before any
redaction) or anything the bot sent.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from loopback.server import SEND_MESSAGES, LoopbackDiscord

from bot.discord_bot import replies
from bot.discord_bot.client import AnswerBot
from bot.health import DEFAULT_MAX_AGE, check_health
from bot.search.engine import Engine

from .helpers import CORPUS, StartBot, deny_listing, eventually

QUESTION = "when was the lighthouse finished?"
MESSAGES = r"/channels/\d+/messages"
TYPING = r"/channels/\d+/typing"
FAILURES_LOG = "bot.discord_bot.failures"


@pytest.fixture(autouse=True)
def token_stays_secret(loopback: LoopbackDiscord, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture everything at DEBUG; afterwards the token must be in no record and in nothing the bot sent."""
    caplog.set_level(logging.DEBUG)
    yield
    formatter = logging.Formatter()
    for record in caplog.records:
        text = record.getMessage() + (formatter.formatException(record.exc_info) if record.exc_info else "")
        assert loopback.token not in text, f"the token is in a log record of {record.name}"
    for request in loopback.requests:
        assert loopback.token not in json.dumps(request.json), f"the token was sent in {request.path}"


async def ask(loopback: LoopbackDiscord, name: str = "asker", **options: Any) -> dict[str, Any]:
    """Post the question and wait for the bot's accepted reply; return the question."""
    question = await loopback.post_message(loopback.make_user(name), f"!ask {QUESTION}", **options)
    await loopback.wait_for_reply(question)
    return question


async def barrier(loopback: LoopbackDiscord) -> None:
    """One more question answered: work the bot started on earlier events has had its turn."""
    await ask(loopback, "barrier")


def reply_statuses(loopback: LoopbackDiscord, question: dict[str, Any]) -> list[int]:
    return [request.status for request in loopback.reply_requests(question)]


# --- the gateway ------------------------------------------------------------------------------

GATEWAY_FAULTS: dict[str, tuple[Callable[[LoopbackDiscord], Awaitable[None]], str]] = {
    "close 1000": (lambda server: server.close_gateway(1000), "Websocket closed with 1000, attempting a reconnect"),
    "close 1006": (lambda server: server.close_gateway(1006), "Websocket closed with 1006, attempting a reconnect"),
    "close 4000": (lambda server: server.close_gateway(4000), "Websocket closed with 4000, attempting a reconnect"),
    "dropped TCP connection": (
        lambda server: server.drop_gateway(),
        "Websocket closed with 1006, attempting a reconnect",
    ),
    "resumable INVALID_SESSION": (
        lambda server: server.invalidate_session(resumable=True),
        "Got a request to RESUME the websocket",
    ),
    "RECONNECT": (lambda server: server.request_reconnect(), "Got a request to RESUME the websocket"),
}


@pytest.mark.parametrize("fault", GATEWAY_FAULTS)
async def test_after_a_gateway_fault_the_bot_resumes_and_answers_every_question_once(
    bot: AnswerBot, loopback: LoopbackDiscord, caplog: pytest.LogCaptureFixture, fault: str
) -> None:
    """Handling: discord.py RESUMEs with the last sequence number it saw instead of identifying afresh.

    So the server replays the question asked while the bot was away (a fresh IDENTIFY would lose it),
    and does not replay the one answered before (a stale sequence number would answer it twice).
    """
    inflict, logged = GATEWAY_FAULTS[fault]
    before = await ask(loopback, "before")
    loopback.hold_gateway()  # the bot's next connection waits for HELLO: it is away until released
    await inflict(loopback)
    await loopback.wait_for(lambda: loopback.connection is None)
    while_away = await loopback.post_message(loopback.make_user("away"), QUESTION, mention_bot=True)
    loopback.release_gateway()
    await loopback.wait_for_reply(while_away)
    await barrier(loopback)
    assert (len(loopback.identifies), len(loopback.resumes)) == (1, 1)
    assert loopback.resumes[0]["seq"] < int(loopback.session.backlog[-1]["s"])  # type: ignore[union-attr]
    assert reply_statuses(loopback, before) == [200] and reply_statuses(loopback, while_away) == [200]
    assert any(logged in record.getMessage() for record in caplog.records if record.name.startswith("discord"))


async def test_missed_heartbeat_acks_make_the_bot_reconnect_and_resume(
    start_bot: StartBot, loopback: LoopbackDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """Handling: AnswerBot passes `heartbeat_timeout` to discord.py, which closes a silent (zombie) connection and resumes.

    Production keeps discord.py's 60 s against Discord's 41 s heartbeat; here 1 s against 0.2 s. With the
    default, the bot would sit on the dead connection and this test would time out.
    """
    loopback.heartbeat_interval_ms = 200
    await start_bot(heartbeat_timeout=1.0)
    before = await ask(loopback, "before")
    loopback.hold_gateway()
    loopback.withhold_acks()
    await loopback.wait_for(lambda: loopback.connection is None)
    while_away = await loopback.post_message(loopback.make_user("away"), f"!ask {QUESTION}")
    loopback.release_gateway()
    await loopback.wait_for_reply(while_away)
    await barrier(loopback)
    assert len(loopback.identifies) == 1 and loopback.resumes  # a slow HELLO may cost a second resume, never an identify
    assert reply_statuses(loopback, before) == [200] and reply_statuses(loopback, while_away) == [200]
    assert any(
        "stopped responding to the gateway" in record.getMessage() or "Timed out receiving packet" in record.getMessage()
        for record in caplog.records
    )


async def test_a_non_resumable_invalid_session_identifies_afresh_and_answers_the_next_question(
    bot: AnswerBot, loopback: LoopbackDiscord
) -> None:
    """Handling: on INVALID_SESSION with d=false discord.py drops the session and IDENTIFYs again (after its
    5 s identify pause, kept for Discord's identify limit); the bot stays up and answers on the new session."""
    before = await ask(loopback, "before")
    first = loopback.session
    await loopback.invalidate_session(resumable=False)
    await loopback.wait_for(lambda: loopback.session not in (None, first) and loopback.connection is not None, 20)
    after = await ask(loopback, "after")
    assert len(loopback.identifies) == 2 and not loopback.resumes
    assert reply_statuses(loopback, before) == [200] and reply_statuses(loopback, after) == [200]


async def test_a_question_delivered_twice_is_answered_once(bot: AnswerBot, loopback: LoopbackDiscord) -> None:
    """Handling: `replies.reply` sends the question's id as an enforced nonce, so Discord keeps the first reply
    when the same question is handled twice (with discord.py's random nonce there would be two)."""
    question = await loopback.post_message(loopback.make_user("echo"), f"!ask {QUESTION}")
    await loopback.dispatch("MESSAGE_CREATE", question)
    await loopback.wait_for(lambda: len(loopback.reply_requests(question)) == 2)
    assert len(loopback.replies_to(question)) == 1
    assert [request.duplicate for request in loopback.reply_requests(question)] == [False, True]


# --- REST -------------------------------------------------------------------------------------


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replies, "SERVER_ERROR_WAIT", 0.01)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_on_the_reply_is_retried(
    bot: AnswerBot, loopback: LoopbackDiscord, quick_retries: None, status: int
) -> None:
    """Handling: discord.py retries 500 and 502 itself (after 1 s); `replies.retrying` retries the 503 it raises at once."""
    loopback.queue_error("POST", MESSAGES, status)
    question = await ask(loopback)
    assert reply_statuses(loopback, question) == [status, 200]
    assert loopback.replies_to(question)[0]["embeds"]


@pytest.mark.parametrize("status", [502, 503])
async def test_a_reply_whose_response_is_lost_is_sent_again_without_a_second_message(
    bot: AnswerBot, loopback: LoopbackDiscord, quick_retries: None, status: int
) -> None:
    """Handling: the retry carries the same nonce (discord.py's for its 502 retry, the question's id for ours
    after a 503), so Discord returns the message it already made instead of posting it twice."""
    loopback.queue_error("POST", MESSAGES, status, after_handling=True)
    question = await ask(loopback)
    assert [(r.status, r.duplicate) for r in loopback.reply_requests(question)] == [(status, False), (200, True)]
    assert len(loopback.replies_to(question)) == 1


@pytest.mark.parametrize("how", ["prefix", "mention"])
async def test_when_discord_keeps_failing_the_user_gets_an_apology_and_the_bot_keeps_serving(
    bot: AnswerBot, loopback: LoopbackDiscord, caplog: pytest.LogCaptureFixture, quick_retries: None, how: str
) -> None:
    """Handling: a 5xx that outlasts the retries is one warning line (a Discord outage, not our bug: no
    traceback) and an apology, from the command error handler and from the mention listener alike."""
    loopback.queue_error("POST", MESSAGES, 503, times=1 + replies.SERVER_ERROR_RETRIES)
    user = loopback.make_user("patient")
    text = QUESTION if how == "mention" else f"!ask {QUESTION}"
    question = await loopback.post_message(user, text, mention_bot=how == "mention")
    apology = await loopback.wait_for_reply(question)
    assert apology.json["content"].startswith("Sorry, something went wrong on my side")
    assert reply_statuses(loopback, question) == [503, 503, 503, 200]
    await ask(loopback, "next")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    outage = [r.getMessage() for r in caplog.records if r.name == FAILURES_LOG and r.levelno == logging.WARNING]
    assert len(outage) == 1 and outage[0].startswith("Discord answered 503 Service Unavailable in channel")


async def test_a_failing_typing_indicator_does_not_stop_the_answer(bot: AnswerBot, loopback: LoopbackDiscord) -> None:
    """Handling: `replies.typing_indicator` treats the indicator as a courtesy; discord.py's own would raise and the
    user would get an apology instead of the answer."""
    loopback.queue_error("POST", TYPING, 503, times=None)
    question = await ask(loopback)
    assert loopback.replies_to(question)[0]["embeds"]
    assert [r.status for r in loopback.requests if r.path.endswith("/typing")] == [503]


async def test_a_rate_limited_reply_arrives_after_the_wait(bot: AnswerBot, loopback: LoopbackDiscord) -> None:
    """Handling: discord.py waits out a per-route 429's retry_after (it needs the Via header) and sends again."""
    loopback.queue_rate_limit("POST", MESSAGES, retry_after=0.2)
    question = await ask(loopback)
    limited, sent = loopback.reply_requests(question)
    assert (limited.status, sent.status) == (429, 200)
    assert sent.at - limited.at >= 0.2


async def test_a_global_rate_limit_holds_every_request_until_it_is_over(
    bot: AnswerBot, loopback: LoopbackDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """Handling: discord.py's global lock: after a 429 with `"global": true` (and X-RateLimit-Global) no
    request goes out, on any route, until retry_after has passed; then both questions get their replies."""
    other = loopback.add_channel("other")
    await loopback.dispatch("CHANNEL_CREATE", other.payload())
    loopback.queue_rate_limit("POST", MESSAGES, retry_after=0.3, is_global=True)
    first = await loopback.post_message(loopback.make_user("first"), f"!ask {QUESTION}")
    limited = await loopback.wait_for_request("POST", MESSAGES, where=lambda r: r.status == 429)
    await eventually(lambda: any("Global rate limit has been hit" in r.getMessage() for r in caplog.records))
    since = loopback.mark()
    second = await loopback.post_message(loopback.make_user("second"), f"!ask {QUESTION}", channel=other)
    await loopback.wait_for_reply(first)
    await loopback.wait_for_reply(second)
    assert limited.headers.get("Authorization") and reply_statuses(loopback, first) == [429, 200]
    held = [r for r in loopback.requests[since:] if f"/channels/{other.id}/" in r.path]
    assert held and min(r.at for r in held) >= limited.at + 0.3


async def test_a_channel_that_refuses_the_bot_is_logged_once_and_the_others_work(
    bot: AnswerBot, loopback: LoopbackDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """Handling: a 403 (Missing Permissions) is logged once per channel by `errors.refused`, from commands and
    mentions alike, with no traceback and no apology sent into the channel that refused; elsewhere the bot answers."""
    locked = loopback.add_channel("locked")
    await loopback.dispatch("CHANNEL_CREATE", locked.payload())
    locked.deny_everyone = SEND_MESSAGES  # changed on Discord's side; the bot still thinks it may post
    user = loopback.make_user("bob")
    for text, mention in [(f"!ask {QUESTION}", False), (QUESTION, True), (f"!ask {QUESTION}", False)]:
        question = await loopback.post_message(user, text, channel=locked, mention_bot=mention)
        await loopback.wait_for(lambda: reply_statuses(loopback, question) == [403])
    await ask(loopback, "elsewhere")
    warnings = [r for r in caplog.records if r.name == FAILURES_LOG and r.levelno == logging.WARNING]
    assert [r.getMessage().split(";")[0] for r in warnings] == [
        f"Not allowed to answer in channel {locked.id} (Missing Permissions)"
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or (r.exc_info and r.name.startswith("bot"))]
    assert len(loopback.identifies) == 1 and not loopback.resumes


async def test_where_the_bot_may_not_post_it_sends_nothing_and_warns_once_until_it_may_again(
    bot: AnswerBot, loopback: LoopbackDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """Handling: the global `_can_reply_here` check (commands) and `can_reply` before mentions skip a channel the
    bot knows it cannot post in, so Discord sees no 403s (they count towards its invalid-request ban). The warning
    comes once, and again only after a reply there got through."""
    muted = loopback.add_channel("muted", deny_everyone=SEND_MESSAGES)
    await loopback.dispatch("CHANNEL_CREATE", muted.payload())
    user = loopback.make_user("cara")
    since = loopback.mark()

    def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == FAILURES_LOG and r.levelno == logging.WARNING]

    def quiet_notes() -> int:
        return sum(r.getMessage().startswith("Still not allowed") for r in caplog.records)

    await loopback.post_message(user, f"!ask {QUESTION}", channel=muted)
    await eventually(lambda: len(warnings()) == 1)
    await loopback.post_message(user, QUESTION, channel=muted, mention_bot=True)
    await eventually(lambda: quiet_notes() == 1)
    assert not [r for r in loopback.requests[since:] if f"/channels/{muted.id}/" in r.path]
    assert warnings()[0].startswith(f"Not allowed to answer in channel {muted.id} (missing the Send Messages permission)")

    muted.deny_everyone = 0
    await loopback.dispatch("CHANNEL_UPDATE", muted.payload())
    await ask(loopback, "allowed", channel=muted)
    muted.deny_everyone = SEND_MESSAGES
    await loopback.dispatch("CHANNEL_UPDATE", muted.payload())
    await loopback.post_message(user, f"!ask {QUESTION}", channel=muted)
    await eventually(lambda: len(warnings()) == 2)


# --- the corpus at !reload --------------------------------------------------------------------


@pytest.fixture
async def serving(start_bot: StartBot, tmp_path: Path) -> tuple[AnswerBot, Engine, Path]:
    """A bot serving a copy of the test corpus, which the test may then break."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    engine = Engine.from_dir(corpus)
    return await start_bot(with_engine=engine, corpus_dir=corpus), engine, corpus


async def reload(loopback: LoopbackDiscord) -> str:
    request = await loopback.post_message(loopback.owner, "!reload")
    return (await loopback.wait_for_reply(request)).json["content"].replace("\\", "")


async def test_a_removed_corpus_folder_keeps_the_old_index_and_tells_the_owner(
    serving: tuple[AnswerBot, Engine, Path], loopback: LoopbackDiscord
) -> None:
    """Handling: `!reload` keeps the engine it has when the new one cannot load, and replies with the reason."""
    bot, old, corpus = serving
    shutil.rmtree(corpus)
    content = await reload(loopback)
    assert content.startswith("Reload failed, so I'm still answering from the previous 3 articles.")
    assert f"Why: corpus folder {corpus} does not exist" in content
    assert bot.engine is old
    await ask(loopback)


async def test_an_unreadable_corpus_folder_keeps_the_old_index_and_tells_the_owner(
    serving: tuple[AnswerBot, Engine, Path], loopback: LoopbackDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Handling: as above, for permission denied (mode 000; simulated where the tests run as root)."""
    bot, old, corpus = serving
    with deny_listing(corpus, monkeypatch):
        content = await reload(loopback)
    assert content.startswith("Reload failed, so I'm still answering from the previous 3 articles.")
    assert f"cannot list corpus folder {corpus}: Permission denied; check its permissions" in content
    assert bot.engine is old
    await ask(loopback)


async def test_a_bad_file_is_named_to_the_owner_and_the_good_ones_serve(
    serving: tuple[AnswerBot, Engine, Path], loopback: LoopbackDiscord
) -> None:
    """Handling: the reload reply lists the engine's warnings, so the owner learns which file was skipped and why."""
    bot, old, corpus = serving
    (corpus / "04-broken.txt").write_bytes(b"\x00\x01binary\xff" * 10)
    content = await reload(loopback)
    assert content.startswith("Reloaded: 3 articles (was 3), 1 warning.")
    assert f"{corpus / '04-broken.txt'}: looks binary" in content
    assert bot.engine is not old
    await ask(loopback)


async def test_a_corpus_of_only_bad_files_keeps_the_old_index(
    serving: tuple[AnswerBot, Engine, Path], loopback: LoopbackDiscord
) -> None:
    """Handling: as for a removed folder, when every file is unusable."""
    bot, old, corpus = serving
    for article in corpus.glob("*.txt"):
        article.write_bytes(b"\xff\xfe\x00not text")
    content = await reload(loopback)
    assert content.startswith("Reload failed, so I'm still answering from the previous 3 articles.")
    assert "has no usable articles" in content
    assert bot.engine is old
    await ask(loopback)


# --- health -----------------------------------------------------------------------------------


async def test_a_connected_bot_keeps_its_heartbeat_file_fresh(start_bot: StartBot, tmp_path: Path) -> None:
    health = tmp_path / "run" / "health"
    bot = await start_bot(health_file=health)
    await eventually(health.exists)
    assert check_health(health, DEFAULT_MAX_AGE)[0]
    await bot.close()
    assert not bot._heartbeat.is_running()


# --- rate limits and interactions that go wrong -----------------------------------------------


def bot_trouble(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Our records at ERROR, and any of ours with a traceback: what an operator would be paged for."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("bot") and (r.levelno >= logging.ERROR or r.exc_info) or r.levelno >= logging.ERROR
    ]


async def test_a_long_rate_limit_spell_is_waited_out_and_every_question_gets_its_answer(
    bot: AnswerBot, loopback: LoopbackDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """Handling: `replies.retrying` keeps waiting out 429s (Retry-After) after discord.py's own five tries, until
    RATE_LIMIT_BUDGET; the nonce keeps each reply single. Without it, discord.py gave up after about 1.5 s, the
    429 was logged as a crash with its traceback, and the question was never answered."""
    channels = [loopback.general, *(loopback.add_channel(f"busy-{n}") for n in range(1, 10))]
    for channel in channels[1:]:
        await loopback.dispatch("CHANNEL_CREATE", channel.payload())
    loopback.queue_rate_limit("POST", MESSAGES, retry_after=0.3, for_seconds=4.0)
    questions = []
    for n in range(20):
        text = QUESTION if n % 2 else f"!ask {QUESTION}"
        user = loopback.make_user(f"patient{n}")
        questions.append(await loopback.post_message(user, text, channel=channels[n % 10], mention_bot=n % 2 == 1))
    await loopback.wait_for(lambda: all(loopback.replies_to(q) for q in questions), timeout=30)
    await barrier(loopback)
    for question in questions:
        statuses = reply_statuses(loopback, question)
        assert [len(loopback.replies_to(question)), statuses[-1]] == [1, 200]
        assert loopback.replies_to(question)[0]["embeds"]
    assert max(reply_statuses(loopback, q).count(429) for q in questions) > 5, "discord.py alone gives up after 5"
    assert not bot_trouble(caplog)


async def test_a_rate_limit_that_outlasts_the_budget_is_one_warning_and_no_apology(
    bot: AnswerBot, loopback: LoopbackDiscord, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Handling: when RATE_LIMIT_BUDGET runs out, `failures.report` logs one warning naming the channel; no apology
    is attempted, since it would only be rate-limited as well."""
    monkeypatch.setattr(replies, "RATE_LIMIT_BUDGET", 1.0)
    spell_over = time.monotonic() + 3.0
    loopback.queue_rate_limit("POST", MESSAGES, retry_after=0.3, for_seconds=3.0)
    question = await loopback.post_message(loopback.make_user("unlucky"), f"!ask {QUESTION}")
    await eventually(lambda: any("kept rate-limiting" in r.getMessage() for r in caplog.records), timeout=10)
    await eventually(lambda: time.monotonic() > spell_over)
    await barrier(loopback)
    assert not loopback.replies_to(question)
    warnings = [r.getMessage() for r in caplog.records if r.name == FAILURES_LOG]
    assert warnings == [
        f"Discord kept rate-limiting command ask in channel {loopback.general.id} for over 1 s; "
        "gave up, so that question has no answer"
    ]
    assert not bot_trouble(caplog)


async def test_an_interaction_delivered_twice_gets_one_answer_and_one_quiet_line(
    bot: AnswerBot, loopback: LoopbackDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """Handling: `failures.report` recognises 40060 (already acknowledged): the other delivery answered, so there is
    nothing to apologise for. Before, it was logged as a crash with a traceback, then "Could not even send the
    apology"."""
    interaction = await loopback.slash(loopback.make_user("twice"), "ask", {"question": QUESTION})
    await loopback.dispatch("INTERACTION_CREATE", interaction)
    await loopback.wait_for_response(interaction)
    await eventually(lambda: any(r.name == FAILURES_LOG for r in caplog.records))
    await barrier(loopback)
    callbacks = [r.status for r in loopback.requests if r.path.endswith("/callback")]
    assert sorted(callbacks) == [200, 400]
    assert len([r for r in loopback.sent_messages() if f"/{interaction['token']}" in r.path]) == 1
    assert [r.getMessage() for r in caplog.records if r.name == FAILURES_LOG] == [
        f"Discord delivered an interaction in channel {loopback.general.id} twice; the first delivery answered it"
    ]
    assert not bot_trouble(caplog) and "Could not even send the apology" not in caplog.text


async def test_server_errors_that_outlast_an_interactions_deadline_are_one_warning(
    bot: AnswerBot, loopback: LoopbackDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """Handling: two 503s make discord.py retry the deferral after 1 s and 3 s, past Discord's 3 s deadline, so the
    third try gets 10062 (Unknown interaction). `failures.report` makes that one warning; before, it was a crash
    with a traceback and a failed apology."""
    loopback.queue_error("POST", r"/interactions/\d+/[^/]+/callback", 503, times=2)
    interaction = await loopback.slash(loopback.make_user("late"), "ask", {"question": QUESTION})
    await eventually(lambda: any(r.name == FAILURES_LOG for r in caplog.records), timeout=15)
    await barrier(loopback)
    assert [r.status for r in loopback.requests if r.path.endswith("/callback")] == [503, 503, 404]
    assert [r.getMessage() for r in caplog.records if r.name == FAILURES_LOG] == [
        f"An interaction in channel {loopback.general.id} expired before Discord took our response "
        "(Discord slow or failing); the user saw 'interaction failed'"
    ]
    assert not bot_trouble(caplog) and "Could not even send the apology" not in caplog.text
    assert not [r for r in loopback.sent_messages() if f"/{interaction['token']}" in r.path]
