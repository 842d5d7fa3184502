"""The last stage of answering: which candidate sentences to show, and when to show none.

Candidates arrive ranked by the fused score. This stage keeps those that can answer a question
of its type ("how many users" needs a number of users), decides whether the best of them hold
enough of the question to answer it at all, and merges sentences that state the same fact.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.search.answer.question import Expects, Question
from bot.search.index.tokens import fold, tokenize

MERGE_SIMILARITY = 0.5
# One sentence restates another of its article when it holds nearly all of the other's information and
# adds little: a scraped page repeats its standfirst in the body, "... grows into a competitor" then
# "... grows into a formidable competitor". Hiding the repeat changed nothing on the dev set, WikiQA or
# SciFact (bench/quality.py), where different facts about one subject stay apart.
RESTATE_CONTAINED = 0.9
RESTATE_LENGTH = 0.75
MERGE_WINDOW = 10  # candidates beyond top_k looked at for duplicates of the shown ones


@dataclass(frozen=True)
class Abstention:
    """When no sentence answers the question.

    Without the semantic signal, a sentence answers when it covers `min_coverage` of the
    question's information (IDF-weighted words) and shares two of its informative words
    (calibrated on the dev set and SciFact). With it, cosine similarity decides first: below
    `off_topic` nothing in the articles is about the question; at or above `close` a sentence
    answers by meaning alone; in between it must also pass the word test.

    Calibrated with all-MiniLM-L6-v2 by `bench/quality.py --abstention` on the dev set, WikiQA
    and SciFact together. With min_coverage 0.2, off_topic 0.2-0.4 x close 0.5-0.8 is a plateau:
    the dev set keeps every right and no wrong abstention, WikiQA's answer-triggering F1 stays
    0.305-0.328 and SciFact's wrong abstentions 5.7-7.7%; the defaults sit in its middle.
    min_coverage 0.3-0.4 lifts WikiQA's F1 to 0.33-0.35 only by refusing 5-30% of the dev set's
    answerable questions and 10-25% of SciFact's claims, so it stays at 0.2.
    """

    min_coverage: float = 0.2
    off_topic: float = 0.3
    close: float = 0.6
    # With the reranker: the probability a shown sentence needs. train/reranker/combine.py on its calibration
    # questions (SQuAD train articles with answers removed, WikiQA train's held-out 30%): the highest
    # threshold refusing at most 5% of the answerable ones, the bound for wrong refusals (F1 0.521
    # there, against 0.620 at F1's best threshold, 0.25). Refitted for round 5's reranker (0.025 for round 2's and 4's),
    # and again when the sentence model began reading the title, then the section heading, after the sentence
    # (0.02 both times; F1 there 0.528, then 0.526), and when the combination began reading where a candidate
    # stands among the others (0.04; F1 there 0.525).
    answers: float = 0.04


_WANTED = {Expects.NUMBER: "a number", Expects.TIME: "a date"}
_HAS_NUMBER = re.compile(r"\d|\b(two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|hundred|thousand|million|billion|trillion|dozen|half)\b")
_HAS_TIME = re.compile(
    r"\b(1[89]\d\d|2[01]\d\d)s?\b|\b(january|february|march|april|may|june|july|august|september|october|november|december)\b"
    r"|\b(yesterday|today|tomorrow|last (week|month|year)|next (week|month|year)|ago)\b"
)


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


class Candidate:
    """A sentence retrieval found, with its fused score, its BM25 score and its semantic one (None when
    that signal is off, or the vectors' build has not reached the sentence yet), and the heading it is
    under (its sentence id, -1 for none); after reranking, also the probability that it answers (None before).

    Its terms are worked out only if asked for.
    """

    def __init__(
        self,
        sentence_id: int,
        score: float,
        text: str,
        article: int,
        semantic: float | None = None,
        lexical: float = 0.0,
        section: int = -1,
    ) -> None:
        self.sentence_id = sentence_id
        self.score = score
        self.text = text
        self.article = article
        self.semantic = semantic
        self.lexical = lexical
        self.section = section
        self.probability: float | None = None
        self.features: np.ndarray | None = None

    @functools.cached_property
    def terms(self) -> frozenset[str]:
        return frozenset(tokenize(self.text))


def select(
    question: Question,
    ranked: Sequence[Candidate],
    top_k: int,
    weight: Callable[[str], float],
    abstention: Abstention = Abstention(),
) -> tuple[list[Group], str]:
    """The facts to show, best first, or none and the reason why.

    `ranked` is best first by fused score. A sentence of the wrong answer type is never shown.
    With the semantic signal, the question is answered when some sentence is close to it in
    meaning, or near enough and sharing enough of its words; without it, only by shared words.
    """
    semantic = [c.semantic for c in ranked if c.semantic is not None]
    if semantic and len(semantic) == len(ranked) and max(semantic) < abstention.off_topic:
        # Only when every candidate was weighed by meaning: one without a vector yet (the vectors are still
        # being built) may be the answer, and the word test below decides for it.
        return [], "nothing in the articles is close to the question"
    if ranked and ranked[0].probability is not None:
        return _select_by_probability(question, ranked, top_k, weight, abstention)
    fitting = [candidate for candidate in ranked if satisfies(question, candidate.text)]
    if any(_answers(question, candidate, abstention) for candidate in fitting):
        return group_duplicates(fitting[: MERGE_WINDOW + top_k], weight)[:top_k], ""
    if question.expects in _WANTED and any(_answers(question, candidate, abstention) for candidate in ranked):
        return [], f"no sentence that answers it gives {_WANTED[question.expects]}"
    return [], "no sentence covers enough of the question"


def _select_by_probability(
    question: Question, ranked: Sequence[Candidate], top_k: int, weight: Callable[[str], float], abstention: Abstention
) -> tuple[list[Group], str]:
    """Reranked candidates: each shown sentence must be likely enough to answer, by the same measure
    as the first, so no filler follows a good answer."""
    answering = [c for c in ranked if c.probability is not None and c.probability >= abstention.answers]
    if answering:
        return group_duplicates(answering[: MERGE_WINDOW + top_k], weight)[:top_k], ""
    if question.expects in _WANTED and not any(satisfies(question, c.text) for c in ranked[:3]):
        return [], f"no sentence that answers it gives {_WANTED[question.expects]}"
    return [], "no sentence answers the question well enough"


def _answers(question: Question, candidate: Candidate, abstention: Abstention) -> bool:
    if candidate.semantic is None:
        return sufficient(question, candidate.terms, abstention.min_coverage)
    if candidate.semantic >= abstention.close:
        return True
    return candidate.semantic >= abstention.off_topic and sufficient(question, candidate.terms, abstention.min_coverage)


@dataclass
class Group:
    """One fact: its best sentence and the other sentences (maybe other articles) that say it."""

    best: Candidate
    others: list[Candidate]


def group_duplicates(candidates: Sequence[Candidate], weight: Callable[[str], float]) -> list[Group]:
    """Merge near-duplicates from other articles (sharing most of their information) into one group, best first.

    Two sentences of one article are two things it says, even about the same subject ("Jameson is
    an Irish whiskey" and "Jameson is blended from pot still whiskey"): merging them hid the second
    (WikiQA hit3 0.699 without this rule, 0.756 with it; dev set and SciFact unchanged). Only a
    sentence that restates another of its article is hidden behind it.
    """
    weight = functools.cache(weight)  # each term's weight, and each sentence's total, once per question
    total = functools.cache(lambda terms: sum(map(weight, terms)))
    groups: list[Group] = []
    for candidate in candidates:
        for group in groups:
            if not same_claim_shape(group.best.text, candidate.text):
                same = False
            elif group.best.article == candidate.article:
                same = _restates(group.best.terms, candidate.terms, weight, total)
            else:
                same = _shared_share(group.best.terms, candidate.terms, weight, total) >= MERGE_SIMILARITY
            if same:
                group.others.append(candidate)
                break
        else:
            groups.append(Group(candidate, []))
    return groups


# Words that turn a claim into its opposite: stopword lists drop them, so terms alone cannot tell
# "queues are thread-safe" from "queues are not thread-safe". General English, no corpus's words.
_NEGATIONS = frozenset("not no never none nothing nobody neither nor cannot without".split())
_OPPOSITES = dict(
    pair
    for a, b in (
        ("safe", "unsafe"), ("true", "false"), ("enable", "disable"), ("enabled", "disabled"), ("allow", "deny"),
        ("allowed", "forbidden"), ("include", "exclude"), ("included", "excluded"), ("increase", "decrease"),
        ("increased", "decreased"), ("before", "after"), ("more", "less"), ("higher", "lower"), ("faster", "slower"),
        ("always", "never"), ("required", "optional"), ("mutable", "immutable"), ("synchronous", "asynchronous"),
        ("blocking", "nonblocking"), ("add", "remove"), ("added", "removed"), ("start", "stop"), ("success", "failure"),
        ("accept", "reject"), ("accepted", "rejected"), ("rise", "fall"), ("rose", "fell"), ("gain", "loss"),
        ("win", "lose"), ("won", "lost"), ("first", "last"), ("minimum", "maximum"), ("public", "private"),
        ("supported", "unsupported"), ("valid", "invalid"), ("possible", "impossible"), ("likely", "unlikely"),
        ("legal", "illegal"), ("agree", "disagree"), ("agreed", "refused"),
        ("same", "different"), ("local", "remote"), ("old", "new"), ("older", "newer"), ("up", "down"),
        ("keep", "remove"), ("kept", "removed"), ("intact", "removed"), ("preserve", "discard"), ("preserved", "discarded"),
    )
    for pair in ((a, b), (b, a))
)
_WORD = re.compile(r"[a-z]+(?:'t)?|\d+(?:[.,]\d+)*")
_PROSE_RUN = re.compile(r"[a-z]{2,} [a-z]{2,} [a-z]{2,}")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def same_claim_shape(a: str, b: str) -> bool:
    """Whether two sentences could state the same claim at all, before their shared information is weighed.

    Not when either is code rather than prose (`loop = asyncio.get_running_loop()` shares its terms
    with every page that shows it), when one denies what the other says (a negation in one only),
    when one uses a word whose opposite the other uses ("thread-safe" against "unsafe", "before"
    against "after"), or when each gives a number the other does not ("$10 billion" against "$13 billion").
    Measured on bench/sets/claim-pairs.jsonl (bench/claim_pairs.py): no contradicting pair merges, precision
    0.89 against 0.23 without this test. The word lists are general English; the keep/remove family was
    added after that set's "left intact" / "removed" pair merged, so the set no longer tests it blind.
    """
    words_a, words_b = _words(a), _words(b)
    if not (_PROSE_RUN.search(fold(a)) and _PROSE_RUN.search(fold(b))):
        return False
    if _negated(words_a) != _negated(words_b):
        return False
    if any(_OPPOSITES.get(word) in words_b - words_a for word in words_a - words_b):
        return False
    numbers_a, numbers_b = set(_NUMBER.findall(a)), set(_NUMBER.findall(b))
    return not (numbers_a - numbers_b and numbers_b - numbers_a)


def _words(text: str) -> frozenset[str]:
    folded = fold(text).replace("-", " ")
    return frozenset("not" if word.endswith("n't") else word for word in _WORD.findall(folded))


def _negated(words: frozenset[str]) -> bool:
    return bool(words & _NEGATIONS)


def _restates(
    a: frozenset[str], b: frozenset[str], weight: Callable[[str], float], total: Callable[[frozenset[str]], float]
) -> bool:
    """Whether two sentences of one article say the same: the lighter is nearly all in the other, which adds little."""
    lighter, heavier = sorted((total(a), total(b)))
    return heavier > 0 and lighter >= RESTATE_LENGTH * heavier and _shared_share(a, b, weight, total) >= RESTATE_CONTAINED


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
