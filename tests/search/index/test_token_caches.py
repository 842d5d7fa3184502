"""The tokenizer's caches hold short tokens only, so what users type cannot fill memory with long words."""

from bot.search.index import tokens
from bot.search.index.tokens import tokenize


def test_a_long_token_is_tokenized_the_same_but_never_cached():
    long_word = "x" * 995
    compound = "-".join(["abcdefgh"] * 5)  # 44 characters: over the cap, though each part is short
    before = tokens._raw_words.cache_info().currsize, tokens._raw_terms.cache_info().currsize

    assert tokenize(long_word) == []  # a 995-letter word is longer than any term
    assert tokenize(compound) == ["abcdefgh"] * 5

    assert (tokens._raw_words.cache_info().currsize, tokens._raw_terms.cache_info().currsize) == before


def test_short_tokens_are_cached():
    word = "zyxwvutsrq"
    tokenize(word)
    hits = tokens._raw_terms.cache_info().hits
    assert tokenize(word) == ["zyxwvutsrq"]
    assert tokens._raw_terms.cache_info().hits == hits + 1


def test_clearing_the_caches_after_a_build_empties_them_and_tokenizing_is_unchanged():
    before = tokenize("Lighthouses guided the fishing boats home")
    tokens.clear_caches()
    assert tokens._raw_terms.cache_info().currsize == 0 and tokens._raw_words.cache_info().currsize == 0
    assert tokenize("Lighthouses guided the fishing boats home") == before
