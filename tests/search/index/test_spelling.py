"""Misspelt question words are corrected towards the corpus's vocabulary, and only those."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.search.engine import Engine
from bot.search.index import spelling
from bot.search.index.spelling import Speller

speller = Speller({"microsoft": 12, "partnership": 5, "partnerships": 2, "cloud": 4})


def test_one_edit_away_is_corrected() -> None:
    assert speller.correct("microsfot") == "microsoft"  # swapped letters
    assert speller.correct("microsft") == "microsoft"  # a missing letter
    assert speller.correct("partnershp") == "partnership"


def test_known_short_and_far_words_are_left_alone() -> None:
    assert speller.correct("microsoft") is None
    assert speller.correct("clod") is None  # too short to guess safely
    assert speller.correct("password") is None


def test_an_english_word_the_articles_lack_is_not_a_misspelling_of_one_they_have() -> None:
    news = Speller({"stake": 3, "firms": 7, "setting": 2, "bing": 1})
    for word in ("state", "farms", "getting", "bring"):
        assert news.correct(word) is None
    assert news.correct("stkae") == "stake"  # a real misspelling still is one


def test_without_its_word_list_the_speller_still_corrects(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = tmp_path / "tokenizer.json"
    broken.write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(spelling, "ENGLISH_VOCABULARY", broken)
    spelling.english_words.cache_clear()
    try:
        assert spelling.english_words() == frozenset()
        assert speller.correct("microsfot") == "microsoft"
    finally:
        spelling.english_words.cache_clear()


def test_the_question_the_signals_read_keeps_its_english_words(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("The firms put a stake in the project. Bing is a search engine.\n", encoding="utf-8")
    engine = Engine.from_dir(tmp_path)
    assert engine.candidates("Did state farms bring the prjoect in?")[0].text == "Did state farms bring the project in?"



def _no_building(words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    raise AssertionError("the deletion index was built")


def test_a_speller_from_its_saved_arrays_corrects_without_building_its_index(monkeypatch: pytest.MonkeyPatch) -> None:
    saved = Speller(speller.counts).to_arrays()
    monkeypatch.setattr(spelling, "deletion_index", _no_building)
    loaded = Speller.from_arrays(saved)
    assert loaded.correct("microsfot") == "microsoft"
    assert loaded.correct("partnershp") == "partnership"
    with pytest.raises(AssertionError, match="was built"):
        Speller(speller.counts).correct("microsfot")  # one that was not loaded builds it on first use


def test_a_loaded_engine_spells_from_the_index_saved_with_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Lighthouses guide ships along rocky coasts at night.", encoding="utf-8")
    Engine.from_dir(corpus, cache_dir=tmp_path / "cache")
    monkeypatch.setattr(spelling, "deletion_index", _no_building)
    restarted = Engine.from_dir(corpus, cache_dir=tmp_path / "cache")
    assert "Lighthouses" in restarted.ask("what do lighthuoses guide?").hits[0].matched


def test_saved_arrays_that_do_not_fit_are_refused() -> None:
    saved = speller.to_arrays()
    shuffled = {**saved, "speller.deletion_keys": saved["speller.deletion_keys"][::-1].copy()}
    with pytest.raises(ValueError, match="not sorted"):
        Speller.from_arrays(shuffled)
    with pytest.raises(ValueError, match="do not fit"):
        Speller.from_arrays({**saved, "speller.counts": saved["speller.counts"][:-1]})
