"""The answering engine: a folder of articles in, answers to questions out.

This is the one API the CLI and the Discord layer use. An Engine never changes after it is
built, so it can serve several threads at once and be swapped whole on reload.
"""

from __future__ import annotations

import time
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.search import cache

from bot.search.answer import (
    MIN_COVERAGE,
    Candidate,
    Question,
    analyse,
    group_duplicates,
    satisfies,
    smooth_idf,
    sufficient,
)
from bot.search.corpus import Article, CorpusError, Document, load_folder, require_folder
from bot.search.index import BM25Index
from bot.search.sentences import Kind, Passage, split_passages, title_of
from bot.search.spelling import Speller
from bot.search.store import StoreError, why_not_saved
from bot.search.table import SentenceTable, TableBuilder
from bot.search.tokens import tokenize, words_and_terms

MAX_QUESTION_CHARS = 1000
CANDIDATES = 30
NEIGHBOUR_WEIGHT = 0.5
MERGE_WINDOW = 10


@dataclass(frozen=True)
class SearchSettings:
    """What shapes the index and the answers (part of a saved index's fingerprint).

    Chosen by measurement (bench/quality.py on SciFact, ../shared/eval on the dev set):
    BM25Okapi with epsilon 0, so a word in more than half the sentences weighs nothing;
    k1 and the variant (Okapi or Plus) made no measurable difference, b=0.5 beat 0.75.
    `section_terms` (a heading's words added to its sentences) helps document-level
    retrieval on SciFact but costs sentence-level precision on the dev set, so it is off.
    """

    variant: str = "okapi"
    k1: float = 1.2
    b: float = 0.5
    epsilon: float = 0.0
    min_coverage: float = MIN_COVERAGE
    section_terms: bool = False


@dataclass(frozen=True)
class Sentence:
    id: int
    article: Article
    position: int
    text: str
    kind: Kind = Kind.TEXT


@dataclass(frozen=True)
class Hit:
    sentence_id: int
    text: str
    score: float
    article: Article
    matched: tuple[str, ...]
    also_in: tuple[Article, ...] = ()


@dataclass(frozen=True)
class Answer:
    question: str
    hits: tuple[Hit, ...]
    abstained: bool
    elapsed_ms: float
    reason: str = ""


class Engine:
    def __init__(
        self,
        articles: Sequence[Article],
        table: SentenceTable,
        index: BM25Index,
        indexed: np.ndarray,
        speller: Speller,
        settings: SearchSettings,
        warnings: Sequence[str] = (),
    ) -> None:
        """Wrap built parts; use `from_dir` or `from_documents` instead."""
        if len(indexed) != len(index) or (len(indexed) and int(indexed.max()) >= len(table)):
            raise ValueError("the index does not fit the sentence table")
        if len(table) and int(table.articles[-1]) > len(articles):
            raise ValueError("the sentence table names articles that do not exist")
        self._articles = tuple(articles)
        self.table = table
        self.index = index
        self.indexed = indexed
        self.speller = speller
        self.settings = settings
        self.warnings = tuple(warnings)

    @classmethod
    def from_dir(cls, folder: Path, *, settings: SearchSettings = SearchSettings(), cache_dir: Path | None = None) -> Engine:
        """Load, clean, split and index a folder; raises CorpusError when nothing is usable.

        With `cache_dir`, a saved engine is reused while its fingerprint matches, and a fresh
        one is saved otherwise; a damaged or foreign file is rebuilt with a warning.
        """
        folder = Path(folder)
        if cache_dir is None:
            load = load_folder(folder)
            return cls.from_documents(load.documents, settings=settings, warnings=load.warnings, folder=folder)
        require_folder(folder)
        path = Path(cache_dir) / cache.CACHE_FILE
        digest = cache.fingerprint(folder, settings)
        notes: list[str] = []
        try:
            saved = cache.load(path, digest, settings)
            if saved is not None:
                return saved
        except (StoreError, ValueError) as error:
            notes.append(f"{path}: saved index not used ({error}); rebuilt it")
        load = load_folder(folder)
        engine = cls.from_documents(
            load.documents, settings=settings, warnings=[*load.warnings, *notes], folder=folder
        )
        try:
            cache.save(engine, path, digest)
        except OSError as error:
            engine.warnings += (f"{path}: cannot save the index: {why_not_saved(error, 'INDEX_CACHE')}",)
        return engine

    @classmethod
    def from_documents(
        cls,
        documents: Sequence[Document],
        *,
        settings: SearchSettings = SearchSettings(),
        warnings: Sequence[str] = (),
        folder: Path | None = None,
    ) -> Engine:
        """Split and index already-loaded documents; `folder` only names places in messages."""
        origin = f"corpus folder {folder}" if folder else "the corpus"
        builder = TableBuilder()
        indexed = array("i")
        surface: Counter[str] = Counter()
        articles: list[Article] = []
        notes = list(warnings)

        def index_terms() -> Iterator[list[str]]:
            for number, document in enumerate(documents, start=1):
                passages = split_passages(document.text)
                if not any(passage.kind.answers for passage in passages):
                    passages = split_passages(document.text, lines_as_sentences=True)
                    notes.append(f"{(folder or Path()) / document.file}: no sentence punctuation; each line is read as one sentence")
                articles.append(_article(number, document, passages))
                for passage in passages:
                    sentence_id = builder.add(passage.text, number, passage.kind)
                    if not passage.kind.answers:
                        continue
                    surface_words, terms = _document_terms(passage, settings)
                    if terms:
                        surface.update(surface_words)
                        indexed.append(sentence_id)
                        yield terms

        try:
            index = BM25Index.build(
                index_terms(), variant=settings.variant, k1=settings.k1, b=settings.b, epsilon=settings.epsilon
            )
        except ValueError:
            if len(indexed):
                raise
            raise CorpusError(
                f"{origin} has no sentence with searchable words (only headings, stopwords or symbols); "
                "add articles written in sentences"
            ) from None
        return cls(
            articles, builder.build(), index, np.frombuffer(indexed, dtype=np.int32).copy(), Speller(surface), settings, notes
        )

    def sources(self) -> tuple[Article, ...]:
        return self._articles

    def article(self, number: int) -> Article | None:
        return self._articles[number - 1] if 1 <= number <= len(self._articles) else None

    def sentence(self, sentence_id: int) -> Sentence:
        table = self.table
        number = table.article(sentence_id)
        position = sentence_id - table.span(number).start
        return Sentence(sentence_id, self._articles[number - 1], position, table.text(sentence_id), table.kind(sentence_id))

    def opening(self, number: int, n: int = 3) -> tuple[str, ...]:
        """An article's first `n` answerable sentences (its headings are not text)."""
        body = (i for i in self.table.span(number) if self.table.kind(i).answers)
        return tuple(self.table.text(i) for i, _ in zip(body, range(n)))

    def context_of(self, sentence_id: int, window: int = 1) -> tuple[Sentence, ...]:
        """The sentence with up to `window` neighbours each side, from its own article."""
        if not 0 <= sentence_id < len(self.table):
            return ()
        span = self.table.span(self.table.article(sentence_id))
        start = max(span.start, sentence_id - window)
        stop = min(span.stop, sentence_id + window + 1)
        return tuple(self.sentence(i) for i in range(start, stop))

    def context(self, hit: Hit, window: int = 1) -> tuple[Sentence, ...]:
        return self.context_of(hit.sentence_id, window)

    def ask(self, question: str, top_k: int = 3) -> Answer:
        """The best-supported sentences for `question`, or an abstention saying why."""
        started = time.perf_counter()
        hits, reason = self._search(question[:MAX_QUESTION_CHARS], max(1, top_k))
        elapsed = (time.perf_counter() - started) * 1000
        return Answer(question, tuple(hits), not hits, elapsed, reason)

    def _search(self, text: str, top_k: int) -> tuple[list[Hit], str]:
        question = analyse(text, self._idf, self.speller.correct)
        known = [term for term in question.terms if term in self.index.vocabulary]
        if not question.terms:
            return [], "the question has no searchable words"
        if not known:
            return [], "none of the question's words appear in the articles"
        unknown_names = question.unknown_names(self.index.vocabulary.__contains__)
        if unknown_names:
            return [], f"the articles never mention {', '.join(dict.fromkeys(unknown_names))}"
        candidates = self._candidates(question)
        if not any(sufficient(question, c.terms, self.settings.min_coverage) for c in candidates):
            return [], "no sentence covers enough of the question"
        groups = group_duplicates(candidates[: MERGE_WINDOW + top_k], self._idf)
        return [self._hit(group.best, group.others, question) for group in groups[:top_k]], ""

    def _idf(self, term: str) -> float:
        return smooth_idf(self.index.document_frequency(term), len(self.index))

    def _candidates(self, question: Question) -> list[Candidate]:
        """The index's best sentences, best first, less those of the wrong answer type."""
        candidates = []
        for doc, score in self._ranked(question.query):
            sentence_id = int(self.indexed[doc])
            text = self.table.text(sentence_id)
            if satisfies(question, text):
                candidates.append(Candidate(sentence_id, score, text, self.table.article(sentence_id)))
        return candidates

    def _ranked(self, query: list[str]) -> list[tuple[int, float]]:
        """The index's best documents, each score raised by half its best neighbour's in the same article.

        A sentence continues the one before it ("This shift ..."), so evidence next door is
        evidence for it too; the neighbour itself is not shown unless it matches in its own right.
        """
        found = self.index.top_k(query, CANDIDATES * 2)
        if not found:
            return []
        docs = np.array([doc for doc, _ in found])
        totals = np.array([score for _, score in found])
        article = self.table.articles[self.indexed[docs]]
        best_neighbour = np.zeros(len(docs))
        for step in (-1, 1):
            near = np.clip(docs + step, 0, len(self.indexed) - 1)
            beside = (near != docs) & (self.table.articles[self.indexed[near]] == article)
            best_neighbour = np.maximum(best_neighbour, np.where(beside, self.index.scores_of(query, near), 0.0))
        totals += NEIGHBOUR_WEIGHT * best_neighbour
        order = np.argsort(-totals, kind="stable")[:CANDIDATES]
        return [(int(docs[i]), float(totals[i])) for i in order]

    def _hit(self, best: Candidate, others: list[Candidate], question: Question) -> Hit:
        sentence = self.sentence(best.sentence_id)
        wanted = set(question.terms)
        matched = tuple(dict.fromkeys(w for w in _surface_words(sentence.text) if wanted.intersection(_word_terms(w))))
        also = tuple(
            self._articles[n - 1] for n in dict.fromkeys(o.article for o in others) if n != best.article
        )
        return Hit(sentence.id, sentence.text, best.score, sentence.article, matched, also)


def _document_terms(passage: Passage, settings: SearchSettings) -> tuple[list[str], list[str]]:
    """A sentence's words, and its terms plus its FAQ question's (and optionally its heading's)."""
    words, terms = words_and_terms(passage.text)
    if passage.prompt:
        terms += tokenize(passage.prompt)
    if settings.section_terms and passage.section:
        terms += tokenize(passage.section)
    return words, terms


@lru_cache(maxsize=50_000)
def _word_terms(word: str) -> tuple[str, ...]:
    return tuple(tokenize(word))


def _surface_words(text: str) -> list[str]:
    return [w for w in (part.strip(".,;:!?\"'()[]“”‘’") for part in text.split()) if w]


def _article(number: int, document: Document, passages: list[Passage]) -> Article:
    meta = document.metadata
    title = meta.title or title_of(passages) or _first_line(document.text) or document.file
    count = sum(1 for p in passages if p.kind.answers)
    return Article(number, document.file, title, meta.publisher, meta.url, meta.date, count)


def _first_line(text: str, limit: int = 80) -> str:
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 1].rsplit(" ", 1)[0] + "…"
