"""What `Engine.ask` promises for any question at all, checked with hypothesis and with nasty examples.

Whatever a Discord user types (nothing, 10,000 characters, zalgo, right-to-left text, code
blocks, mentions, NUL bytes), `ask` returns an Answer instead of raising, and the answer is
well formed: it abstains exactly when it has no hits, quotes the articles word for word, and
ranks its hits by score.
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.search.engine import MAX_QUESTION_CHARS, Answer, Engine
from bot.search.index.tokens import tokenize

ARTICLES = {
    "01_lighthouses.txt": """\
Lighthouses of the Northern Coast

The Skerry lighthouse was built in 1852 on a rock three miles offshore.
Its lamp burned whale oil until 1904, when the keepers switched to paraffin.
Keepers lived on the rock for six weeks at a time.
Today the light is automatic and flashes white every ten seconds.
""",
    "02_tides.md": """\
# Tides and Harbours

Tides rise and fall twice a day because of the Moon's pull.
The harbour at Port Ellen dries out completely at low tide.

- Fishing boats leave two hours before high water.
- Ferries wait in the bay for the flood tide.

Q: Why do some harbours dry out?
A: Shallow harbours lose all their water when the tide goes out.
""",
    "03_café.txt": """\
Café Culture by the Sea

The seafront café serves crème brûlée and strong coffee to ferry passengers.
Its owner, Zoë Martín, opened it in 2019 after working on the ferries for a decade.
Visitors say the naïve murals of lighthouses are the café's best feature.
""",
}
SKERRY = "The Skerry lighthouse was built in 1852 on a rock three miles offshore."

# Things Discord users paste around (or instead of) a question.
NOISE = [
    "@everyone", "@here", "<@123>", "<@!123>", "<@&123>", "<#123>", "<:wave:123>", "<a:dance:456>",
    "<t:1700000000:R>", "</ask:789>", "```py\nprint('hi')\n```", "`code`", "**bold**", "_it_", "~~gone~~",
    "||spoiler||", "> quoted", "# Heading", "- bullet", "[link](https://evil.example/x)",
    "https://example.com/a?b=c#d", "www.example.com", "🐝", "🏳️‍🌈", "👨‍👩‍👧‍👦", "🇬🇧", "❤️",
    "\x00", "\x1b[31m", "\r\n", "\t", "\u200b", "\ufeff", "\u202e", "\u200f", "مرحبا", "שלום", "中文",
    "z̴̡̛̯͉a̷̢͎l̵̠̈g̸̱̈́o̵̞͝", "\u0301\u0301\u0301", "Ｆｕｌｌ", "𝕃𝕚𝕘𝕙𝕥", "ﬁ", "İ", "ß", "1e308", "NaN", "-0",
    "1,000,000.5%", "?", "!!!", "...", "Q:", "A:",
]
NASTY_QUESTIONS = {
    "empty": "",
    "whitespace": " \t\n\r\u00a0\u3000 ",
    "nul bytes": "\x00" * 50,
    "nul inside a word": "\x00lighthouse\x00keepers\x00",
    "10,000 letters": "a" * 10_000,
    "10,000 characters of real words": ("Skerry lighthouse keepers " * 400)[:10_000],
    "10,000 question marks": "?" * 10_000,
    "one 10,000-character word": "lighthouse" * 1_000,
    "2,000 distinct words": " ".join(f"word{i}" for i in range(2_000)),
    "zalgo": "Ẁ̸̡̪h̶̨̯e̵̢͙n̷̜̈ ẘ̵̟a̸̰͝s̴̱̈ t̶̰̾h̵̻̊ë̶̱ ḽ̸̋ì̷̙g̵̣̈h̶̲̊t̷̜̿h̸̤̄ö̴͖́ǘ̵̹s̶̞̈ẻ̸̥ b̴̪̈ụ̷̈i̵̤͝l̸̰̈ť̵̼?",
    "10,000 combining marks": "\u0301" * 10_000,
    "arabic, right to left": "متى بني المنار؟",
    "hebrew, right to left": "מתי נבנה המגדלור?",
    "right-to-left override": "\u202eesuohthgil yrrekS\u202c",
    "mixed direction": "\u200fwhen was the מגדלור Skerry lighthouse built?\u200e",
    "code block": "```python\nimport os\nos.system('rm -rf /')\n```",
    "markdown": "**bold** _italics_ ~~strike~~ ||spoiler|| > quote\n# heading\n- [link](https://evil.example)",
    "everyone": "@everyone",
    "user mention": "<@123456789012345678>",
    "role mention": "<@&123>",
    "channel mention": "<#123>",
    "only mentions": "@everyone @here <@123> <@!123> <@&123> <#123>",
    "custom emoji and timestamp": "<:wave:123> <a:dance:456> <t:1700000000:R>",
    "url": "https://example.com/lighthouse?keepers=1&tide=low#rock",
    "ipv6 url": "http://[::1]:8080/",
    "emoji": "🏳️‍🌈👨‍👩‍👧‍👦🐝🇬🇧❤️",
    "control characters": "\x01\x02\x1b[31mred\x1b[0m\x7f",
    "lone surrogate": "\ud800lighthouse\udfff",
    "noncharacters": "\uffff\ufffe\U0010ffff",
    "byte order mark": "\ufeffWhen was the Skerry lighthouse built?",
    "math letters": "𝕃𝕚𝕘𝕙𝕥𝕙𝕠𝕦𝕤𝕖",
    "fullwidth letters": "ＬＩＧＨＴＨＯＵＳＥ",
    "ligature": "ﬁshing boats",
    "huge number": "9" * 5_000,
    "odd numbers": "1e308 NaN -0 inf 1,000,000.5% 0x1F",
    "only stopwords": "what is the of and a to",
    "faq markers": "Q: A: Q: A:",
    "numbers question": "How many?",
    "time question": "When?",
}

questions_near_the_corpus = st.lists(
    st.one_of(
        st.sampled_from(sorted({w for text in ARTICLES.values() for w in re.findall(r"[\w'’]+", text)})),
        st.sampled_from(NOISE),
        st.text(max_size=6),
    ),
    max_size=15,
).map(" ".join)
# Any code point, lone surrogates included: JSON (so a Discord payload) can decode "\ud800" into one.
any_text = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=300)
top_ks = st.integers(min_value=-2, max_value=12)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = tmp_path_factory.mktemp("corpus")
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    built = Engine.from_dir(folder)
    assert built.warnings == ()
    return built


def flat(text: str) -> str:
    return " ".join(text.split())


def assert_well_formed(engine: Engine, question: str, top_k: int, answer: Answer) -> None:
    """Everything an Answer promises, whatever the question was."""
    assert isinstance(answer, Answer)
    assert answer.question == question
    assert answer.abstained == (not answer.hits)
    assert bool(answer.reason) == answer.abstained, "an abstention says why; an answer has no reason"
    assert len(answer.hits) <= max(1, top_k)
    assert math.isfinite(answer.elapsed_ms) and answer.elapsed_ms >= 0

    scores = [hit.score for hit in answer.hits]
    assert all(math.isfinite(score) and score >= 0 for score in scores)
    assert scores == sorted(scores, reverse=True), "hits are ranked best first"
    assert len({hit.sentence_id for hit in answer.hits}) == len(answer.hits), "no sentence is shown twice"

    for hit in answer.hits:
        sentence = engine.sentence(hit.sentence_id)
        assert hit.text == sentence.text and hit.article == sentence.article
        assert sentence.kind.answers, "headings and FAQ questions are never answers"
        assert hit.article in engine.sources()
        assert flat(hit.text) in flat(ARTICLES[hit.article.file]), "a hit quotes its article word for word"
        assert all(word in hit.text for word in hit.matched)
        assert hit.article not in hit.also_in and len(set(hit.also_in)) == len(hit.also_in)
        assert all(article in engine.sources() for article in hit.also_in)


@pytest.mark.parametrize("question", NASTY_QUESTIONS.values(), ids=NASTY_QUESTIONS.keys())
def test_nasty_questions_get_a_well_formed_answer(engine: Engine, question: str) -> None:
    for top_k in (0, 1, 3, 10):
        assert_well_formed(engine, question, top_k, engine.ask(question, top_k))


@settings(max_examples=200, deadline=None)
@given(question=any_text, top_k=top_ks)
@example(question="\x00", top_k=3)
@example(question="\u0301" * 300, top_k=3)
def test_any_unicode_text_gets_a_well_formed_answer(engine: Engine, question: str, top_k: int) -> None:
    assert_well_formed(engine, question, top_k, engine.ask(question, top_k))


@settings(max_examples=200, deadline=None)
@given(question=questions_near_the_corpus, top_k=top_ks)
@example(question="<@123> When was the Skerry lighthouse built? @everyone 🐝", top_k=3)
def test_corpus_words_mixed_with_noise_get_a_well_formed_answer(engine: Engine, question: str, top_k: int) -> None:
    assert_well_formed(engine, question, top_k, engine.ask(question, top_k))


@settings(max_examples=100, deadline=None)
@given(question=questions_near_the_corpus, top_k=st.integers(min_value=1, max_value=6))
def test_asking_for_more_hits_only_appends_to_the_list(engine: Engine, question: str, top_k: int) -> None:
    fewer, more = engine.ask(question, top_k), engine.ask(question, top_k + 1)
    assert more.hits[:top_k] == fewer.hits


@settings(max_examples=100, deadline=None)
@given(question=questions_near_the_corpus)
def test_the_same_question_gets_the_same_answer(engine: Engine, question: str) -> None:
    first, second = engine.ask(question), engine.ask(question)
    assert (first.hits, first.abstained, first.reason) == (second.hits, second.abstained, second.reason)


@settings(max_examples=50, deadline=None)
@given(question=questions_near_the_corpus, tail=questions_near_the_corpus)
def test_only_the_first_max_question_chars_are_read(engine: Engine, question: str, tail: str) -> None:
    head = (question + " ") * (MAX_QUESTION_CHARS // (len(question) + 1) + 1)
    long_question = head[:MAX_QUESTION_CHARS] + tail
    long_answer = engine.ask(long_question)
    assert long_answer.question == long_question
    assert long_answer.hits == engine.ask(long_question[:MAX_QUESTION_CHARS]).hits


no_terms = st.text(alphabet=st.characters(exclude_categories=["L", "N"]), max_size=200).filter(lambda q: not tokenize(q))


@settings(max_examples=200, deadline=None)
@given(question=no_terms)
@example(question="🐝 <> @ ``` ** || _")
def test_a_question_with_no_search_terms_abstains_and_says_so(engine: Engine, question: str) -> None:
    answer = engine.ask(question)
    assert answer.abstained
    assert answer.reason == "the question has no searchable words"


@pytest.mark.parametrize(
    "question",
    [
        "<@123> When was the Skerry lighthouse built?",
        "@everyone when was the Skerry lighthouse built",
        "When was the Skerry lighthouse built? 🐝🐝🐝",
        "**When** was the `Skerry` lighthouse built?",
        "```\nWhen was the Skerry lighthouse built?\n```",
        "when was the skerry lighthouse built https://example.com/skerry",
        "\x00When was the Skerry lighthouse built?\x00",
        "\ufeffWhen was the Skerry lighthouse built?",
        "متى When was the Skerry lighthouse built?",
        "WHEN WAS THE SKERRY LIGHTHOUSE BUILT",
        "ＷＨＥＮ ＷＡＳ ＴＨＥ ＳＫＥＲＲＹ ＬＩＧＨＴＨＯＵＳＥ ＢＵＩＬＴ",  # fullwidth folds to ASCII
    ],
)
def test_noise_around_a_real_question_does_not_hide_the_answer(engine: Engine, question: str) -> None:
    answer = engine.ask(question)
    assert answer.hits and answer.hits[0].text == SKERRY


@pytest.mark.parametrize(
    "question",
    ["<@123> Explain why harbours dry out", "> Explain why harbours dry out", "**Explain** why harbours dry out"],
)
def test_markup_before_the_first_word_does_not_make_it_a_name(engine: Engine, question: str) -> None:
    plain = engine.ask("Explain why harbours dry out")
    assert plain.hits  # the same words without the markup are answered
    assert engine.ask(question).hits == plain.hits
