"""The fourth stage of answering: read each of the best candidates together with the question, and
turn every signal into one probability that the sentence answers it.

The reranker (a cross-encoder, bot/search/models/reranker.py) sees the question and the sentence at once,
so it can tell a sentence that answers from one that is only about the same thing. Its logit is one
feature of a logistic model, beside the signals retrieval already had; the model's weights were
fitted on training-side data (train/reranker/combine.py), never by hand, and its probability is
what select.py orders by and abstains on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.search.answer.question import Question
from bot.search.answer.select import Candidate, coverage, satisfies
from bot.search.models.reranker import Reranker

# Each candidate's own signals, then how it stands among the candidates read with it (POOL_FEATURES).
OWN_FEATURES = ("reranker", "semantic", "lexical", "coverage", "fits")
POOL_FEATURES = ("reranker_gap", "semantic_gap", "section_share", "article_semantic")
FEATURES = OWN_FEATURES + POOL_FEATURES


@dataclass(frozen=True)
class Combination:
    """A logistic model over FEATURES, and how many of the fused candidates it reads.

    Fitted by `train/reranker/combine.py` on questions about SQuAD 1.0 train articles that the
    reranker never saw in training (answerable questions, and questions whose answer was taken out
    of the corpus). The probability a sentence needs to be shown is select.py's `Abstention.answers`.
    """

    weights: tuple[float, ...]
    bias: float
    candidates: int


def features(question: Question, candidates: Sequence[Candidate], logits: np.ndarray, best_lexical: float) -> np.ndarray:
    """One row of FEATURES per candidate: its own signals (the reranker's logit, cosine, BM25 over the best
    BM25 of all that retrieval found, however many are read, the share of the question's information the
    sentence holds, whether it has the kind of fact asked for: a number, a date), then where it stands among
    `candidates` (pool_features).

    A sentence the vectors' build has not reached yet has no cosine; its relative BM25 stands in, as in
    fusion. A 0 would cost it all its cosine's weight in log-odds and bury it: with half the default articles
    embedded, the answers not embedded yet came first for 0.560 of their questions so, 0.380 by BM25 alone
    and 0.020 with cosines of 0 (bench/partial_quality.py)."""
    own = np.zeros((len(candidates), len(OWN_FEATURES)), dtype=np.float64)
    for i, candidate in enumerate(candidates):
        lexical = candidate.lexical / best_lexical if best_lexical > 0 else 0.0
        own[i] = (
            logits[i],
            candidate.semantic if candidate.semantic is not None else lexical,
            lexical,
            coverage(question, candidate.terms),
            1.0 if satisfies(question, candidate.text) else 0.0,
        )
    articles = np.array([c.article for c in candidates], dtype=np.int64)
    sections = np.array([c.section for c in candidates], dtype=np.int64)
    return np.hstack([own, pool_features(own, articles, sections)])


def pool_features(own: np.ndarray, articles: np.ndarray, sections: np.ndarray) -> np.ndarray:
    """Where each candidate stands among those read with it: its logit and cosine below the best of them, the
    share of the others from its own section of its article (a manual's answer is often one of several
    sentences of the section the question is about), and the best cosine among its article's candidates
    (how much the page as a whole is about the question).

    Relative to the pool, not to the corpus: the same sentence may score differently for one question when
    more candidates are read (train/reranker/combine.py fits each candidate count with its own pool)."""
    n = len(own)
    rows = np.zeros((n, len(POOL_FEATURES)), dtype=np.float64)
    if n == 0:
        return rows
    logit, semantic = own[:, OWN_FEATURES.index("reranker")], own[:, OWN_FEATURES.index("semantic")]
    same_article = articles[:, None] == articles[None, :]
    same_section = same_article & (sections[:, None] == sections[None, :])
    rows[:, 0] = logit - logit.max()
    rows[:, 1] = semantic - semantic.max()
    rows[:, 2] = (same_section.sum(axis=1) - 1) / max(n - 1, 1)
    rows[:, 3] = np.where(same_article, semantic[None, :], -np.inf).max(axis=1)
    return rows


def rerank(
    question: Question,
    ranked: Sequence[Candidate],
    text_of: Callable[[Candidate], str],
    reranker: Reranker,
    combination: Combination,
    at_least: int = 0,
) -> list[Candidate]:
    """The best `combination.candidates` of `ranked` (or `at_least`, when more answers are wanted),
    each with its probability, most probable first."""
    chosen = list(ranked[: max(combination.candidates, at_least)])
    if not chosen:
        return []
    logits = reranker.logits(question.text, [text_of(candidate) for candidate in chosen])
    rows = features(question, chosen, logits, max(c.lexical for c in ranked))
    probabilities = 1.0 / (1.0 + np.exp(-(rows @ np.asarray(combination.weights) + combination.bias)))
    for candidate, row, probability in zip(chosen, rows, probabilities.tolist()):
        candidate.features = row
        candidate.probability = probability
    return sorted(chosen, key=lambda c: -c.probability)


# Fitted by train/reranker/combine.py for the shipped reranker (round 5, sha256 ea20e7e1…) with the retrieval
# it has (the sentence model reading each sentence before its title and section heading), on the first half
# of its 1,408 calibration questions; on the second half, hit1 0.740 against 0.632 in the fused order,
# answer-triggering F1 0.619 at its best threshold (the five own features alone: 0.737, F1 0.620). The pool
# features' weights are large and of opposite signs because they share the cosine: semantic and semantic_gap
# together weigh a candidate's cosine by +3.8 and the pool's best by -15.4, and article_semantic adds back +14.1
# for the best cosine of the candidate's own article. Chosen over the five features alone by the rule in
# train/reranker/README.md ("Where a candidate stands among the others"): mean reranked hit1 over 17 scored sets
# 0.5202 against 0.5084, and 42 against 39 questions right at rank 1 on two sets written blind before it.
# 8 candidates; the model reads 8 at 37 ms p50 and 15 at 67 (bench/answer_latency.py). The model was chosen over
# the ones before it by the mean reranked hit1 of dev, unseen 1-3, git docs and WikiQA half A
# (train/reranker/README.md, "Rounds 4 and 5").
DEFAULT_COMBINATION = Combination(
    weights=(0.4908, -11.6008, 0.5088, 0.28, 0.2498, 0.2212, 15.3665, -0.8229, 14.1154), bias=-3.0038, candidates=8
)
