"""How candidate sentences are weighed: answer type, coverage of the question, near-duplicates."""

from made_up_corpus import idf, no_correction

from bot.search.answer.question import Expects, analyse
from bot.search.answer.select import (
    Candidate,
    coverage,
    group_duplicates,
    satisfies,
    select,
    similarity,
    sufficient,
)
from bot.search.index.tokens import tokenize


def test_how_many_wants_a_number_of_the_thing_counted() -> None:
    question = analyse("How many staff joined?", idf, no_correction)
    assert question.expects is Expects.NUMBER and question.counted == "staff"
    assert satisfies(question, "Three staff joined in May.")
    assert not satisfies(question, "Three firms joined in May.")
    assert not satisfies(question, "Staff joined in May.")


def test_one_shared_word_of_three_is_a_coincidence() -> None:
    question = analyse("best pizza topping", idf, no_correction)
    assert not sufficient(question, frozenset({"best", "backer"}), min_coverage=0.2)
    assert sufficient(question, frozenset({"best", "pizza"}), min_coverage=0.2)
    short = analyse("pizza topping", idf, no_correction)
    assert sufficient(short, frozenset({"pizza"}), min_coverage=0.2)


def test_coverage_is_the_share_of_the_question_information() -> None:
    question = analyse("OpenAI revenue share", idf, no_correction)
    assert coverage(question, frozenset(tokenize("OpenAI cut the revenue share"))) == 1.0
    assert coverage(question, frozenset(tokenize("OpenAI grew"))) == 0.5 / 8.5


def test_similarity_weighs_shared_information_not_shared_words() -> None:
    common = frozenset({"openai", "microsoft"})
    weight = {"openai": 0.1, "microsoft": 0.1, "2019": 5.0, "billion": 3.0, "cloud": 4.0}.__getitem__
    assert similarity(common | {"2019", "billion"}, common | {"2019", "billion", "cloud"}, weight) == 1.0
    assert similarity(common | {"2019"}, common | {"cloud"}, weight) < 0.1



def test_one_article_shows_two_facts_about_a_subject_but_a_restated_sentence_once() -> None:
    said = [
        Candidate(0, 0.9, "Acme and Globex renegotiate as Globex grows into a competitor.", article=1),
        Candidate(1, 0.8, "Acme and Globex renegotiate as Globex grows into a formidable competitor.", article=1),
        Candidate(2, 0.7, "Acme and Globex signed their first contract in 2019.", article=1),
        Candidate(3, 0.6, "Acme and Globex renegotiate as Globex grows into a competitor.", article=2),
    ]
    groups = group_duplicates(said, idf)
    assert [group.best.sentence_id for group in groups] == [0, 2]
    assert [other.sentence_id for other in groups[0].others] == [1, 3]


def test_a_refusal_says_whether_the_articles_are_silent_or_only_lack_the_date_asked_for() -> None:
    question = analyse("When did Acme open its lab?", idf, no_correction)
    undated = Candidate(0, 0.9, "Acme opened its lab after years of planning.", article=1, semantic=0.7)
    dated = Candidate(1, 0.5, "Acme opened its lab in March 2021.", article=1, semantic=0.7)
    elsewhere = Candidate(2, 0.1, "Pears ripen slowly.", article=2, semantic=0.1)
    assert select(question, [undated], 3, idf) == ([], "no sentence that answers it gives a date")
    assert select(question, [elsewhere], 3, idf) == ([], "nothing in the articles is close to the question")
    groups, reason = select(question, [undated, dated], 3, idf)
    assert reason == "" and [group.best.sentence_id for group in groups] == [1]


def test_a_sentence_without_a_vector_yet_is_weighed_by_its_words_not_refused_as_far_from_the_question() -> None:
    """While the vectors are built, the embedded candidates may all be far from a question a later sentence answers."""
    question = analyse("When did Acme open its lab?", idf, no_correction)
    elsewhere = Candidate(2, 0.1, "Pears ripen slowly.", article=2, semantic=0.1)
    not_yet = Candidate(1, 1.0, "Acme opened its lab in March 2021.", article=1, semantic=None, lexical=9.0)
    groups, reason = select(question, [not_yet, elsewhere], 3, idf)
    assert reason == "" and [group.best.sentence_id for group in groups] == [1]


def test_also_in_never_merges_a_claim_with_its_contradiction_nor_code() -> None:
    """Sentences sharing nearly all their words still differ when one denies or reverses the other."""
    from bot.search.answer.select import same_claim_shape

    contradicting = [
        ("Although asyncio queues are not thread-safe, they are designed for async code.", "Queues are thread and process safe."),
        ("The lock is released before the callback is called.", "The lock is released after the callback is called."),
        ("Microsoft has invested $13 billion in OpenAI.", "Microsoft has invested $10 billion in OpenAI."),
        ("The river is the longest in Europe.", "The river isn't the longest in Europe."),
    ]
    for a, b in contradicting:
        groups = group_duplicates([Candidate(0, 1.0, a, 1), Candidate(1, 0.9, b, 2)], lambda term: 1.0)
        assert len(groups) == 2, (a, b)
    assert not same_claim_shape("loop = asyncio.get_running_loop()", "loop = asyncio.get_running_loop()")
    assert same_claim_shape("Microsoft has invested $13 billion in OpenAI.", "Since 2019 Microsoft has invested $13 billion in OpenAI.")
