"""End to end: the buttons under an answer, including after the bot restarts."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from loopback.server import LoopbackDiscord, Recorded, custom_ids

from bot.discord_bot import render
from bot.discord_bot.client import AnswerBot
from bot.discord_bot.feedback import user_hash
from bot.discord_bot.views import CONTEXT_WINDOW
from bot.search.engine import Engine

from .helpers import StartBot

QUESTION = "how do honeybees tell where the food is?"


async def ask(loopback: LoopbackDiscord) -> tuple[dict, Recorded]:
    question = await loopback.post_message(loopback.make_user("asker"), f"!ask {QUESTION}")
    sent = await loopback.wait_for_reply(question)
    return loopback.message_for(sent), sent


async def click(loopback: LoopbackDiscord, user: dict, message: dict, custom_id: str) -> dict:
    """Click and return the bot's callback body, which must be an ephemeral message."""
    interaction = await loopback.click(user, message, custom_id)
    callback = await loopback.wait_for_request("POST", rf"/interactions/{interaction['id']}/.+/callback")
    assert callback.json["type"] == 4 and callback.json["data"]["flags"] & 64
    return callback.json["data"]


async def test_more_context_shows_the_neighbouring_sentences(
    bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine
) -> None:
    message, _ = await ask(loopback)
    button = custom_ids(message)[0]
    ids = [int(part) for part in button.removeprefix("answer:context:").split(",")]
    embed = (await click(loopback, loopback.make_user("reader"), message, button))["embeds"][0]
    for sentence_id in ids:
        around = engine.context_of(sentence_id, CONTEXT_WINDOW)
        assert len(around) > 1
        for sentence in around:
            shown = render.escape(sentence.text)
            assert (f"> **{shown}**" if sentence.id == sentence_id else f"> {shown}") in embed["description"]


async def test_sources_button_lists_the_answers_articles(
    bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine
) -> None:
    message, _ = await ask(loopback)
    button = custom_ids(message)[1]
    numbers = [int(part) for part in button.removeprefix("answer:sources:").split(",")]
    embed = (await click(loopback, loopback.make_user("reader"), message, button))["embeds"][0]
    lines = embed["description"].split("\n")
    assert [line.split()[0] for line in lines] == [f"#{n}" for n in numbers]
    for line, number in zip(lines, numbers):
        assert render.escape(engine.article(number).title) in line  # type: ignore[union-attr]


async def test_votes_append_to_the_feedback_file_without_raw_user_ids(
    bot: AnswerBot, loopback: LoopbackDiscord, tmp_path: Path
) -> None:
    message, sent = await ask(loopback)
    up, down = custom_ids(message)[2:]
    voter = loopback.make_user("voter")
    assert (await click(loopback, voter, message, up))["content"] == "Thanks for the feedback!"
    await click(loopback, voter, message, down)
    records = [json.loads(line) for line in bot.settings.feedback_file.read_text().splitlines()]
    assert [r["vote"] for r in records] == ["up", "down"]
    sentence_ids = [int(part) for part in up.removeprefix("answer:vote:up:").split(",")]
    for record in records:
        assert record["user"] == user_hash(int(voter["id"]))
        assert record["question"] == sent.json["embeds"][0]["title"]
        assert record["sentence_ids"] == sentence_ids
        assert record["message_id"] == int(message["id"])
    assert voter["id"] not in bot.settings.feedback_file.read_text()


async def test_buttons_keep_working_after_a_restart(
    start_bot: StartBot, loopback: LoopbackDiscord, engine: Engine
) -> None:
    first = await start_bot()
    message, _ = await ask(loopback)
    await first.close()
    await start_bot()
    embed = (await click(loopback, loopback.make_user("later"), message, custom_ids(message)[0]))["embeds"][0]
    assert embed["title"] == "More context"


async def test_buttons_under_a_slash_answer_work(bot: AnswerBot, loopback: LoopbackDiscord) -> None:
    interaction = await loopback.slash(loopback.make_user("slasher"), "ask", {"question": QUESTION})
    message = loopback.message_for(await loopback.wait_for_response(interaction))
    body = await click(loopback, loopback.make_user("reader"), message, custom_ids(message)[1])
    assert body["embeds"][0]["title"] == "Sources of this answer"


async def test_context_for_sentences_gone_since_a_reload_says_to_ask_again(
    bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine
) -> None:
    message, _ = await ask(loopback)
    gone = len(engine.sources()) * 1000
    old = copy.deepcopy(message)
    old["components"][0]["components"][0]["custom_id"] = f"answer:context:{gone}"
    embed = (await click(loopback, loopback.make_user("reader"), old, f"answer:context:{gone}"))["embeds"][0]
    assert embed["description"] == "That answer's sentences are no longer in the articles; ask again."


async def test_a_vote_that_cannot_be_saved_still_thanks_and_is_logged(
    start_bot: StartBot, loopback: LoopbackDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await start_bot(feedback_file=tmp_path)  # a folder: appending to it fails
    message, _ = await ask(loopback)
    body = await click(loopback, loopback.make_user("voter"), message, custom_ids(message)[2])
    assert body["content"] == "Thanks! I couldn't save that right now; the operator has been told."
    assert f"Cannot write feedback to {tmp_path}" in caplog.text
