"""Sentences follow the text's structure: headings, bullets and FAQ lines are boundaries."""

from bot.search.read.sentences import Kind, split_passages, split_sentences, title_of


def test_abbreviations_and_decimals_do_not_end_sentences() -> None:
    text = "Dr. Smith moved to the U.S. in 2019. Acme Inc. raised $13.5 billion, e.g. from banks. It grew."
    assert split_sentences(text) == [
        "Dr. Smith moved to the U.S. in 2019.",
        "Acme Inc. raised $13.5 billion, e.g. from banks.",
        "It grew.",
    ]


def test_headings_and_bullets_are_their_own_passages() -> None:
    passages = split_passages("Market Outlook\nPrices rose. Demand held.\n• Exports: up 5% on the year.\n- Imports fell.")
    assert [(p.kind, p.text) for p in passages] == [
        (Kind.HEADING, "Market Outlook"),
        (Kind.TEXT, "Prices rose."),
        (Kind.TEXT, "Demand held."),
        (Kind.BULLET, "Exports: up 5% on the year."),
        (Kind.BULLET, "Imports fell."),
    ]
    assert passages[1].section == "Market Outlook"


def test_faq_answers_carry_their_question() -> None:
    passages = split_passages("FAQ\nQ: Why did prices rise?\nA: Supply was short. Demand was high.")
    question, first, second = passages[1:]
    assert question.kind is Kind.QUESTION and not question.kind.answers
    assert first.kind is second.kind is Kind.ANSWER
    assert first.text == "Supply was short." and first.prompt == "Why did prices rise?"


def test_lead_in_lines_are_not_answers() -> None:
    passages = split_passages("The rivalry grew in three ways. Here is how it played out:\n• Prices fell.")
    assert passages[1].kind is Kind.LEAD_IN and not passages[1].kind.answers


def test_hard_wrapped_paragraphs_are_joined() -> None:
    text = "The committee met on Tuesday and agreed that the budget would\nbe cut by a tenth next year."
    assert [p.text for p in split_passages(text)] == [text.replace("\n", " ")]


def test_very_long_unpunctuated_text_is_cut_into_bounded_sentences() -> None:
    pieces = split_sentences("word " * 5000)
    assert len(pieces) > 1 and all(len(piece) <= 600 for piece in pieces)


def test_title_is_the_opening_heading() -> None:
    assert title_of(split_passages("Widgets Take Over\n\nWidgets are everywhere now.")) == "Widgets Take Over"
    assert title_of(split_passages("Widgets are everywhere now.")) is None


def test_questions_in_running_text_are_not_answers() -> None:
    passages = split_passages("But what does this mean for investors? Analysts expect higher prices.")
    assert [(p.kind, p.text) for p in passages] == [
        (Kind.QUESTION, "But what does this mean for investors?"),
        (Kind.TEXT, "Analysts expect higher prices."),
    ]


def test_a_long_headline_is_not_joined_to_the_paragraph_below() -> None:
    passages = split_passages("Infrastructure Investments and the Harbour Expansion Project\nThe port will double in size.")
    assert [p.kind for p in passages] == [Kind.HEADING, Kind.TEXT]


def test_an_exclamation_or_a_quoted_question_mark_inside_a_sentence_does_not_end_it() -> None:
    text = (
        "The values (but not the keys!) of the file are templates. It prints \"Aborted!\" to the screen. "
        'Use the "%s" placeholder, not the "?" placeholder. Blame marks it with a ? in its output.'
    )
    assert split_sentences(text) == [
        "The values (but not the keys!) of the file are templates.",
        'It prints "Aborted!" to the screen.',
        'Use the "%s" placeholder, not the "?" placeholder.',
        "Blame marks it with a ? in its output.",
    ]


def test_a_question_still_ends_where_its_answer_opens_with_a_lowercase_name() -> None:
    assert split_sentences("Where do I keep the connection? aiohttp.web.Application holds it.") == [
        "Where do I keep the connection?",
        "aiohttp.web.Application holds it.",
    ]
