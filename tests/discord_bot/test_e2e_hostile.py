"""End to end: what people and files can throw at the bot: huge runs of whitespace in articles, links in questions.

Each test names, in its docstring, the handling it covers; without that handling the test fails.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import time
from pathlib import Path

from loopback.server import LoopbackDiscord

from bot.discord_bot.client import AnswerBot
from bot.search.engine import Engine

from .helpers import CORPUS, StartBot

QUESTION = "when was the lighthouse finished?"
HEARTBEAT_MS = 250
RUN = 300_000  # characters of whitespace in a row: the old patterns took minutes on a fifth of this


def hostile_articles(folder: Path, run: int = RUN) -> None:
    """Articles with long runs of spaces in front matter, and of form feeds and U+2028 in text."""
    (folder / "04-front-matter.md").write_text(
        f"---\ntitle: Harbour{' ' * run}lights\nauthor: {' ' * run}\nurl: [a{' ' * run}#b\n---\n"
        "The harbour lights were lit at dusk by the keeper.\n"
    )
    (folder / "05-form-feeds.txt").write_text(f"The keeper's log was kept daily.{chr(12) * run} It ran to nine volumes.\n")
    (folder / "06-line-separators.txt").write_text(f"Storms closed the harbour twice.{chr(0x2028) * run} Both lasted a week.\n")


async def test_reloading_articles_full_of_whitespace_runs_is_quick_and_never_stalls_answers(
    start_bot: StartBot, loopback: LoopbackDiscord, tmp_path: Path
) -> None:
    """Handling: front matter and text cleaning are linear in the input (no pattern rescans a whitespace run
    from each of its characters), so `!reload` of such articles takes seconds, and a question asked meanwhile
    is answered at once, with the gateway heartbeat on time."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    loopback.heartbeat_interval_ms = HEARTBEAT_MS
    bot: AnswerBot = await start_bot(with_engine=Engine.from_dir(corpus), corpus_dir=corpus)
    hostile_articles(corpus)
    beats_before = len(loopback.heartbeats)

    reload = await loopback.post_message(loopback.owner, "!reload")
    asked = time.monotonic()
    question = await loopback.post_message(loopback.make_user("ada"), f"!ask {QUESTION}")
    await loopback.wait_for_reply(question, timeout=5)
    answered_in = time.monotonic() - asked
    content = (await loopback.wait_for_reply(reload, timeout=30)).json["content"]
    await asyncio.sleep(2 * HEARTBEAT_MS / 1000)

    assert content.startswith("Reloaded: 6 articles (was 3)"), content
    assert "Harbour lights" in [article.title for article in bot.engine.sources()]
    assert answered_in < 2.0, f"a question during the reload waited {answered_in:.1f} s"
    times = loopback.heartbeats[beats_before:]
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    assert gaps and max(gaps) < 4 * HEARTBEAT_MS / 1000, f"the loop stalled: heartbeat gaps up to {max(gaps):.2f} s"


LINKS = [
    "[official answer](https://evil.example/a) when was the lighthouse finished",
    "when was the lighthouse finished? https://evil.example/b",
    "HTTPS://EVIL.EXAMPLE/C when was the lighthouse finished",
    "see <https://evil.example/d> when was the lighthouse finished",
    "when was the lighthouse [x](<http://evil.example/e>) finished",
    "www.evil.example/f when was the lighthouse finished",
    "when was the lighthouse `https://evil.example/g` finished",
]


def asker_links(content: str) -> list[str]:
    """The asker's addresses Discord would render as links: those left once code spans are taken out.

    (The articles' own links, such as https://example.org/bell-rock in the answer's footer, may stay links.)
    """
    return re.findall(r"(?i)(?:[a-z]+://|www\.)evil\S+", re.sub(r"(?<!\\)`[^`]*`", "", content))


async def test_links_in_a_question_are_shown_as_code_never_as_links(bot: AnswerBot, loopback: LoopbackDiscord) -> None:
    """Handling: without Embed Links the answer repeats the question as plain text, with each of the asker's
    links as code (readable, not clickable, not previewed); so does the reply to `!help` with an unknown name."""
    asker = loopback.make_user("mallory")
    for text in LINKS:
        question = await loopback.post_message(asker, f"!ask {text}", channel=loopback.no_embeds)
        content = (await loopback.wait_for_reply(question)).json["content"]
        assert "evil.example" in content.split("\n")[0].lower(), content
        assert asker_links(content) == [], content
    for name in ("https://evil.example/h", "a`https://evil.example/i`"):
        request = await loopback.post_message(asker, f"!help {name}")
        content = (await loopback.wait_for_reply(request)).json["content"]
        assert "evil.example" in content and asker_links(content) == [], content
