"""A burst of 1,000 questions through the loopback gateway: one reply each, and the event loop never stalls.

Marked `load` (it takes several seconds); it runs in the default suite, and `-m "not load"` skips it.
Latency and throughput are not asserted here (they depend on the machine); bench/discord_load.py
measures them against the real `python -m bot run` process.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import discord
import pytest
from loopback.server import LoopbackDiscord, Recorded

from bot.discord_bot.backlog import SearchTimes
from bot.discord_bot.exts import ask
from bot.discord_bot.failures import BUSY
from bot.discord_bot.inflight import RESTARTING
from bot.search.engine import Answer, Engine

from .helpers import StartBot, eventually

USERS = 100
CHANNELS = 10
PER_USER = 10  # 1,000 questions in all
HEARTBEAT_MS = 1000
SLOW_EVERY = 100  # one search in a hundred is slow, as a hard question on a big corpus can be
SLOW_SECONDS = 2 * HEARTBEAT_MS / 1000  # on the event loop, one such search delays a heartbeat by over an interval
QUESTIONS = (
    "when was the lighthouse finished?",
    "how do honeybees tell each other where flowers are?",
    "which tea clipper was the fastest?",
    "who designed the Bell Rock lighthouse?",
)
NOTICE = "You're asking faster than I can keep up with."


class SometimesSlowEngine:
    """The real engine, but every SLOW_EVERY-th search takes SLOW_SECONDS more."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._searches = itertools.count(1)

    def ask(self, question: str, top_k: int) -> Answer:
        if next(self._searches) % SLOW_EVERY == 0:
            time.sleep(SLOW_SECONDS)
        return self._engine.ask(question, top_k)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


class GatedEngine:
    """The real engine, but every search waits until the test opens the gate."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.gate = threading.Event()
        self.searching = 0

    def ask(self, question: str, top_k: int) -> Answer:
        self.searching += 1
        self.gate.wait(timeout=30)
        return self._engine.ask(question, top_k)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def replied_to(request: Recorded) -> str | None:
    """The id of the message a request to post a reply refers to, whatever came of the request."""
    if request.method != "POST" or not request.path.endswith("/messages"):
        return None
    reference = (request.json or {}).get("message_reference") or {}
    return str(reference["message_id"]) if "message_id" in reference else None


@pytest.mark.load
async def test_a_burst_of_a_thousand_questions_gets_exactly_one_reply_each_without_stalling_the_loop(
    start_bot: StartBot, loopback: LoopbackDiscord, engine: Engine
) -> None:
    """100 users ask 10 questions each across 10 channels, half by `!ask`, half by mention, as fast as the
    gateway delivers them. With a cooldown of 9 questions per user, each user gets 9 answers and one
    cooldown notice: every question exactly one reply (matched by message reference), none lost, none
    duplicated. Meanwhile no gap between heartbeats may exceed 1.5 intervals: searches run in worker
    threads, so even the ten searches that take two intervals each never hold up the event loop.
    """
    loopback.heartbeat_interval_ms = HEARTBEAT_MS
    channels = [loopback.general, *(loopback.add_channel(f"load-{n}") for n in range(1, CHANNELS))]
    # No time bound (MAX_ANSWER_DELAY=0): every question must be searched here, however busy the machine
    # running the tests is; the time bound has its own tests below.
    await start_bot(
        with_engine=SometimesSlowEngine(engine), cooldown_questions=PER_USER - 1, cooldown_seconds=3600.0, max_answer_delay=0.0
    )
    users = [loopback.make_user(f"user{n:03}") for n in range(USERS)]

    attempts: Counter[str] = Counter()  # requests to reply to each message
    replies: Counter[str] = Counter()  # replies posted (accepted, not a repeated nonce)
    sent: dict[str, Recorded] = {}
    seen = 0

    def count_replies() -> int:
        nonlocal seen
        for request in loopback.requests[seen:]:
            if (question := replied_to(request)) is not None:
                attempts[question] += 1
                if request.ok and not request.duplicate:
                    replies[question] += 1
                    sent[question] = request
        seen = len(loopback.requests)
        return len(replies)

    beats_before = len(loopback.heartbeats)
    questions: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for round_ in range(PER_USER):
        for n, user in enumerate(users):
            text = QUESTIONS[(n + round_) % len(QUESTIONS)]
            mention = (n + round_) % 2 == 0
            channel = channels[(n + round_) % CHANNELS]
            message = await loopback.post_message(
                user, text if mention else f"!ask {text}", channel=channel, mention_bot=mention
            )
            questions.append((user, message))
    await loopback.wait_for(lambda: count_replies() >= len(questions), timeout=50)
    last = await loopback.post_message(loopback.make_user("last"), f"!ask {QUESTIONS[0]}")
    await loopback.wait_for_reply(last)  # a barrier: any second reply to the burst would be in by now
    beats = len(loopback.heartbeats)
    await loopback.wait_for(lambda: len(loopback.heartbeats) >= beats + 2, timeout=5)

    count_replies()
    assert [replies[message["id"]] for _, message in questions] == [1] * len(questions)
    assert [attempts[message["id"]] for _, message in questions] == [1] * len(questions)
    answers: Counter[str] = Counter()
    notices: Counter[str] = Counter()
    for user, message in questions:
        body = sent[message["id"]].json
        if body.get("embeds"):
            answers[user["id"]] += 1
        else:
            assert body["content"].startswith(NOTICE), body["content"]
            notices[user["id"]] += 1
    assert set(answers.values()) == {PER_USER - 1} and set(notices.values()) == {1} and len(notices) == USERS
    assert (len(loopback.identifies), len(loopback.resumes)) == (1, 0)

    times = loopback.heartbeats[beats_before:]
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert gaps and max(gaps) < 1.5 * HEARTBEAT_MS / 1000, f"the loop stalled: heartbeat gaps up to {max(gaps):.2f} s"


async def test_past_max_waiting_newcomers_are_told_to_come_back_and_answered_once_the_searches_catch_up(
    start_bot: StartBot, loopback: LoopbackDiscord, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood that outgrows the searches would queue without bound (memory, and answers minutes late).
    Past MAX_WAITING, a question asked on purpose gets BUSY at once and a message in an answer channel
    is left alone; the questions already waiting are all answered, and so is the next one."""
    gated = GatedEngine(engine)
    chat = loopback.add_channel("chat")
    await start_bot(with_engine=gated, answer_channels=frozenset({chat.id}), cooldown_seconds=0.0)
    # discord.py loads each extension as a fresh module, which only sys.modules holds
    monkeypatch.setattr(sys.modules[ask.__name__], "MAX_WAITING", 2)
    waiting = [await loopback.post_message(loopback.make_user(f"early{n}"), f"!ask {QUESTIONS[0]}") for n in range(2)]
    await eventually(lambda: gated.searching == 2)

    # The chat message goes first: by the time the later question's BUSY reply is back, the bot has
    # handled both (events are dispatched in order), so opening the gate cannot race the chat message.
    unheard = await loopback.post_message(loopback.make_user("chatty"), QUESTIONS[0], channel=chat)
    refused = await loopback.post_message(loopback.make_user("late"), f"!ask {QUESTIONS[0]}")
    assert (await loopback.wait_for_reply(refused)).json["content"] == BUSY
    gated.gate.set()
    for question in waiting:
        assert (await loopback.wait_for_reply(question)).json["embeds"]
    after = await loopback.post_message(loopback.make_user("later"), f"!ask {QUESTIONS[0]}")
    assert (await loopback.wait_for_reply(after)).json["embeds"]
    await asyncio.sleep(0.2)
    assert loopback.replies_to(unheard) == [] and [len(loopback.replies_to(q)) for q in waiting] == [1, 1]


class SlowEngine(GatedEngine):
    """The gated engine, whose every search takes SEARCH_SECONDS on the test's clock (`now`), not in real time."""

    SEARCH_SECONDS = 20.0

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.now = 0.0

    def ask(self, question: str, top_k: int) -> Answer:
        answer = super().ask(question, top_k)
        self.now += self.SEARCH_SECONDS
        return answer


async def test_newcomers_are_told_to_come_back_when_their_answer_would_be_more_than_max_answer_delay_late(
    start_bot: StartBot, loopback: LoopbackDiscord, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Far under MAX_WAITING, searches of 20 s make one question ahead mean 40 s for a newcomer: over the 30 s
    bound, so it gets BUSY at once; the question ahead is answered, and so is the next one once nobody waits."""
    slow = SlowEngine(engine)
    bot = await start_bot(with_engine=slow, cooldown_seconds=0.0, max_answer_delay=30.0)
    monkeypatch.setattr(bot.get_cog("Ask"), "_search_times", SearchTimes(threads=1, clock=lambda: slow.now))
    slow.gate.set()
    first = await loopback.post_message(loopback.make_user("first"), f"!ask {QUESTIONS[0]}")
    assert (await loopback.wait_for_reply(first)).json["embeds"]  # alone, 20 s is within the bound

    slow.gate.clear()
    ahead = await loopback.post_message(loopback.make_user("ahead"), f"!ask {QUESTIONS[1]}")
    await eventually(lambda: slow.searching == 2)
    refused = await loopback.post_message(loopback.make_user("late"), f"!ask {QUESTIONS[2]}")
    assert (await loopback.wait_for_reply(refused)).json["content"] == BUSY
    slow.gate.set()
    assert (await loopback.wait_for_reply(ahead)).json["embeds"]
    after = await loopback.post_message(loopback.make_user("later"), f"!ask {QUESTIONS[2]}")
    assert (await loopback.wait_for_reply(after)).json["embeds"]


async def test_with_max_answer_delay_0_only_the_count_bounds_the_queue(
    start_bot: StartBot, loopback: LoopbackDiscord, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = SlowEngine(engine)
    bot = await start_bot(with_engine=slow, cooldown_seconds=0.0, max_answer_delay=0.0)
    monkeypatch.setattr(bot.get_cog("Ask"), "_search_times", SearchTimes(threads=1, clock=lambda: slow.now))
    slow.gate.set()
    first = await loopback.post_message(loopback.make_user("first"), f"!ask {QUESTIONS[0]}")
    assert (await loopback.wait_for_reply(first)).json["embeds"]
    slow.gate.clear()
    ahead = await loopback.post_message(loopback.make_user("ahead"), f"!ask {QUESTIONS[1]}")
    await eventually(lambda: slow.searching == 2)
    late = await loopback.post_message(loopback.make_user("late"), f"!ask {QUESTIONS[2]}")
    await eventually(lambda: slow.searching == 3)  # searched, not refused: 40 s late is allowed without the bound
    slow.gate.set()
    for question in (ahead, late):
        assert (await loopback.wait_for_reply(question)).json["embeds"]


async def test_a_question_that_reaches_the_search_already_too_late_is_told_to_come_back(
    start_bot: StartBot, loopback: LoopbackDiscord, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no search measured and nobody waiting, lateness is the question's own age: an event loop that fell
    behind in a flood hands questions on late, and one 40 s old would be answered past the 30 s bound."""
    bot = await start_bot(cooldown_seconds=0.0, max_answer_delay=30.0)
    cog = bot.get_cog("Ask")

    def forty_seconds_on() -> datetime.datetime:
        return discord.utils.utcnow() + datetime.timedelta(seconds=40)

    monkeypatch.setattr(cog, "_now", forty_seconds_on)
    old = await loopback.post_message(loopback.make_user("old"), f"!ask {QUESTIONS[0]}")
    assert (await loopback.wait_for_reply(old)).json["content"] == BUSY
    monkeypatch.setattr(cog, "_now", discord.utils.utcnow)
    fresh = await loopback.post_message(loopback.make_user("fresh"), f"!ask {QUESTIONS[0]}")
    assert (await loopback.wait_for_reply(fresh)).json["embeds"]


async def one_searching_one_waiting(
    bot: Any, slow: SlowEngine, loopback: LoopbackDiscord, monkeypatch: pytest.MonkeyPatch, *, threads: int
) -> tuple[Any, ThreadPoolExecutor, Any, Any]:
    """One search thread, the search times assumed for `threads`: a first question answered (one search timed),
    then "ahead" held in its search by the engine's gate and "queued" waiting behind it."""
    cog = bot.get_cog("Ask")
    monkeypatch.setattr(cog, "_search_times", SearchTimes(threads=threads, clock=lambda: slow.now))
    one_thread = ThreadPoolExecutor(1)
    monkeypatch.setattr(cog, "_searches", one_thread)
    slow.gate.set()
    first = await loopback.post_message(loopback.make_user("first"), f"!ask {QUESTIONS[0]}")
    assert (await loopback.wait_for_reply(first)).json["embeds"]
    slow.gate.clear()
    ahead = await loopback.post_message(loopback.make_user("ahead"), f"!ask {QUESTIONS[1]}")
    await eventually(lambda: slow.searching == 2)
    queued = await loopback.post_message(loopback.make_user("queued"), f"!ask {QUESTIONS[2]}")
    await eventually(lambda: cog._waiting == 2)
    return cog, one_thread, ahead, queued


async def test_a_question_still_waiting_for_a_search_when_the_bot_stops_is_told_to_come_back_if_it_cannot_be_answered_in_the_grace(
    start_bot: StartBot, loopback: LoopbackDiscord, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a flood the queue holds far more than SHUTDOWN_GRACE can answer: a waiting question whose
    search (20 s here) would end after the drain's deadline gets RESTARTING at once, while the search
    under way is finished and answered, so the drain ends with nothing cut off."""
    slow = SlowEngine(engine)
    bot = await start_bot(with_engine=slow, cooldown_seconds=0.0, max_answer_delay=0.0)
    cog, one_thread, ahead, queued = await one_searching_one_waiting(bot, slow, loopback, monkeypatch, threads=1)
    drain = asyncio.create_task(bot.in_flight.drain(5.0))
    await asyncio.sleep(0.1)
    slow.gate.set()
    assert (await loopback.wait_for_reply(ahead)).json["embeds"]
    assert (await loopback.wait_for_reply(queued)).json["content"] == RESTARTING
    assert await drain == 0 and slow.searching == 2
    one_thread.shutdown()


async def test_a_question_whose_answer_became_too_late_while_it_waited_is_told_to_come_back(
    start_bot: StartBot, loopback: LoopbackDiscord, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The estimate made when a question is taken can prove wrong (in a flood searches slow down after it):
    the search thread looks again as it takes the question, and one now past MAX_ANSWER_DELAY gets BUSY."""
    slow = SlowEngine(engine)
    bot = await start_bot(with_engine=slow, cooldown_seconds=0.0, max_answer_delay=30.0)
    # taken waits: 20 s predicted, with two threads assumed
    cog, one_thread, ahead, taken = await one_searching_one_waiting(bot, slow, loopback, monkeypatch, threads=2)

    def fifteen_seconds_on() -> datetime.datetime:
        return discord.utils.utcnow() + datetime.timedelta(seconds=15)

    monkeypatch.setattr(cog, "_now", fifteen_seconds_on)  # it waited 15 s: 35 s late if searched now
    slow.gate.set()
    assert (await loopback.wait_for_reply(ahead)).json["embeds"]
    assert (await loopback.wait_for_reply(taken)).json["content"] == BUSY
    assert slow.searching == 2
    one_thread.shutdown()
