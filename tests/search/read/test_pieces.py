"""A long article is read, cleaned and split a piece at a time, with the sentences reading it whole gives.

The whole-text steps these replace serve as the oracles: the regular expressions that normalised
the text at once, `bytes.decode`, and `split_passages` of the whole text.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.search.engine import Engine
from bot.search.read import corpus, lines, page_stream
from bot.search.read.corpus import clean_text, read_folder
from bot.search.read.lines import TextError, decoded, str_blocks, text_lines
from bot.search.read.sentences import Flow, continue_passages, piece_breaks, split_passages
from bot.search.read.splitting import split_pieces

WHOLE_LINE_BREAKS = re.compile("\r\n|[\r\v\f\x1c-\x1e\x85\u2028\u2029]")
WHOLE_BLANK_LINES = re.compile(r"\n(?:[^\S\n]*\n)+")


def whole_text_lines(text: str) -> list[str]:
    """What cleaning once did to the whole text at once."""
    return WHOLE_BLANK_LINES.sub("\n\n", WHOLE_LINE_BREAKS.sub("\n", unicodedata.normalize("NFC", text))).split("\n")


TEXT_PARTS = st.sampled_from(["a", "b ", " ", "\t", "\n", "\r", "\r\n", "\u2028", "\x0c", "e", "\u0301", "é"])


@given(st.lists(TEXT_PARTS, max_size=80).map("".join), st.integers(1, 7))
def test_lines_read_in_small_blocks_are_the_whole_texts_lines(text: str, block: int) -> None:
    assert list(text_lines(str_blocks(text, block))) == whole_text_lines(text)


def test_bytes_decoded_a_block_at_a_time_are_the_whole_decoded_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "BLOCK_BYTES", 4)
    data = "\ufeffCafé crème, naïve — 🌊 and 中文.".encode()
    assert "".join(decoded(data)) == data.decode("utf-8-sig")


def test_a_bad_byte_is_reported_at_its_offset_in_the_file_not_in_its_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "BLOCK_BYTES", 4)
    data = "Café crème 🌊".encode() + b"\xff" + b" more"
    with pytest.raises(UnicodeDecodeError) as whole:
        data.decode("utf-8")
    with pytest.raises(TextError) as blocks:
        list(decoded(data))
    assert blocks.value.offset == whole.value.start


LINES = st.sampled_from([
    "", "", "# Heading", "Widgets Take Over", "Q: Why did prices rise?", "A: Supply was short. Demand held.",
    "Prices rose in May. They fell in June.", "Does it work? It does.", "- A bullet item.", "Here is how:",
    "This sentence runs on and on without stopping at the end of the line and", "continues here.",
    "```", "    code line", "~~~", ": A description of the term.", "--keep-index", "!!! note", "> [!NOTE]",
])


@given(st.lists(LINES, max_size=40), st.integers(1, 60))
@example(["Q: Why did prices rise?", "", "Prices rose in May. They fell in June."], 1)  # an FAQ answer after a break
@example(["# Heading", "", "Prices rose in May."], 1)  # a heading over the next piece
@example(["Here is how:", "", "```", "    code line", "```"], 1)  # no break before a code block
@example(["--keep-index", "", ": A description of the term."], 1)  # nor before a description
def test_pieces_split_one_after_another_give_the_passages_of_the_whole_text(raw: list[str], size: int) -> None:
    text = "\n".join(raw)
    passages, flow = [], Flow()
    for piece in piece_breaks(raw, size):
        more, flow = continue_passages("\n".join(piece), flow)
        passages += more
    assert passages == split_passages(text)


@given(st.lists(LINES, max_size=40), st.integers(1, 60))
def test_a_document_in_pieces_is_read_line_by_line_exactly_when_its_whole_text_would_be(raw: list[str], size: int) -> None:
    text = "\n".join(raw)
    whole = split_passages(text)
    if not any(passage.kind.answers for passage in whole):
        whole = split_passages(text, lines_as_sentences=True)
    pieces = ["\n".join(piece) for piece in piece_breaks(raw, size)]
    assert [passage for split in split_pieces(pieces) for passage in split.passages] == whole


def paragraphs(n: int) -> str:
    return "\n\n".join(
        f"Section {i}\n\nThe tide at harbour {i} rose by {i} centimetres on Monday. Keepers logged it at dawn."
        for i in range(n)
    )


def test_a_long_article_is_held_and_split_in_bounded_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corpus, "PIECE_CHARS", 2_000)
    text = paragraphs(300)  # about 35,000 characters
    (tmp_path / "tides.txt").write_text(text, encoding="utf-8")
    [document] = list(read_folder(tmp_path))
    longest_paragraph = max(len(p) for p in text.split("\n\n"))
    assert len(document.pieces) > 10
    assert all(len(piece) <= 2_000 + longest_paragraph + 2 for piece in document.pieces)
    assert document.text == clean_text(text)[0]
    splits = split_pieces(document.pieces)
    first = next(splits)
    assert first.passages == split_passages(document.pieces[0])  # one piece's sentences, not the article's


def test_an_engine_built_from_pieces_has_the_sentences_of_one_built_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tides.txt").write_text(paragraphs(200), encoding="utf-8")
    whole = Engine.from_dir(tmp_path)
    monkeypatch.setattr(corpus, "PIECE_CHARS", 1_000)
    pieces = Engine.from_dir(tmp_path)
    assert [pieces.sentence(i) for i in range(len(pieces.table))] == [whole.sentence(i) for i in range(len(whole.table))]
    answer = pieces.ask("How much did the tide at harbour 187 rise?")
    assert answer.hits[0].text == "The tide at harbour 187 rose by 187 centimetres on Monday."


BIG_PAGE = """<!DOCTYPE html><html><head><title>Tides of the North — Coast News</title>
<meta property="og:site_name" content="Coast News"><meta property="article:published_time" content="2024-05-14T08:00:00Z">
<style>.x{color:red}</style><script>var skipped = "Menu script text";</script></head>
<body><header><nav><ul><li><a href="/">Home</a></li><li>Weather</li></ul></nav></header>
<main><article><h1>Tides of the North</h1>
<div class="lead"><p>The tide at Skerry rose by <a href="/t">forty centimetres</a> on Monday.</p></div>
<h2>Why</h2><p>Keepers blame the spring moon.</p><ul><li>Boats stayed in harbour.</li></ul>
<pre>tide --at skerry
  40cm</pre>
<div class="sidebar"><p>Subscribe to our newsletter.</p></div>
</article></main><footer><p>Copyright Coast News</p></footer></body></html>
"""


def test_a_page_over_the_whole_page_size_is_read_as_it_streams_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(corpus, "WHOLE_PAGE_BYTES", 100)
    monkeypatch.setattr(page_stream, "_BLOCK_BYTES", 16)  # fed to the parser in pieces smaller than any tag
    (tmp_path / "tides.html").write_text(BIG_PAGE, encoding="utf-8")
    articles = read_folder(tmp_path)
    [document] = list(articles)
    assert document.text.split("\n\n") == [
        "# Tides of the North",
        "The tide at Skerry rose by forty centimetres on Monday.",
        "# Why",
        "Keepers blame the spring moon.",
        "- Boats stayed in harbour.",
        "```\ntide --at skerry\n  40cm\n```",
    ]
    assert (document.metadata.title, document.metadata.publisher, document.metadata.date) == ("Tides of the North", "Coast News", "2024-05-14")
    [warning] = articles.warnings
    assert "tides.html" in warning and "read every paragraph outside menus, headers and footers" in warning
