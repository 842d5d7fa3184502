"""BM25Index scores documents exactly as rank-bm25 does, which serves as the test oracle."""

import math
import random

import numpy as np
import pytest
import rank_bm25
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.search.index.bm25 import BM25Index

CORPUS = [
    ["hello", "there", "good", "man"],
    ["it", "is", "quite", "windy", "in", "london"],
    ["how", "is", "the", "weather", "today"],
]
REFERENCE = {"okapi": rank_bm25.BM25Okapi, "l": rank_bm25.BM25L, "plus": rank_bm25.BM25Plus}
OTHER_PARAMS = {
    "okapi": {"k1": 1.2, "b": 0.5, "epsilon": 0.1},
    "l": {"k1": 1.2, "b": 0.5, "delta": 0.7},
    "plus": {"k1": 1.2, "b": 0.5, "delta": 0.7},
}
VARIANTS = list(REFERENCE)


def assert_same_scores(documents, queries, variant, **params):
    index = BM25Index.build(documents, variant=variant, **params)
    reference = REFERENCE[variant](documents, **params)
    for query in queries:
        np.testing.assert_allclose(index.scores(query), reference.get_scores(query), rtol=0, atol=1e-9)


def brute_force_top_k(index, documents, query, k):
    scores = index.scores(query)
    matching = [d for d, document in enumerate(documents) if set(query) & set(document)]
    return [(d, scores[d]) for d in sorted(matching, key=lambda d: (-scores[d], d))[:k]]


def random_corpus(rng, n_documents, n_words=60):
    """Documents whose words follow a Zipf law, so some words are in most documents and some in one."""
    words = [f"w{i}" for i in range(n_words)]
    weights = [1 / (rank + 1) for rank in range(n_words)]
    return [rng.choices(words, weights, k=rng.randint(0, 12)) for _ in range(n_documents)], words


def test_counts_documents_and_lengths_like_rank_bm25():
    index = BM25Index.build(CORPUS)

    assert len(index) == 3
    assert index.average_length == 5
    assert index.document_lengths.tolist() == [4, 6, 5]
    assert index.document_frequency("is") == 2
    assert index.document_frequency("windy") == 1
    assert index.document_frequency("snow") == 0
    assert set(index.vocabulary) == {word for document in CORPUS for word in document}


def test_idf_by_hand():
    okapi = BM25Index.build(CORPUS)
    # 13 words are in one document of three, "is" in two: its Okapi idf is negative, so it is
    # replaced by epsilon (0.25) times the average idf of all 14 words.
    assert okapi.idf("windy") == pytest.approx(math.log(2.5 / 1.5))
    assert okapi.idf("is") == pytest.approx(0.25 * (13 * math.log(2.5 / 1.5) + math.log(1.5 / 2.5)) / 14)
    assert BM25Index.build(CORPUS, variant="l").idf("windy") == pytest.approx(math.log(4) - math.log(1.5))
    assert BM25Index.build(CORPUS, variant="plus").idf("is") == pytest.approx(math.log(4 / 2))
    assert okapi.idf("snow") == 0


@pytest.mark.parametrize("variant", VARIANTS)
def test_scores_equal_rank_bm25_on_the_fixture(variant):
    queries = [["windy", "london"], ["is"], ["how", "is", "the", "weather"], ["hello", "today", "man"]]
    assert_same_scores(CORPUS, queries, variant)


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_repeated_query_token_counts_again(variant):
    index = BM25Index.build(CORPUS, variant=variant)

    np.testing.assert_allclose(index.scores(["windy", "windy"]), 2 * index.scores(["windy"]))
    assert_same_scores(CORPUS, [["windy", "is", "windy", "is", "is"]], variant)


@pytest.mark.parametrize("variant", VARIANTS)
def test_unknown_tokens_add_nothing(variant):
    index = BM25Index.build(CORPUS, variant=variant)

    np.testing.assert_array_equal(index.scores(["snow", "windy", "rain"]), index.scores(["windy"]))
    assert index.scores(["snow"]).tolist() == [0, 0, 0]
    assert index.top_k(["snow"], 3) == []
    assert_same_scores(CORPUS, [["snow"], ["snow", "windy"]], variant)


@pytest.mark.parametrize("variant", VARIANTS)
def test_empty_documents_count_in_n_and_the_average_length(variant):
    documents = [[], ["windy", "london"], [], ["rain", "in", "london"]]
    index = BM25Index.build(documents, variant=variant)

    assert len(index) == 4
    assert index.average_length == 5 / 4
    assert_same_scores(documents, [["london"], ["windy", "rain"]], variant)


def test_bm25plus_scores_documents_without_the_term_but_top_k_skips_them():
    index = BM25Index.build(CORPUS, variant="plus")

    scores = index.scores(["windy"])
    assert scores[0] == scores[2] == pytest.approx(index.idf("windy") * 1.0)
    assert index.top_k(["windy"], 3) == [(1, scores[1])]


def test_bm25l_like_rank_bm25_gives_documents_without_the_term_nothing():
    # rank-bm25's BM25L multiplies by the term frequency, so unlike BM25Plus it adds no floor.
    assert BM25Index.build(CORPUS, variant="l").scores(["windy"])[[0, 2]].tolist() == [0, 0]


def test_okapi_floors_the_idf_of_a_term_in_more_than_half_the_documents():
    documents = [["the", "cat"], ["the", "dog"], ["the", "bird"], ["a", "fish"]]
    index = BM25Index.build(documents)

    assert index.idf("the") == pytest.approx(0.25 * np.mean([math.log(1.5 / 3.5), *[math.log(3.5 / 1.5)] * 5]))
    assert all(score > 0 for _, score in index.top_k(["the"], 4))
    assert_same_scores(documents, [["the"], ["the", "cat"]], "okapi")
    assert_same_scores(documents, [["the"]], "okapi", epsilon=0.5)


def test_okapi_gives_a_term_in_exactly_half_the_documents_no_weight():
    documents = [["rain", "today"], ["rain", "tomorrow"], ["sun"], ["snow"]]
    index = BM25Index.build(documents)

    assert index.idf("rain") == 0
    assert index.scores(["rain"]).tolist() == [0, 0, 0, 0]
    assert index.top_k(["rain"], 3) == [(0, 0.0), (1, 0.0)]


def test_okapi_ranks_matching_documents_even_when_every_score_is_negative():
    # No word is in half the documents or fewer, so the average idf, and the floor, is negative.
    documents = [["a", "b"], ["a", "b"], ["a"]]
    index = BM25Index.build(documents)

    assert index.idf("a") < 0
    assert_same_scores(documents, [["a"], ["a", "b"]], "okapi")
    assert [d for d, _ in index.top_k(["b"], 3)] == [0, 1]
    assert index.top_k(["a"], 3) == brute_force_top_k(index, documents, ["a"], 3)


def test_top_k_ranks_by_score_then_lower_document_id():
    # Both words beat one; of two sentences with "rain" only, the shorter wins; equal ones tie.
    documents = [["rain", "fog"], ["windy", "rain"], ["sun"], ["windy", "rain"], ["rain"], ["fog"], ["hail"]]
    index = BM25Index.build(documents)
    scores = index.scores(["windy", "rain"])

    assert index.top_k(["windy", "rain"], 3) == [(1, scores[1]), (3, scores[3]), (4, scores[4])]
    assert scores[1] == scores[3] > scores[4] > scores[0] > 0
    assert [d for d, _ in index.top_k(["windy", "rain"], 10)] == [1, 3, 4, 0]
    assert index.top_k(["windy", "rain"], 0) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_scores_equal_rank_bm25_on_random_documents(variant):
    rng = random.Random(7)
    documents, words = random_corpus(rng, 300)
    queries = [rng.choices(words + ["unknown"], k=rng.randint(1, 6)) for _ in range(40)]

    assert_same_scores(documents, queries, variant)
    assert_same_scores(documents, queries[:5], variant, **OTHER_PARAMS[variant])


@pytest.mark.parametrize("variant", VARIANTS)
def test_top_k_matches_a_full_sort_on_long_posting_lists(variant):
    # Enough documents that common words have postings beyond the sample top_k takes its floor from.
    rng = random.Random(11)
    documents, words = random_corpus(rng, 4000, n_words=400)
    index = BM25Index.build(documents, variant=variant)

    for _ in range(30):
        query = rng.choices(words, k=rng.randint(1, 5))
        for k in (1, 5, 50):
            assert index.top_k(query, k) == brute_force_top_k(index, documents, query, k)


@settings(max_examples=60, deadline=None)
@given(
    documents=st.lists(st.lists(st.sampled_from("abcdefgh"), max_size=8), min_size=1, max_size=25).filter(
        lambda documents: any(documents)
    ),
    query=st.lists(st.sampled_from("abcdefghxy"), max_size=5),
    variant=st.sampled_from(VARIANTS),
)
def test_scores_and_top_k_agree_with_rank_bm25_on_any_small_corpus(documents, query, variant):
    index = BM25Index.build(documents, variant=variant)

    assert_same_scores(documents, [query], variant)
    assert index.top_k(query, 3) == brute_force_top_k(index, documents, query, 3)


def test_build_reads_documents_once_so_a_generator_will_do():
    index = BM25Index.build(iter(CORPUS))

    np.testing.assert_array_equal(index.scores(["is", "windy"]), BM25Index.build(CORPUS).scores(["is", "windy"]))


def test_build_rejects_what_rank_bm25_cannot_score():
    with pytest.raises(ValueError, match="no terms"):
        BM25Index.build([[], []])
    with pytest.raises(ValueError, match="no terms"):
        BM25Index.build([])
    with pytest.raises(ValueError, match="unknown BM25 variant 'bm25t'"):
        BM25Index.build(CORPUS, variant="bm25t")


@pytest.mark.parametrize("params", [{"k1": -1}, {"b": 1.5}, {"b": -0.1}, {"variant": "plus", "delta": -1}])
def test_build_rejects_parameters_under_which_weights_misbehave(params):
    with pytest.raises(ValueError, match="BM25 needs k1 >= 0, 0 <= b <= 1 and delta >= 0"):
        BM25Index.build(CORPUS, **params)


@pytest.mark.parametrize("variant", VARIANTS)
def test_arrays_round_trip_to_an_index_that_scores_the_same(variant):
    index = BM25Index.build(CORPUS, variant=variant, **OTHER_PARAMS[variant])
    arrays = index.to_arrays()
    copy = BM25Index.from_arrays({**arrays, "other.array": np.zeros(3)})

    assert not any(array.dtype.hasobject for array in arrays.values())
    assert all(name.startswith("bm25.") for name in arrays)
    assert copy.params == index.params
    assert dict(copy.vocabulary) == dict(index.vocabulary)
    np.testing.assert_array_equal(copy.scores(["is", "london"]), index.scores(["is", "london"]))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda a: a.pop("bm25.doc_ids"), "missing: bm25.doc_ids"),
        (lambda a: a.update({"bm25.doc_ids": a["bm25.doc_ids"].astype(np.float64)}), "bm25.doc_ids has the wrong type"),
        (lambda a: a.update({"bm25.offsets": a["bm25.offsets"][:-1]}), "offsets do not match"),
        (lambda a: a.update({"bm25.variant": np.array("bm25t")}), "unknown BM25 variant"),
        (lambda a: a.update({"bm25.term_offsets": a["bm25.term_offsets"] + 1}), "offsets do not fit"),
        (lambda a: a.update({"bm25.upper_bound": a["bm25.upper_bound"][:-1]}), "upper bounds do not fit"),
        (lambda a: a.update({"bm25.doc_lengths": a["bm25.doc_lengths"] - 100}), "negative length"),
    ],
)
def test_from_arrays_names_what_is_inconsistent(change, reason):
    arrays = BM25Index.build(CORPUS).to_arrays()
    change(arrays)

    with pytest.raises(ValueError, match=reason):
        BM25Index.from_arrays(arrays)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda a: a.update({"bm25.doc_ids": a["bm25.doc_ids"] + 5}), "documents that do not exist"),
        (lambda a: a.update({"bm25.doc_ids": a["bm25.doc_ids"][::-1].copy()}), "ascending order"),
        (lambda a: a.update({"bm25.tf": a["bm25.tf"] * 0}), "term frequencies must be at least 1"),
    ],
)
def test_postings_are_checked_when_their_term_is_first_used(change, reason):
    """Checking every posting at load read the whole index; a term's postings are read when it is used anyway."""
    arrays = BM25Index.build(CORPUS).to_arrays()
    change(arrays)
    index = BM25Index.from_arrays(arrays)

    with pytest.raises(ValueError, match=reason):
        index.top_k([term for document in CORPUS for term in document], 3)


def test_scores_of_chosen_documents_equal_the_full_scores() -> None:
    index = BM25Index.build([["apple", "pie"], ["apple"], ["pear", "tart"], ["pie", "pie", "tart"]])
    docs = np.array([3, 0, 2])
    assert index.scores_of(["pie", "tart", "pie"], docs) == pytest.approx(index.scores(["pie", "tart", "pie"])[docs], abs=1e-12)
