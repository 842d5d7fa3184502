"""End to end: the real bot and engine against the loopback Discord server, asked every way."""

from __future__ import annotations

from loopback.server import LoopbackDiscord, body_of, custom_ids

from bot.discord_bot import render
from bot.discord_bot.client import AnswerBot
from bot.search.engine import Answer, Engine

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
    positions = [description.index(render.highlight(hit.text, hit.matched)) for hit in answer.hits]
    assert positions == sorted(positions)
    for rank, hit in enumerate(answer.hits, start=1):
        assert f"**{rank}.**" in description
        assert render.escape(hit.article.title) in description
        for word in hit.matched:
            assert f"**{word}**".lower() in description.lower()
    assert "ms" in embed["footer"]["text"]
    sentences = ",".join(str(hit.sentence_id) for hit in answer.hits)
    articles = ",".join(dict.fromkeys(str(a.number) for hit in answer.hits for a in (hit.article, *hit.also_in)))
    assert custom_ids(message) == [
        f"answer:context:{sentences}",
        f"answer:sources:{articles}",
        f"answer:vote:up:{sentences}",
        f"answer:vote:down:{sentences}",
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
