"""Rendering: escaping, bold matched words, and Discord's limits held by construction for any input."""

from __future__ import annotations

import dataclasses
import re

import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.discord_bot import render
from bot.discord_bot.stats import Snapshot
from bot.discord_bot.text import escape, units
from bot.discord_bot.views import CUSTOM_ID_LIMIT, answer_view, fit_ids
from bot.search.read.corpus import Article
from bot.search.engine import Answer, Hit, Sentence

ARTICLE = Article(1, "01-a.txt", "Bell Rock", "Weekly", "https://example.org/a", "2024", 6)

PIECES = list("abc XYZ *_~`|>[]()#-<@:\\\n") + ["😀", "é", "@everyone", "@here", "https://x.y/z_", "word "]
wild_text = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=400).map("".join),
    st.text(max_size=3000),
    st.tuples(st.sampled_from(PIECES), st.integers(0, 6000)).map(lambda piece: piece[0] * piece[1]),
)
urls = st.one_of(st.none(), st.just("https://example.org/a_(b)"), st.text(max_size=600).map(lambda s: "https://e.org/" + s))
articles = st.builds(
    Article,
    number=st.integers(1, 10**6),
    file=wild_text,
    title=wild_text,
    publisher=st.one_of(st.none(), wild_text),
    url=urls,
    date=st.one_of(st.none(), wild_text),
    sentence_count=st.integers(0, 10**6),
)


@st.composite
def hits(draw: st.DrawFn) -> Hit:
    text = draw(wild_text)
    words = text.split()
    matched = tuple(draw(st.lists(st.sampled_from(words), max_size=5))) if words else ()
    return Hit(
        sentence_id=draw(st.integers(0, 10**9)),
        text=text,
        score=1.0,
        article=draw(articles),
        matched=matched,
        also_in=tuple(draw(st.lists(articles, max_size=8))),
        code=draw(st.one_of(st.just(""), wild_text)),
    )


answers = st.builds(
    Answer,
    question=wild_text,
    hits=st.lists(hits(), min_size=1, max_size=10).map(tuple),
    abstained=st.just(False),
    elapsed_ms=st.floats(0, 1e9),
)


def assert_embed_fits(embed: discord.Embed) -> None:
    assert units(embed.title or "") <= render.TITLE_LIMIT
    assert units(embed.description or "") <= render.DESCRIPTION_LIMIT
    assert units(embed.footer.text or "") <= render.FOOTER_LIMIT
    assert len(embed.fields) <= 25
    for field in embed.fields:
        assert units(field.name or "") <= 256 and units(field.value or "") <= render.FIELD_VALUE_LIMIT
    total = sum(
        units(part or "")
        for part in [embed.title, embed.description, embed.footer.text]
        + [f.name for f in embed.fields]
        + [f.value for f in embed.fields]
    )
    assert total <= render.EMBED_TOTAL_LIMIT
    assert units(render.embed_text(embed)) <= render.CONTENT_LIMIT


@settings(max_examples=60, deadline=None)
@given(answers, st.integers(0, 10**6))
def test_any_answer_fits_as_embed_and_as_text(answer: Answer, count: int) -> None:
    embed = render.answer_embed(answer, article_count=count)
    assert_embed_fits(embed)
    assert "**1.**" in (embed.description or "")
    assert units(render.answer_text(answer, article_count=count)) <= render.CONTENT_LIMIT


@settings(max_examples=40, deadline=None)
@given(st.lists(articles, max_size=30), st.integers(-5, 10), wild_text)
def test_any_source_list_page_and_article_fit(listed: list[Article], page: int, opening: str) -> None:
    shown = render.page_of(listed, page)
    assert 1 <= shown.number <= shown.count
    assert_embed_fits(render.sources_embed(shown, total=len(listed), prefix="!"))
    assert_embed_fits(render.articles_embed(listed, prefix="!"))
    for article in listed[:3]:
        assert_embed_fits(render.source_embed(article, [opening] * 3))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(articles, st.lists(wild_text, min_size=1, max_size=5)), min_size=1, max_size=10))
def test_any_context_fits(passages: list[tuple[Article, list[str]]]) -> None:
    built = [
        (0, tuple(Sentence(id=i, article=article, position=i, text=text) for i, text in enumerate(texts)))
        for article, texts in passages
    ]
    assert_embed_fits(render.context_embed(built))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(wild_text, wild_text, wild_text), max_size=30), wild_text, st.lists(st.tuples(wild_text, wild_text)))
def test_any_help_fits(entries: list[tuple[str, str, str]], details: str, choices: list[tuple[str, str]]) -> None:
    helps = [render.CommandHelp(*entry) for entry in entries]
    assert_embed_fits(render.help_embed(helps, prefix="!", bot_name="Bot", menu="Ask the articles"))
    for entry in helps[:3]:
        assert_embed_fits(render.command_help_embed(entry, details=details, choices=choices))


def test_stats_say_how_the_bot_is_doing() -> None:
    snapshot = Snapshot(answered=90, abstained=10, unanswered_chatter=7, latencies_ms=tuple(range(1, 101)), uptime_s=3725)
    report = render.StatsReport(snapshot, "👍 12 · 👎 3 on 9 answers", 5, 156, "all-MiniLM-L6-v2 (int8 ONNX)", "")
    fields = {field.name: field.value for field in render.stats_embed(report).fields}
    assert fields == {
        "Questions": "100 asked: 90 answered, 10 not (10%)\n7 answer-channel messages had no answer and were left alone",
        "Reply time": "p50 50 ms · p95 95 ms (the last 100 questions)",
        "Votes": "👍 12 · 👎 3 on 9 answers",
        "Articles": "5 articles, 156 sentences",
        "Model": "all-MiniLM-L6-v2 (int8 ONNX)",
        "Up for": "1 h 2 min",
    }
    quiet = Snapshot(answered=0, abstained=0, unanswered_chatter=0, latencies_ms=(), uptime_s=5)
    fields = {f.name: f.value for f in render.stats_embed(dataclasses.replace(report, snapshot=quiet, shards="1 of 2")).fields}
    assert (fields["Questions"], fields["Reply time"], fields["Shards"]) == ("none yet", "no questions yet", "1 of 2")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 10**18), min_size=1, max_size=10))
def test_custom_ids_always_fit_and_keep_the_first_id(numbers: list[int]) -> None:
    custom_id = fit_ids("answer:vote:down:0123abcd:", numbers)
    assert len(custom_id) <= CUSTOM_ID_LIMIT
    assert custom_id.split(":")[-1].split(",")[0] == str(numbers[0])


def test_a_hit_names_its_article_linked_and_the_others_supporting_it() -> None:
    other = Article(4, "04.txt", "Other", None, None, None, 2)
    hit = Hit(0, "The Bell Rock stands.", 1.0, ARTICLE, ("Rock",), (other,))
    block = render.hit_block(1, hit, links=True, limit=1000)
    assert block == "**1.** “The Bell **Rock** stands.”\n— #1 [Bell Rock](https://example.org/a) · also in #4"
    plain = render.hit_block(1, hit, links=False, limit=1000)
    assert plain.endswith("— #1 Bell Rock (<https://example.org/a>) · also in #4")


def test_a_code_example_is_shown_as_a_code_block_under_its_sentence_and_cut_to_fit() -> None:
    hit = Hit(0, "Read the timeout back as in this example:", 1.0, ARTICLE, (), (), "import socket\nprint(socket.getdefaulttimeout())")
    block = render.hit_block(1, hit, links=True, limit=1000)
    assert block == (
        "**1.** “Read the timeout back as in this example:”\n"
        "```\nimport socket\nprint(socket.getdefaulttimeout())\n```\n"
        "— #1 [Bell Rock](https://example.org/a)"
    )
    long = dataclasses.replace(hit, code="\n".join(f"line {n}" for n in range(100)))
    shown = render.hit_block(1, long, links=True, limit=1000)
    assert "line 11\n…\n```" in shown and "line 12" not in shown
    assert "```" not in render.hit_block(1, hit, links=True, limit=150)  # no room: the sentence alone


def test_abstention_says_how_many_articles_and_hints() -> None:
    assert render.abstention(1, "?") == (
        "I couldn't find that in the 1 article I know. "
        "Try rephrasing with other words, or see `?sources` for what I can answer from."
    )


def test_no_buttons_under_an_abstention() -> None:
    assert answer_view(Answer("q", (), True, 1.0), "0123abcd") is None


MENTION_PIECES = ["<@1>", "<@!22>", "<@&333>", "@everyone", "@here", "\\", "<", "@", "everyone", "here"]
MENTION_PIECES += ["*", "_", "`", " ", "a"]
mention_text = st.one_of(st.lists(st.sampled_from(MENTION_PIECES), max_size=60).map("".join), wild_text)
MENTION = re.compile(r"@(?:everyone|here)|<@[!&]?\d+>")


def pings(text: str) -> list[str]:
    """Mentions Discord would act on: @everyone/@here, and user or role mentions not escaped by a backslash."""
    found = []
    for match in MENTION.finditer(text):
        before = text[: match.start()]
        backslashes = len(before) - len(before.rstrip("\\"))
        if match.group().startswith("@") or backslashes % 2 == 0:
            found.append(match.group())
    return found


def shown_text(embed: discord.Embed) -> list[str]:
    return [embed.title or "", embed.description or "", embed.footer.text or "", render.embed_text(embed)] + [
        part for field in embed.fields for part in (field.name or "", field.value or "")
    ]


@settings(max_examples=80, deadline=None)
@given(mention_text, st.lists(st.tuples(mention_text, st.lists(mention_text, max_size=3)), min_size=1, max_size=4))
def test_no_rendered_reply_can_ping(question: str, sentences: list[tuple[str, list[str]]]) -> None:
    """Whatever the question and the articles say, nothing rendered holds a live mention (the bot also sends
    allowed_mentions=none with every message; the conftest checks that for every end-to-end test)."""
    hits = tuple(
        Hit(n, text, 1.0, Article(n + 1, f"{text}.txt", text, text, None, text, 1), tuple(words), ())
        for n, (text, words) in enumerate(sentences)
    )
    answer = Answer(question, hits, False, 1.0)
    articles = [hit.article for hit in hits]
    embeds = [
        render.answer_embed(answer, article_count=3),
        render.sources_embed(render.page_of(articles, 1), total=len(articles), prefix="!"),
        render.source_embed(articles[0], [text for text, _ in sentences]),
        render.articles_embed(articles, prefix="!"),
        render.context_embed([(0, tuple(Sentence(n, hit.article, n, hit.text) for n, hit in enumerate(hits)))]),
        # Help holds only the bot's own texts and name (Discord refuses "everyone" and "here" as usernames).
        render.help_embed([render.CommandHelp("!ask <question>", "Ask.", "!ask why?")], prefix="!", bot_name="Bot", menu="Ask"),
    ]
    texts = [render.answer_text(answer, article_count=3), escape(question)]
    texts += [part for embed in embeds for part in shown_text(embed)]
    assert [pings(text) for text in texts] == [[]] * len(texts)


BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\u2060]")


@settings(max_examples=25, deadline=None)
@given(answers, st.integers(0, 10**6), st.lists(st.sampled_from("\u202e\u202d\u2066\u2069\u200b\u200f\ufeff"), max_size=20))
def test_no_answer_shows_a_bidi_control_or_a_zero_width_space_of_its_own(
    answer: Answer, count: int, controls: list[str]
) -> None:
    spiked = Answer("".join(controls) + answer.question, tuple(
        Hit(h.sentence_id, "".join(controls) + h.text + "".join(controls), h.score, h.article, h.matched, h.also_in)
        for h in answer.hits
    ), False, answer.elapsed_ms)
    embed = render.answer_embed(spiked, article_count=count)
    for shown in (embed.title or "", embed.description or "", render.answer_text(spiked, article_count=count)):
        assert not BIDI_CONTROLS.search(shown)
        assert all(shown[i - 1] == "@" for i, char in enumerate(shown) if char == "\u200b"), "only our own, after @"
