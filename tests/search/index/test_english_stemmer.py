"""The copied English stemmer gives NLTK's stems, word for word: the saved indexes and every
calibrated threshold were made with NLTK's, so a single differing stem would be a silent change."""

import re
from pathlib import Path

import pytest
from nltk.stem.snowball import SnowballStemmer

from bot.search.index.english_stemmer import EnglishStemmer

ROOT = Path(__file__).resolve().parents[3]
# Words the Snowball rules treat specially: exceptions, step 1a/1b edge cases, "y" as a consonant,
# apostrophes (straight and curly), and the words where NLTK's algorithm and newer Snowball releases differ.
EDGE_CASES = """
    skis skies dying lying tying idly gently ugly early only singly sky news howe atlas cosmos bias andes
    inning innings outing outings canning cannings herring herrings earring earrings proceed proceeds
    proceeded proceeding exceed exceeded succeeding sses ties cries gas this kiwis yes says enjoying
    hopping hoping luxuriating generously commune communication arsenal gener generously abundantly
    added adding paste pasted internal university organization emergency interval lateral
    microsoft's companies' ’tis o’clock yellow youth Youthful a an by
""".split()


def _corpus_words() -> set[str]:
    """Every distinct word of the shipped articles, the git manual pages and the test fixtures."""
    words: set[str] = set()
    for folder in ("corpus", "bench/gitdoc/corpus", "tests/fixtures"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {".txt", ".md", ".html", ".toml"}:
                words.update(re.findall(r"[a-z'’]+", path.read_text(encoding="utf-8", errors="ignore").lower()))
    return words


@pytest.mark.parametrize("word", EDGE_CASES)
def test_edge_cases_stem_as_nltk_stems_them(word: str) -> None:
    assert EnglishStemmer().stem(word) == SnowballStemmer("english").stem(word)


def test_every_word_of_the_test_corpora_stems_as_nltk_stems_it() -> None:
    ours, nltk = EnglishStemmer(), SnowballStemmer("english")
    words = _corpus_words()
    assert len(words) > 4000  # the corpora were found: a handful of words would prove nothing
    assert [w for w in sorted(words) if ours.stem(w) != nltk.stem(w)] == []
