"""End to end: the real bot and engine against the loopback Discord server, asked every way."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from loopback.server import LoopbackDiscord, body_of, custom_ids

from bot.discord_bot.client import AnswerBot
from bot.discord_bot.exts.ask import MENU_NAME, NO_TEXT
from bot.discord_bot.text import escape, highlight
from bot.search.engine import Answer, Engine

from .helpers import StartBot, eventually

QUESTION = "when was the lighthouse finished?"
NO_PINGS = {"parse": [], "replied_user": False}


def expected_answer(engine: Engine, bot: AnswerBot, question: str = QUESTION) -> Answer:
    answer = engine.ask(question, bot.settings.top_k)
    assert not answer.abstained, "the fixture corpus should answer this question"
    return answer


def assert_renders(answer: Answer, message: dict) -> None:
    """The sent embed quotes every hit in rank order, bolds matched words, names the articles."""
    embed = message["embeds"][0]
    description = embed["description"]
    positions = [description.index(highlight(hit.text, hit.matched)) for hit in answer.hits]
    assert positions == sorted(positions)
    for rank, hit in enumerate(answer.hits, start=1):
        assert f"**{rank}.**" in description
        assert escape(hit.article.title) in description
        for word in hit.matched:
            assert f"**{word}**".lower() in description.lower()
    assert "ms" in embed["footer"]["text"]
    sentences = ",".join(str(hit.sentence_id) for hit in answer.hits)
    articles = ",".join(dict.fromkeys(str(a.number) for hit in answer.hits for a in (hit.article, *hit.also_in)))
    version = custom_ids(message)[0].split(":")[2]  # the corpus version: see test_e2e_buttons
    assert re.fullmatch(r"[0-9a-f]{8}", version)
    assert custom_ids(message) == [
        f"answer:context:{version}:{sentences}",
        f"answer:sources:{version}:{articles}",
        f"answer:vote:up:{version}:{sentences}",
        f"answer:vote:down:{version}:{sentences}",
    ]


async def test_prefix_question_gets_an_embed_reply_with_typing(bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine) -> None:
    expected = expected_answer(engine, bot)
    since = loopback.mark()
    question = await loopback.post_message(loopback.make_user("alice"), f"!ask {QUESTION}")
    sent = await loopback.wait_for_reply(question)
    typing = await loopback.wait_for_request("POST", rf"/channels/{loopback.general.id}/typing", since=since)
    assert loopback.requests.index(typing) < loopback.requests.index(sent)
    assert sent.json["allowed_mentions"] == NO_PINGS
    assert_renders(expected, sent.json)


async def test_the_bot_asks_only_for_what_it_needs(bot: AnswerBot, loopback: LoopbackDiscord) -> None:
    guilds, guild_messages, direct_messages, message_content = 1 << 0, 1 << 9, 1 << 12, 1 << 15
    assert loopback.identifies[0]["intents"] == guilds | guild_messages | direct_messages | message_content
    question = await loopback.post_message(loopback.make_user("zed"), f"!ask {QUESTION}")
    await loopback.wait_for_reply(question)
    request_guild_members = 8
    assert request_guild_members not in {payload["op"] for payload in loopback.received}
    assert bot._connection.max_messages is None and not bot._connection.member_cache_flags.value


async def test_a_mention_is_a_question(bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine) -> None:
    expected = expected_answer(engine, bot)
    question = await loopback.post_message(loopback.make_user("bob"), QUESTION, mention_bot=True)
    sent = await loopback.wait_for_reply(question)
    assert sent.json["allowed_mentions"] == NO_PINGS
    assert_renders(expected, sent.json)


async def test_a_reply_to_an_answer_is_a_question(bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine) -> None:
    carol = loopback.make_user("carol")
    first = await loopback.post_message(carol, f"!ask {QUESTION}")
    answer = loopback.message_for(await loopback.wait_for_reply(first))
    follow_up = "how tall is the tower?"
    expected = expected_answer(engine, bot, follow_up)
    question = await loopback.post_message(carol, follow_up, reply_to=answer, ping_reply=False)
    sent = await loopback.wait_for_reply(question)
    assert_renders(expected, sent.json)


async def test_slash_ask_defers_then_follows_up_with_the_answer(
    bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine
) -> None:
    expected = expected_answer(engine, bot)
    interaction = await loopback.slash(loopback.make_user("dave"), "ask", {"question": QUESTION})
    sent = await loopback.wait_for_response(interaction)
    callback = await loopback.wait_for_request("POST", rf"/interactions/{interaction['id']}/.+/callback")
    assert callback.json["type"] == 5  # deferred: Discord shows "thinking…" while the engine works
    assert sent.path == f"/webhooks/{loopback.application_id}/{interaction['token']}"
    assert sent.json["allowed_mentions"]["parse"] == []
    assert_renders(expected, body_of(sent))


async def test_a_dm_is_a_question_with_or_without_the_prefix(
    bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine
) -> None:
    erin = loopback.make_user("erin")
    dm = loopback.dm_channel(erin)
    expected = expected_answer(engine, bot)
    for text in (QUESTION, f"!ask {QUESTION}"):
        question = await loopback.post_message(erin, text, channel=dm)
        sent = await loopback.wait_for_reply(question)
        assert sent.path == f"/channels/{dm.id}/messages"
        assert_renders(expected, sent.json)
    interaction = await loopback.slash(erin, "ask", {"question": QUESTION}, channel=dm)
    assert_renders(expected, body_of(await loopback.wait_for_response(interaction)))


async def test_abstention_is_short_friendly_and_hints(bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine) -> None:
    unknown = "What is the capital of Mongolia?"
    assert engine.ask(unknown).abstained
    question = await loopback.post_message(loopback.make_user("frank"), f"!ask {unknown}")
    sent = await loopback.wait_for_reply(question)
    count = len(engine.sources())
    assert sent.json["content"].startswith(f"I couldn't find that in the {count} articles")
    assert "`!sources`" in sent.json["content"] and "rephras" in sent.json["content"]
    assert not sent.json.get("embeds") and not sent.json.get("components")


async def test_everyone_in_a_question_never_pings(bot: AnswerBot, loopback: LoopbackDiscord) -> None:
    text = f"@everyone @here <@&{loopback.guild_id}> <@{loopback.owner['id']}> {QUESTION}"
    question = await loopback.post_message(loopback.make_user("mallory"), f"!ask {text}")
    sent = await loopback.wait_for_reply(question)
    assert sent.json["allowed_mentions"] == NO_PINGS
    shown = sent.json["embeds"][0]["title"]
    assert "@everyone" not in shown and "@here" not in shown
    assert not re.search(r"(?<!\\)<@", shown), "mentions are shown escaped, as text"


async def test_without_embed_links_the_answer_is_plain_text(
    bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine
) -> None:
    expected = expected_answer(engine, bot)
    question = await loopback.post_message(loopback.make_user("gina"), f"!ask {QUESTION}", channel=loopback.no_embeds)
    sent = await loopback.wait_for_reply(question)
    assert not sent.json.get("embeds")
    content = sent.json["content"]
    assert len(content) <= 2000
    for hit in expected.hits:
        assert highlight(hit.text, hit.matched) in content
    assert len(custom_ids(sent.json)) == 4


async def test_every_message_in_an_answer_channel_is_a_question(
    start_bot: StartBot, loopback: LoopbackDiscord, engine: Engine
) -> None:
    bot = await start_bot(answer_channels=frozenset({loopback.general.id}))
    expected = expected_answer(engine, bot)
    question = await loopback.post_message(loopback.make_user("hank"), QUESTION)
    assert_renders(expected, (await loopback.wait_for_reply(question)).json)


async def test_answer_in_thread_starts_a_thread_on_the_question(
    start_bot: StartBot, loopback: LoopbackDiscord, engine: Engine
) -> None:
    bot = await start_bot(answer_in_thread=True)
    expected = expected_answer(engine, bot)
    question = await loopback.post_message(loopback.make_user("iris"), f"!ask {QUESTION}")
    thread = await loopback.wait_for_request(
        "POST", rf"/channels/{loopback.general.id}/messages/{question['id']}/threads"
    )
    assert thread.json["name"] == QUESTION
    sent = await loopback.wait_for_request("POST", rf"/channels/{question['id']}/messages")
    assert_renders(expected, sent.json)


async def test_without_the_message_content_intent_mentions_still_work(
    start_bot: StartBot, loopback: LoopbackDiscord, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.discord_bot.client")
    bot = await start_bot(message_content=False)
    assert "switch on Bot → Privileged Gateway Intents → Message Content Intent" in caplog.text
    assert not loopback.identifies[-1]["intents"] & (1 << 15)
    expected = expected_answer(engine, bot)
    jo = loopback.make_user("jo")
    unreadable = await loopback.post_message(jo, f"!ask {QUESTION}")
    question = await loopback.post_message(jo, QUESTION, mention_bot=True)
    assert_renders(expected, (await loopback.wait_for_reply(question)).json)
    replies = [r for r in loopback.sent_messages() if (r.json or {}).get("message_reference")]
    assert [str(r.json["message_reference"]["message_id"]) for r in replies] == [question["id"]]
    assert unreadable["content"].startswith("!ask"), "the server blanked it for the bot, as Discord does"
    command = await loopback.post_message(jo, "sources", mention_bot=True)
    assert (await loopback.wait_for_reply(command)).json["embeds"][0]["title"].startswith("Sources (")


async def test_a_bare_mention_gets_a_hint(bot: AnswerBot, loopback: LoopbackDiscord) -> None:
    hello = await loopback.post_message(loopback.make_user("lou"), "", mention_bot=True)
    content = (await loopback.wait_for_reply(hello)).json["content"]
    assert content.startswith("Ask me a question after the mention, or use `!ask <question>`.")


async def test_outside_allowed_channels_slash_says_where_and_messages_are_ignored(
    start_bot: StartBot, loopback: LoopbackDiscord
) -> None:
    elsewhere = loopback.add_channel("elsewhere")
    await start_bot(allowed_channels=frozenset({elsewhere.id}))
    kim = loopback.make_user("kim")
    question = await loopback.post_message(kim, QUESTION, mention_bot=True)
    for interaction in (
        await loopback.slash(kim, "ask", {"question": QUESTION}),
        await loopback.slash(kim, "help"),  # app commands that are not hybrid get the same checks
        await loopback.message_command(kim, MENU_NAME, question),
    ):
        sent = await loopback.wait_for_response(interaction)
        assert body_of(sent)["content"] == f"I only answer in <#{elsewhere.id}>."
        assert body_of(sent)["flags"] & 64
    assert not [r for r in loopback.sent_messages() if (r.json or {}).get("message_reference")]


async def test_in_an_answer_channel_only_answers_are_posted_and_chatter_costs_no_questions(
    start_bot: StartBot, loopback: LoopbackDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """Chatter gets nothing (no abstention, no typing), and does not use up the asker's cooldown; the asker's
    questions are answered until the cooldown, then the channel stays quiet instead of posting a notice."""
    caplog.set_level(logging.DEBUG, logger="bot.discord_bot.exts.ask")
    bot = await start_bot(answer_channels=frozenset({loopback.general.id}), cooldown_questions=2, cooldown_seconds=600.0)
    kai = loopback.make_user("kai")
    since = loopback.mark()
    chatter = [await loopback.post_message(kai, text) for text in ("thanks!", "lol ok", "anyone up for lunch?")]
    await eventually(lambda: bot.stats.snapshot().unanswered_chatter == 3)
    questions = [await loopback.post_message(kai, QUESTION) for _ in range(3)]
    await eventually(lambda: bot.stats.snapshot().answered == 2 and "over its asker's cooldown" in caplog.text)
    replies = [request for question in questions for request in loopback.reply_requests(question)]
    assert len(replies) == 2 and all(request.json["embeds"] for request in replies), "two answers, then quiet"
    assert not [r for r in loopback.requests[since:] if r.path.endswith("/typing")]
    explicit = await loopback.post_message(loopback.make_user("lea"), "!ask What is the capital of Mongolia?")
    assert (await loopback.wait_for_reply(explicit)).json["content"].startswith("I couldn't find that")
    for message in chatter:
        assert loopback.reply_requests(message) == [], message["content"]


async def test_explicit_asks_in_an_answer_channel_still_get_the_abstention_and_the_cooldown_notice(
    start_bot: StartBot, loopback: LoopbackDiscord
) -> None:
    await start_bot(answer_channels=frozenset({loopback.general.id}), cooldown_questions=1, cooldown_seconds=600.0)
    mo = loopback.make_user("mo")
    unknown = await loopback.post_message(mo, "What is the capital of Mongolia?", mention_bot=True)
    assert (await loopback.wait_for_reply(unknown)).json["content"].startswith("I couldn't find that")
    again = await loopback.post_message(mo, f"!ask {QUESTION}")
    assert (await loopback.wait_for_reply(again)).json["content"].startswith("You're asking faster than I can keep up")


async def test_slash_ask_private_answers_the_asker_alone_and_its_buttons_work(
    bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine, tmp_path: Path
) -> None:
    """The deferral and the answer are both ephemeral (the answer takes the deferral's place, so both must be).
    Its buttons are the usual ones and tell the truth: context and sources to the clicker, votes saved with
    the question."""
    expected = expected_answer(engine, bot)
    nell = loopback.make_user("nell")
    interaction = await loopback.slash(nell, "ask", {"question": QUESTION, "private": True})
    sent = await loopback.wait_for_response(interaction)
    callback = await loopback.wait_for_request("POST", rf"/interactions/{interaction['id']}/.+/callback")
    assert callback.json["type"] == 5 and callback.json["data"]["flags"] & 64
    assert body_of(sent)["flags"] & 64
    assert_renders(expected, body_of(sent))
    message = loopback.message_for(sent)
    context, sources, up, _ = custom_ids(message)
    for button, title in ((context, "More context"), (sources, "Sources of this answer")):
        click = await loopback.click(nell, message, button)
        shown = await loopback.wait_for_request("POST", rf"/interactions/{click['id']}/.+/callback")
        assert shown.json["data"]["flags"] & 64 and shown.json["data"]["embeds"][0]["title"] == title
    vote = await loopback.click(nell, message, up)
    thanks = await loopback.wait_for_request("POST", rf"/interactions/{vote['id']}/.+/callback")
    assert thanks.json["data"]["content"] == "Thanks for the feedback!"
    assert json.loads(bot.settings.feedback_file.read_text())["question"] == body_of(sent)["embeds"][0]["title"]
    unknown = await loopback.slash(nell, "ask", {"question": "What is the capital of Mongolia?", "private": True})
    abstention = body_of(await loopback.wait_for_response(unknown))
    assert abstention["flags"] & 64 and abstention["content"].startswith("I couldn't find that")


async def test_the_message_menu_answers_a_messages_text_to_the_one_who_asked(
    start_bot: StartBot, loopback: LoopbackDiscord, engine: Engine
) -> None:
    """Right-click → Apps → Ask the articles: an ephemeral answer for the clicker; the message's author is not
    involved (the cooldown is the clicker's), and a message without text gets a clear answer, not silence."""
    bot = await start_bot(cooldown_questions=1, cooldown_seconds=600.0)
    expected = expected_answer(engine, bot)
    author, reader = loopback.make_user("author"), loopback.make_user("reader")
    said = await loopback.post_message(author, f"@everyone {QUESTION}")
    used = await loopback.message_command(reader, MENU_NAME, said)
    sent = await loopback.wait_for_response(used)
    assert body_of(sent)["flags"] & 64
    assert_renders(expected, body_of(sent))
    assert loopback.reply_requests(said) == []
    own = await loopback.post_message(author, f"!ask {QUESTION}")
    assert (await loopback.wait_for_reply(own)).json["embeds"], "the author's own quota is untouched"
    empty = await loopback.post_message(author, "")
    told = body_of(await loopback.wait_for_response(await loopback.message_command(author, MENU_NAME, empty)))
    assert told["flags"] & 64 and told["content"] == NO_TEXT
    second = await loopback.message_command(reader, MENU_NAME, said)
    notice = body_of(await loopback.wait_for_response(second))
    assert notice["flags"] & 64 and notice["content"].startswith("You're asking faster")
