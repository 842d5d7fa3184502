"""The first stage of answering: find the sentences worth weighing, and score each by every signal.

Each signal can name its own best sentences (`top`) and score any sentence it is shown
(`scores`), so a sentence that only one signal found still gets the other's opinion before
the scores are fused. Sentences are numbered by their position in the index ("docs").
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from threading import Lock

import numpy as np

from bot.search.index.bm25 import BM25Index
from bot.search.index.nearest import Nearest, cosines
from bot.search.models.embedding import Embedder

# Sentences each signal proposes. Measured on the dev set, WikiQA and SciFact (bench/quality.py):
# the answer is in the union of both signals' best 30 for all but a few questions, and more
# candidates only cost time.
CANDIDATES = 30
NEIGHBOUR_WEIGHT = 0.5
# Question vectors kept, so a repeated question (a retry, a popular question) is not embedded again.
QUESTION_CACHE = 1024


@dataclass(frozen=True)
class Candidates:
    """Sentences worth weighing, with each signal's score for every one of them (None: signal off).

    While the vectors are still being built, a sentence without one yet has NaN for its cosine.
    """

    docs: np.ndarray
    lexical: np.ndarray
    semantic: np.ndarray | None


class Lexical:
    """BM25 over a sentence's terms, raised by half the score of its best neighbour in the same article.

    A sentence continues the one before it ("This shift ..."), so evidence next door is evidence
    for it too; the neighbour itself is not shown unless it matches in its own right.
    """

    def __init__(self, index: BM25Index, article_of_doc: np.ndarray) -> None:
        self.index = index
        self._article = article_of_doc

    def top(self, query: Sequence[str], n: int) -> np.ndarray:
        found = self.index.top_k(query, n * 2)
        if not found:
            return np.empty(0, dtype=np.int64)
        docs = np.array([doc for doc, _ in found], dtype=np.int64)
        totals = np.array([score for _, score in found]) + NEIGHBOUR_WEIGHT * self._best_neighbour(query, docs)
        return docs[np.argsort(-totals, kind="stable")[:n]]

    def scores(self, query: Sequence[str], docs: np.ndarray) -> np.ndarray:
        return self.index.scores_of(query, docs) + NEIGHBOUR_WEIGHT * self._best_neighbour(query, docs)

    def _best_neighbour(self, query: Sequence[str], docs: np.ndarray) -> np.ndarray:
        best = np.zeros(len(docs))
        for step in (-1, 1):
            near = np.clip(docs + step, 0, len(self._article) - 1)
            beside = (near != docs) & (self._article[near] == self._article[docs])
            best = np.maximum(best, np.where(beside, self.index.scores_of(query, near), 0.0))
        return best


class Semantic:
    """Cosine similarity between the question's vector and each sentence's int8 row (bot.search.index.vectors).

    Every sentence's row is searched for the question's nearest (bot.search.index.nearest); the rows of
    the sentences BM25 proposed are read to score them too. No sentence is embedded at question time: while
    the build has not reached a sentence, it has no cosine (NaN), and fusion weighs it by BM25 alone.
    """

    def __init__(self, embedder: Embedder, vectors: Nearest) -> None:
        self.embedder = embedder
        self._nearest = vectors
        self._questions: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = Lock()

    def encode(self, question: str) -> np.ndarray:
        with self._lock:
            cached = self._questions.get(question)
            if cached is not None:
                self._questions.move_to_end(question)
                return cached
        vector = self.embedder.embed([question])[0]
        with self._lock:
            self._questions[question] = vector
            if len(self._questions) > QUESTION_CACHE:
                self._questions.popitem(last=False)
        return vector

    def top(self, question: np.ndarray, n: int) -> np.ndarray:
        return self._nearest.top(question, n)

    def scores(self, question: np.ndarray, docs: np.ndarray) -> np.ndarray:
        found = np.full(len(docs), np.nan, dtype=np.float32)
        embedded = docs < self._nearest.covered
        found[embedded] = cosines(self._nearest.rows_of(docs[embedded]), question)
        return found


def retrieve(query: Sequence[str], question_text: str, lexical: Lexical, semantic: Semantic | None) -> Candidates:
    """The union of each signal's best sentences, every one scored by every signal."""
    proposed = [lexical.top(query, CANDIDATES)]
    vector = None
    if semantic is not None and question_text:
        vector = semantic.encode(question_text)
        proposed.append(semantic.top(vector, CANDIDATES))
    docs = np.array(list(dict.fromkeys(np.concatenate(proposed).tolist())), dtype=np.int64)
    return Candidates(
        docs,
        lexical.scores(query, docs) if len(docs) else np.empty(0),
        semantic.scores(vector, docs) if vector is not None else None,
    )
