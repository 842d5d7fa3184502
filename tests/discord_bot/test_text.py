"""Text shown on Discord: markdown, mentions and invisible characters shown literally; matched words in bold."""

from __future__ import annotations

from bot.discord_bot.text import escape, highlight, inert, safe_url


def test_markdown_and_mentions_in_a_sentence_are_shown_literally() -> None:
    shown = escape("**bold** _it_ ~~s~~ `c` ||spoiler|| > quote [link](http://e.org) @everyone <@123>")
    assert shown == (
        "\\*\\*bold\\*\\* \\_it\\_ \\~\\~s\\~\\~ \\`c\\` \\|\\|spoiler\\|\\| > quote "
        "\\[link\\](<http://e.org>) @\u200beveryone \\<@123>"
    )


def test_quotes_headings_and_lists_are_escaped_at_the_start_only() -> None:
    assert escape("> not a quote > ok") == "\\> not a quote > ok"
    assert escape("# not a heading") == "\\# not a heading"
    assert escape("- not a list - ok") == "\\- not a list - ok"
    assert highlight("# Rock", ("Rock",)) == "\\# **Rock**"


def test_only_whole_matched_words_are_bold_and_case_is_kept() -> None:
    text = "Rockets passed the Bell Rock; the rock stood."
    assert highlight(text, ("rock",)) == "Rockets passed the Bell **Rock**; the **rock** stood."


def test_a_bold_word_inside_markdown_stays_escaped() -> None:
    assert highlight("a *rock* here", ("rock",)) == "a \\***rock**\\* here"


def test_unsafe_urls_are_not_linked() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https://e.org/a b)") == "https://e.org/a%20b%29"


def test_bidi_overrides_and_zero_width_characters_are_dropped_from_what_is_shown() -> None:
    """An RLO (U+202E) in an article would reverse the rest of the quoted line; zero-width spaces hide text."""
    tricky = "Paid \u202e$13 billion\u202c in\u200b 2023 \u2066isolated\u2069\ufeff \u200fmark"
    assert escape(tricky) == "Paid $13 billion in 2023 isolated mark"
    assert highlight(tricky, ("billion",)) == "Paid $13 **billion** in 2023 isolated mark"
    assert escape("نمی\u200cخواهم 👩\u200d💻") == "نمی\u200cخواهم 👩\u200d💻", "joiners that scripts and emoji need stay"


def test_a_link_in_a_question_is_code_that_neither_links_nor_pings() -> None:
    # Found by test_render's property test: "A:/@everyone" reads as a link, and the link kept its mention.
    assert inert("see A:/@everyone and http://x.org/@here") == "see `A:/@\u200beveryone` and `http://x.org/@\u200bhere`"
