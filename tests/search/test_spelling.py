"""Misspelt question words are corrected towards the corpus's vocabulary, and only those."""

from bot.search.spelling import Speller

speller = Speller({"microsoft": 12, "partnership": 5, "partnerships": 2, "cloud": 4})


def test_one_edit_away_is_corrected() -> None:
    assert speller.correct("microsfot") == "microsoft"  # swapped letters
    assert speller.correct("microsft") == "microsoft"  # a missing letter
    assert speller.correct("partnershp") == "partnership"


def test_known_short_and_far_words_are_left_alone() -> None:
    assert speller.correct("microsoft") is None
    assert speller.correct("clod") is None  # too short to guess safely
    assert speller.correct("password") is None
