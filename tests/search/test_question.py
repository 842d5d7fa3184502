"""How a question is read: its terms, concepts, names and the kind of fact it wants."""

import pytest
from made_up_corpus import idf, no_correction

from bot.search.answer.question import Concept, Expects, analyse, is_acronym, spelt_out
from bot.search.answer.select import satisfies
from bot.search.index.spelling import Speller


def test_names_count_double_and_type_words_not_at_all() -> None:
    question = analyse("Which country is SoftBank based in?", idf, no_correction)
    assert question.concepts == (Concept(("softbank",), 8.0, "SoftBank"), Concept(("base",), 4.0))
    assert question.query == ["countri", "softbank", "base", "softbank"]


def test_the_opening_word_and_chat_markup_are_not_names() -> None:
    question = analyse("<@42> **Explain** the Deal with Oracle", idf, no_correction)
    assert [concept.name for concept in question.concepts] == ["", "Deal", "Oracle"]


def test_shouted_or_title_case_questions_have_no_names() -> None:
    assert all(not c.name for c in analyse("WHY DID ACME BUY THE MILL", idf, no_correction).concepts)
    assert all(not c.name for c in analyse("What Did Acme Buy", idf, no_correction).concepts)


def test_a_name_is_unknown_only_when_none_of_its_forms_is_known() -> None:
    question = analyse("Is the Web-based tool from Acme?", idf, no_correction)
    assert question.unknown_names({"web", "tool"}.__contains__) == ["Acme"]


def test_an_error_class_pasted_with_its_message_is_never_an_unknown_name() -> None:
    question = analyse("serve() -> ModuleNotFoundError: No module named 'cryptography' from Acme", idf, no_correction)
    assert question.unknown_names({"serv", "modul", "name", "cryptographi"}.__contains__) == ["Acme"]
    assert "ModuleNotFoundError" in [concept.name for concept in question.concepts]  # still a name: it counts double


def test_a_name_the_asker_quotes_is_never_an_unknown_name() -> None:
    """A quoted name is a value from the asker's own code or output, which the articles need not contain."""
    setting = analyse("auto_envvar_prefix='MYAPP' works but Acme says no", idf, no_correction)
    assert setting.unknown_names(lambda term: False) == ["Acme"]
    pasted = analyse("InvalidHeader: Header part (1234) from ('X-Count', 1234) must be str", idf, no_correction)
    assert "X-Count" in [concept.name for concept in pasted.concepts]  # no closing quote taken with it
    assert "X-Count" not in pasted.unknown_names(lambda term: False)


def test_an_apostrophe_quotes_nothing() -> None:
    question = analyse("don't ask Bob's friend about Acme's plan", idf, no_correction)
    assert question.quoted == frozenset()
    assert question.unknown_names(lambda term: False) == ["Bob's", "Acme's"]


def test_a_hyphenated_word_is_one_concept() -> None:
    question = analyse("is it non-profit", idf, no_correction)
    assert [concept.terms for concept in question.concepts] == [("non", "profit", "nonprofit")]


def test_misspellings_are_corrected_before_stemming() -> None:
    question = analyse("microsfot deals", idf, lambda word: "microsoft" if word == "microsfot" else None)
    assert question.terms == ("microsoft", "deal")


def test_a_common_word_the_articles_lack_is_kept_as_written() -> None:
    small_talk = Speller({"small": 3, "lighthouse": 2})
    assert analyse("Whose lighthouse shall stand?", idf, small_talk.correct).text == "Whose lighthouse shall stand?"
    assert analyse("Whose lighthuose shall stand?", idf, small_talk.correct).text == "Whose lighthouse shall stand?"


def test_answer_types_from_the_wording() -> None:
    when = analyse("When did it start?", idf, no_correction)
    assert when.expects is Expects.TIME
    assert satisfies(when, "It began in March.") and not satisfies(when, "It began quietly.")
    assert analyse("Why did it start?", idf, no_correction).expects is Expects.ANYTHING


def test_type_words_count_only_right_after_a_question_word() -> None:
    which = analyse("Which company bought the mill?", idf, no_correction)
    assert [c.terms for c in which.concepts] == [("bought",), ("mill",)]
    two = analyse("Why did the two companies merge?", idf, no_correction)
    assert ("compani",) in [c.terms for c in two.concepts]



def test_how_many_inside_a_how_to_question_asks_for_a_way_not_a_number() -> None:
    assert analyse("How many moons does Acme have?", idf, no_correction).expects is Expects.NUMBER
    assert analyse("so how much did Acme pay", idf, no_correction).expects is Expects.NUMBER
    asks_a_way = analyse("want -v -vv, how do i get how many times they passed it", idf, no_correction)
    assert asks_a_way.expects is Expects.ANYTHING


def test_when_asks_for_a_time_only_as_the_question_word() -> None:
    assert analyse("so when did the talks start?", idf, no_correction).expects is Expects.TIME
    assert analyse("What year did it open?", idf, no_correction).expects is Expects.TIME
    city = analyse("what city was the convention when Ford was nominated", idf, no_correction)
    assert city.expects is Expects.ANYTHING


def test_when_inside_a_clause_asks_no_date() -> None:
    assert analyse("does put block when the queue is full", idf, no_correction).expects is Expects.ANYTHING
    assert analyse("what happens to the deal when the contract ends?", idf, no_correction).expects is Expects.ANYTHING
    assert analyse("since when does Acme sell tea", idf, no_correction).expects is Expects.TIME
    assert analyse("they signed it when?", idf, no_correction).expects is Expects.TIME


def test_chat_filler_is_dropped_before_searching() -> None:
    plain = analyse("who runs acme", idf, no_correction)
    for chatty in ("who runs acme rn pls lol", "who runs acme or smth", "pls who runs acme and stuff??", "idk who runs acme tbh"):
        read = analyse(chatty, idf, no_correction)
        assert (read.terms, read.concepts) == (plain.terms, plain.concepts), chatty


def test_a_question_of_only_filler_keeps_its_words() -> None:
    assert analyse("or what", idf, no_correction).text == "or what"
    assert analyse("this and that", idf, no_correction).text == "this and that"


def test_a_mention_before_when_does_not_hide_the_question_word() -> None:
    assert analyse("@everyone when did the talks start?", idf, no_correction).expects is Expects.TIME
    assert analyse("<@123> when did the talks start?", idf, no_correction).expects is Expects.TIME


def test_a_question_asks_and_a_claim_or_keywords_do_not() -> None:
    for question in ("does put block when the queue is full", "wait was openai a nonprofit at first",
                     "git clean -x what does it do", "which product competes with chatgpt", "stargate cost?",
                     "my callback never runs", "want -v to count how often it was given", "i get a 404 on every route",
                     "Error: No such option: --foo", "serve() -> ModuleNotFoundError: No module named 'x'"):
        assert analyse(question, idf, no_correction).asks, question
    for statement in ("stargate cost", "tell me about stargate", "Cells divide when exposed to light.",
                      "The genes which control growth are known.", "Complex I proteins need iron to work."):
        assert not analyse(statement, idf, no_correction).asks, statement


def test_an_acronym_is_written_in_capitals() -> None:
    assert [is_acronym(name) for name in ("AG", "IPO", "Ag", "OpenAI", "A", "G7")] == [True, True, False, False, False, False]


@pytest.mark.parametrize(
    ("acronym", "text", "words"),
    [
        ("AG", "the Delaware attorney general said", "attorney general"),
        ("SEC", "the Securities and Exchange Commission", "securities and exchange commission"),
        ("FTC", "a federal trade commission inquiry", "federal trade commission"),
        ("AG", "a big gain", None),  # "a" is a stopword, not a word an acronym stands for
        ("SEC", "in a second of its", None),
        ("IPO", "an initial offering", None),  # a letter missing
    ],
)
def test_an_acronym_is_spelt_out_by_the_initials_of_consecutive_words(acronym: str, text: str, words: str | None) -> None:
    assert spelt_out(acronym, text) == words
