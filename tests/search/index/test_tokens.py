"""Questions and sentences become terms through one function."""

from bot.search.index.tokens import tokenize


def test_case_quotes_and_possessives_fold_away() -> None:
    assert tokenize("OpenAI’s") == tokenize("openai's") == tokenize("OPENAI") == ["openai"]


def test_stopwords_go_and_words_are_stemmed() -> None:
    assert tokenize("The negotiations were renegotiated") == ["negoti", "renegoti"]


def test_numbers_money_and_percentages_stay_searchable() -> None:
    assert tokenize("$13.5 billion, 20% and 1,000 by 2030") == ["13.5", "billion", "20", "percent", "1000", "2030"]


def test_hyphenated_words_match_their_parts_and_their_closed_form() -> None:
    assert tokenize("non-profit") == ["non", "profit", "nonprofit"]
    assert set(tokenize("nonprofit")) <= set(tokenize("non-profit"))


def test_dashes_separate_words_but_hyphens_join_them() -> None:
    assert tokenize("evolve—and grow") == ["evolv", "grow"]


def test_chat_filler_emoji_and_other_scripts() -> None:
    assert tokenize("ok so pls tell me lol 🤔") == []
    assert tokenize("Ünïcode café 日本語") == tokenize("unicode cafe 日本語") == ["unicod", "cafe", "日本語"]
