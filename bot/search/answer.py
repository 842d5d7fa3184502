"""Decide what a question asks for, whether the corpus answers it, and which sentences to show.

The abstention rules are stated in terms any corpus has: whether the names a question asks about
occur at all, how much of the question's information (IDF-weighted terms) a sentence covers and
how many of its informative words it shares, and whether a question that asks for a number or a
date got a sentence holding one. Nothing here is tuned to particular questions.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

from bot.search.tokens import fold, stem, tokenize, word_groups, words

# Nouns that name the kind of answer wanted ("which country", "what year") rather than its
# content; right after a question word, the answering sentence rarely repeats them, so there
# they do not count against coverage ("the two companies" elsewhere is content).
ANSWER_TYPE_WORDS = frozenset(
    stem(word)
    for word in """
    kind type sort way ways thing things name names country countries city cities place places
    year years date dates day days month months time times person people company companies firm firms
    organization organisation product products number amount percentage reason reasons example examples
    """.split()
)
MIN_COVERAGE = 0.2
MERGE_SIMILARITY = 0.5
FOCUS_WEIGHT = 2.0
# Okapi's IDF is zero for a word in half the sentences; at the smooth IDF used here that is about log 2.
INFORMATIVE_IDF = math.log(2)


class Expects(Enum):
    """What kind of fact the question asks for, when its wording says so."""

    ANYTHING = "anything"
    NUMBER = "number"
    TIME = "time"


# Chat markup that is not words: mentions, custom emoji, links, markdown emphasis and quotes.
_MARKUP = re.compile(r"<(?:[@#][!&]?|a?:\w+:)\d+>|https?://\S+|[*_~`|>]+")
_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*|\b\w+[A-Z]\w*")
_ASKS_NUMBER = re.compile(r"\bhow (many|much)\b|\bwhat (percentage|percent|share|amount|number)\b")
_ASKS_TIME = re.compile(r"\b(when|what year|which year|what date|in what year|by what year|how long ago)\b")
_WH_PHRASE = re.compile(r"\b(?:which|what|whose)\s+((?:[\w'-]+\s+){0,1}[\w'-]+)")
_COUNTED = re.compile(r"\bhow many (\w+)")
_HAS_NUMBER = re.compile(r"\d|\b(two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|hundred|thousand|million|billion|trillion|dozen|half)\b")
_HAS_TIME = re.compile(
    r"\b(1[89]\d\d|2[01]\d\d)s?\b|\b(january|february|march|april|may|june|july|august|september|october|november|december)\b"
    r"|\b(yesterday|today|tomorrow|last (week|month|year)|next (week|month|year)|ago)\b"
)


@dataclass(frozen=True)
class Concept:
    """One written word of the question: any of its terms in a sentence covers it."""

    terms: tuple[str, ...]
    weight: float
    name: str = ""  # as written, when the word is a name (capitalised inside the question)
    informative: bool = True  # False for a word in more than half of the sentences


@dataclass(frozen=True)
class Question:
    """A question reduced to what search needs."""

    terms: tuple[str, ...]
    concepts: tuple[Concept, ...]
    expects: Expects
    counted: str = ""  # the term after "how many", which the answer must mention

    @property
    def query(self) -> list[str]:
        """The BM25 query: each term once, names twice (they are what the question is about)."""
        named = {term for concept in self.concepts if concept.name for term in concept.terms}
        return [*self.terms, *(term for term in self.terms if term in named)]

    def unknown_names(self, known: Callable[[str], bool]) -> list[str]:
        """Names none of whose forms ("Web-based": web, based, webbased) the corpus knows."""
        return [c.name for c in self.concepts if c.name and not any(known(term) for term in c.terms)]


def analyse(question: str, idf: Callable[[str], float], correct: Callable[[str], str | None]) -> Question:
    """Terms in order (misspellings corrected), grouped into weighted concepts, and the answer type."""
    text = _MARKUP.sub(" ", question)
    folded = fold(text)
    names = _named_words(text)
    asked_for = _answer_type_terms(folded)
    terms: list[str] = []
    concepts: dict[tuple[str, ...], Concept] = {}
    for group in word_groups(text):
        stems = tuple(dict.fromkeys(stem(correct(word) or word) for word in group))
        terms.extend(term for term in stems if term not in terms)
        if stems in concepts or asked_for.intersection(stems):
            continue
        name = next((names[word] for word in group if word in names), "")
        information = max(idf(term) for term in stems)
        concepts[stems] = Concept(stems, information * (FOCUS_WEIGHT if name else 1.0), name, information > INFORMATIVE_IDF)
    counted = _COUNTED.search(folded)
    counted_terms = tokenize(counted.group(1)) if counted else []
    return Question(tuple(terms), tuple(concepts.values()), _expects(folded), counted_terms[0] if counted_terms else "")


def _answer_type_terms(folded: str) -> set[str]:
    """Type words ("which country", "what kind of", "which Microsoft product") right after a question word."""
    found = set()
    for match in _WH_PHRASE.finditer(folded):
        found.update(term for term in tokenize(match.group(1)) if term in ANSWER_TYPE_WORDS)
    return found


def _named_words(text: str) -> dict[str, str]:
    """Capitalised words that do not open a sentence (the names a question is about), folded.

    A question in capitals or Title Case says nothing about names, so it has none.
    """
    names: dict[str, str] = {}
    written = [word for word in text.split() if word[:1].isalpha()]
    if len(written) >= 3 and sum(word[0].isupper() for word in written) >= 0.7 * len(written):
        return names
    for match in _CAPITALISED.finditer(text):
        opening = re.split(r"[.!?:\"“]", text[: match.start()])[-1]
        if re.search(r"\w", opening):
            names.update((word, match.group()) for word in words(match.group()))
    return names


def _expects(folded: str) -> Expects:
    if _ASKS_NUMBER.search(folded):
        return Expects.NUMBER
    if _ASKS_TIME.search(folded):
        return Expects.TIME
    return Expects.ANYTHING


def satisfies(question: Question, sentence: str) -> bool:
    """Whether a sentence can answer a question of this type at all ("how many users": a number of users)."""
    if question.expects is Expects.NUMBER:
        has_number = _HAS_NUMBER.search(fold(sentence)) is not None
        return has_number and (not question.counted or question.counted in tokenize(sentence))
    if question.expects is Expects.TIME:
        return _HAS_TIME.search(fold(sentence)) is not None
    return True


def sufficient(question: Question, sentence_terms: frozenset[str], min_coverage: float) -> bool:
    """Whether a sentence holds enough of the question to answer it.

    It must cover `min_coverage` of the question's information, and a question with three or
    more informative words must share at least two of them: one shared word is a coincidence.
    """
    informative = [c for c in question.concepts if c.informative]
    shared = sum(1 for c in informative if sentence_terms.intersection(c.terms))
    needed = 2 if len(informative) >= 3 else min(1, len(informative))
    return shared >= needed and coverage(question, sentence_terms) >= min_coverage


def coverage(question: Question, sentence_terms: frozenset[str]) -> float:
    """Share of the question's information that the sentence contains."""
    total = sum(concept.weight for concept in question.concepts)
    if total <= 0:
        return 0.0
    covered = sum(concept.weight for concept in question.concepts if sentence_terms.intersection(concept.terms))
    return covered / total


def smooth_idf(document_frequency: int, documents: int) -> float:
    """An IDF that stays positive for common words and is largest for unseen ones."""
    return math.log((documents + 1) / (document_frequency + 0.5))


class Candidate:
    """A sentence the index found; its terms are worked out only if asked for."""

    def __init__(self, sentence_id: int, score: float, text: str, article: int) -> None:
        self.sentence_id = sentence_id
        self.score = score
        self.text = text
        self.article = article

    @functools.cached_property
    def terms(self) -> frozenset[str]:
        return frozenset(tokenize(self.text))


@dataclass
class Group:
    """One fact: its best sentence and the other sentences (maybe other articles) that say it."""

    best: Candidate
    others: list[Candidate]


def group_duplicates(candidates: Sequence[Candidate], weight: Callable[[str], float]) -> list[Group]:
    """Merge near-duplicate sentences (sharing most of their information) into one group, best first."""
    weight = functools.cache(weight)  # each term's weight, and each sentence's total, once per question
    total = functools.cache(lambda terms: sum(map(weight, terms)))
    groups: list[Group] = []
    for candidate in candidates:
        for group in groups:
            if _shared_share(group.best.terms, candidate.terms, weight, total) >= MERGE_SIMILARITY:
                group.others.append(candidate)
                break
        else:
            groups.append(Group(candidate, []))
    return groups


def similarity(a: frozenset[str], b: frozenset[str], weight: Callable[[str], float]) -> float:
    """The weight of the terms two sentences share, relative to the lighter sentence.

    Weighting by IDF keeps two different facts about the same companies apart: sharing
    "microsoft openai partnership" says little, sharing "2019 1 billion invest" says a lot.
    """
    return _shared_share(a, b, weight, lambda terms: sum(map(weight, terms)))


def _shared_share(
    a: frozenset[str], b: frozenset[str], weight: Callable[[str], float], total: Callable[[frozenset[str]], float]
) -> float:
    shared = a & b
    if not shared:
        return 0.0
    lighter = min(total(a), total(b))
    return sum(map(weight, shared)) / lighter if lighter > 0 else 0.0
