"""Turn text into search terms; questions and sentences go through this very same code."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from functools import lru_cache, wraps
from typing import TypeVar

from bot.search.index.english_stemmer import EnglishStemmer

# NLTK's English stopword list (its data package is a download we may not use), plus the
# filler words of chat questions ("pls", "lol"), which carry no meaning in either direction.
STOPWORDS = frozenset(
    """
    a about above after again against ain all am an and any are aren as at be because been before being
    below between both but by can couldn d did didn do does doesn doing don down during each few for from
    further had hadn has hasn have haven having he her here hers herself him himself his how i if in into
    is isn it its itself just ll m ma me mightn more most mustn my myself needn no nor not now o of off on
    once only or other our ours ourselves out over own re s same shan she should shouldn so some such t
    than that the their theirs them themselves then there these they this those through to too under until
    up very ve was wasn we were weren what when where which while who whom why will with won wouldn y you
    your yours yourself yourselves
    also could would might may must shall us let lets whats thats theres heres

    pls plz please ok okay hey hi hello lol lmao btw tbh imo imho idk u ur ya yeah yep nope hmm um uh
    wait guys anyone someone tell thanks thx ty gonna wanna gotta kinda sorta many much
    """.split()
)

_FOLD = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u2010": "-", "\u2011": "-", "\u2212": "-", "\ufe63": "-", "\uff0d": "-",
        "\u2012": " ", "\u2013": " ", "\u2014": " ", "\u2015": " ",
    }
)
# Accents and other combining marks ("café" finds "cafe"; zalgo text reads as its letters).
_COMBINING_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_RAW_TOKEN = re.compile(r"\d+(?:[.,]\d+)*(?:%|(?!\w))|\w+(?:['-]\w+)*")
_MAX_JOINED_PARTS = 3
_MAX_TERM_CHARS = 40
_MAX_CACHED_CHARS = 32

_stemmer = EnglishStemmer()
T = TypeVar("T")


def fold(text: str) -> str:
    """Unicode compatibility forms, ASCII quotes and hyphens, no accents, and case folding.

    En and em dashes separate words ("evolve—and"); hyphens join them ("non-profit").
    """
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return unicodedata.normalize("NFC", _COMBINING_MARKS.sub("", decomposed)).casefold()


def tokenize(text: str) -> list[str]:
    """The stemmed search terms of `text`, in order, stopwords removed."""
    return [term for raw in _RAW_TOKEN.findall(fold(text)) for term in _raw_terms(raw)]


def words_and_terms(text: str) -> tuple[list[str], list[str]]:
    """`words(text)` and `tokenize(text)` in one pass, for indexing."""
    raws = _RAW_TOKEN.findall(fold(text))
    return [w for raw in raws for w in _raw_words(raw)], [t for raw in raws for t in _raw_terms(raw)]


def words(text: str) -> Iterator[str]:
    """The folded, unstemmed words that become terms (what a reader would recognise)."""
    for group in word_groups(text):
        yield from group


def word_groups(text: str) -> Iterator[tuple[str, ...]]:
    """Words grouped by the written token they come from ("non-profit": non, profit, nonprofit)."""
    for raw in _RAW_TOKEN.findall(fold(text)):
        group = _raw_words(raw)
        if group:
            yield group


def stem(word: str) -> str:
    """Snowball stem of a folded word; numbers are kept as they are."""
    return word if not word.isalpha() else _stem_cached(word)


@lru_cache(maxsize=200_000)
def _stem_cached(word: str) -> str:
    return _stemmer.stem(word)


def _short_tokens_cached(function: Callable[[str], T]) -> Callable[[str], T]:
    """lru_cache(200_000) for tokens of at most _MAX_CACHED_CHARS characters; longer ones are worked out each time.

    Real words that long are rare, and they are how users could fill the caches: with the cap an
    entry (with its stem) costs about 0.45 KB, so the caches stay under about 90 MB however many new words
    users type; uncapped, 995-character words cost 1.1 KB each, 230 MB at the cap.
    """
    cached = lru_cache(maxsize=200_000)(function)

    @wraps(function)
    def lookup(raw: str) -> T:
        return cached(raw) if len(raw) <= _MAX_CACHED_CHARS else function(raw)

    lookup.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    lookup.cache_info = cached.cache_info  # type: ignore[attr-defined]
    return lookup


# Written tokens follow Zipf's law, so caching their expansion makes tokenizing mostly lookups.
@_short_tokens_cached
def _raw_words(raw: str) -> tuple[str, ...]:
    return tuple(_expand(raw))


@_short_tokens_cached
def _raw_terms(raw: str) -> tuple[str, ...]:
    return tuple(stem(word) for word in _raw_words(raw))


def clear_caches() -> None:
    """Empty the tokenizing caches: after a build they hold the corpus's words (up to 90 MB), which
    questions seldom use again, and a restart from the saved index begins without them."""
    for cached in (_stem_cached, _raw_words, _raw_terms):
        cached.cache_clear()  # type: ignore[attr-defined]


def _expand(raw: str) -> Iterator[str]:
    """One raw token's words: numbers normalised, possessives dropped, hyphen compounds split and joined."""
    if raw[0].isdigit():
        yield from _number(raw)
        return
    raw = raw.split("'")[0]
    parts = [part for part in raw.split("-") if part]
    for part in parts:
        if _keep(part):
            yield part
    if 1 < len(parts) <= _MAX_JOINED_PARTS and all(part.isalpha() for part in parts):
        joined = "".join(parts)
        if _keep(joined):
            yield joined


def _number(raw: str) -> Iterator[str]:
    percent = raw.endswith("%")
    digits = raw.rstrip("%").replace(",", "")
    if "." in digits:
        digits = digits.rstrip("0").rstrip(".")
    if digits:
        yield digits[:_MAX_TERM_CHARS]
    if percent:
        yield "percent"


def _keep(word: str) -> bool:
    if len(word) > _MAX_TERM_CHARS or word in STOPWORDS:
        return False
    return len(word) > 1 or word.isdigit()
