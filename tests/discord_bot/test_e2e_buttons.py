"""End to end: the buttons under an answer, including after the bot restarts."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from loopback.server import LoopbackDiscord, Recorded, custom_ids

from bot.discord_bot.client import AnswerBot
from bot.discord_bot.feedback import user_hash
from bot.discord_bot.text import escape
from bot.discord_bot.views import CONTEXT_WINDOW, OLDER_ARTICLES
from bot.search.engine import Engine

from .helpers import REPO, StartBot

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
    ids = [int(part) for part in button.rsplit(":", 1)[1].split(",")]
    embed = (await click(loopback, loopback.make_user("reader"), message, button))["embeds"][0]
    for sentence_id in ids:
        around = engine.context_of(sentence_id, CONTEXT_WINDOW)
        assert len(around) > 1
        for sentence in around:
            shown = escape(sentence.text)
            assert (f"> **{shown}**" if sentence.id == sentence_id else f"> {shown}") in embed["description"]


async def test_sources_button_lists_the_answers_articles(
    bot: AnswerBot, loopback: LoopbackDiscord, engine: Engine
) -> None:
    message, _ = await ask(loopback)
    button = custom_ids(message)[1]
    numbers = [int(part) for part in button.rsplit(":", 1)[1].split(",")]
    embed = (await click(loopback, loopback.make_user("reader"), message, button))["embeds"][0]
    lines = embed["description"].split("\n")
    assert [line.split()[0] for line in lines] == [f"#{n}" for n in numbers]
    for line, number in zip(lines, numbers):
        assert escape(engine.article(number).title) in line  # type: ignore[union-attr]


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
    sentence_ids = [int(part) for part in up.rsplit(":", 1)[1].split(",")]
    for record in records:
        assert record["user"] == user_hash(int(voter["id"]))
        assert record["question"] == sent.json["embeds"][0]["title"]
        assert record["sentence_ids"] == sentence_ids
        assert record["message_id"] == int(message["id"])
        assert record["corpus_version"] == bot.serving.version
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


async def test_a_button_from_before_corpus_versions_says_its_answer_is_from_older_articles(
    bot: AnswerBot, loopback: LoopbackDiscord
) -> None:
    """Buttons posted by earlier releases carry no version: their ids cannot be trusted, and the click says so."""
    message, _ = await ask(loopback)
    old = copy.deepcopy(message)
    old["components"][0]["components"][0]["custom_id"] = "answer:context:3,4"
    assert (await click(loopback, loopback.make_user("reader"), old, "answer:context:3,4"))["content"] == OLDER_ARTICLES


async def test_a_vote_that_cannot_be_saved_still_thanks_and_is_logged(
    start_bot: StartBot, loopback: LoopbackDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await start_bot(feedback_file=tmp_path)  # a folder: appending to it fails
    message, _ = await ask(loopback)
    body = await click(loopback, loopback.make_user("voter"), message, custom_ids(message)[2])
    assert body["content"] == "Thanks! I couldn't save that right now; the operator has been told."
    assert f"Cannot write feedback to {tmp_path}" in caplog.text


@pytest.mark.parametrize("change", ["reload", "restart"])
async def test_buttons_from_before_the_articles_changed_say_so_instead_of_showing_other_sentences(
    start_bot: StartBot, loopback: LoopbackDiscord, tmp_path: Path, change: str
) -> None:
    """Handling: every answer button carries the corpus version its ids belong to (`serving.corpus_version`), and a
    click from another version answers OLDER_ARTICLES. Without it, an article whose file name sorts first shifted
    every id: "More context" showed an unrelated sentence, "Sources" the new article, and votes saved wrong ids.
    A fresh answer's buttons work against the new articles."""
    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    bot = await start_bot(with_engine=Engine.from_dir(corpus), corpus_dir=corpus)
    question = await loopback.post_message(loopback.make_user("asker"), "!ask how much did microsoft invest in openai")
    old = loopback.message_for(await loopback.wait_for_reply(question))
    old_version = bot.serving.version

    (corpus / "0000-first.txt").write_text(FIRST_ARTICLE)
    if change == "reload":
        command = await loopback.post_message(loopback.owner, "!reload")
        assert (await loopback.wait_for_reply(command)).json["content"].startswith("Reloaded: 6 articles (was 5)")
    else:
        await bot.close()
        bot = await start_bot(with_engine=Engine.from_dir(corpus), corpus_dir=corpus)
    assert bot.serving.version != old_version

    reader = loopback.make_user("reader")
    context, sources, up, _ = custom_ids(old)
    assert (await click(loopback, reader, old, context))["content"] == OLDER_ARTICLES
    assert (await click(loopback, reader, old, sources))["content"] == OLDER_ARTICLES
    assert (await click(loopback, reader, old, up))["content"] == "Thanks for the feedback!"
    record = json.loads(bot.settings.feedback_file.read_text().splitlines()[-1])
    assert record["corpus_version"] == old_version and record["sentence_ids"] == [
        int(i) for i in up.rsplit(":", 1)[1].split(",")
    ]

    again = await loopback.post_message(loopback.make_user("asker"), "!ask how much did microsoft invest in openai")
    fresh = loopback.message_for(await loopback.wait_for_reply(again))
    ids = [int(i) for i in custom_ids(fresh)[0].rsplit(":", 1)[1].split(",")]
    embed = (await click(loopback, reader, fresh, custom_ids(fresh)[0]))["embeds"][0]
    assert f"> **{escape(bot.engine.sentence(ids[0]).text)}**" in embed["description"]


FIRST_ARTICLE = """Tea clippers raced home from China every spring.
The fastest ships carried the first tea of the season to London.
Merchants paid a premium for the first cargo to arrive.
"""
