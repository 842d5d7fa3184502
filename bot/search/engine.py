"""The answering engine: a folder of articles in, answers to questions out.

This is the one API the CLI and the Discord layer use. An Engine never changes after it is
built, so it can serve several threads at once and be swapped whole on reload.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.search.answer import (
    MIN_COVERAGE,
    Candidate,
    Question,
    analyse,
    coverage,
    group_duplicates,
    satisfies,
    smooth_idf,
)
from bot.search.corpus import Article, Document, load_folder
from bot.search.index import BM25Index
from bot.search.sentences import Kind, Passage, split_passages, title_of
from bot.search.spelling import Speller
from bot.search.tokens import tokenize, words

MAX_QUESTION_CHARS = 1000
CANDIDATES = 30


@dataclass(frozen=True)
class Settings:
    """What shapes the index and the answers (part of a saved index's fingerprint)."""

    variant: str = "okapi"
    k1: float = 1.5
    b: float = 0.75
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
        sentences: Sequence[Sentence],
        index: BM25Index,
        indexed: Sequence[int],
        speller: Speller,
        settings: Settings,
        warnings: Sequence[str] = (),
    ) -> None:
        """Wrap built parts; use `from_dir` or `from_documents` instead."""
        self._sentences = tuple(sentences)
        self._index = index
        self._indexed = tuple(indexed)
        self._speller = speller
        self.settings = settings
        self.warnings = tuple(warnings)
        self._articles = tuple(dict.fromkeys(s.article for s in self._sentences))
        self._by_article: dict[int, list[Sentence]] = {}
        for sentence in self._sentences:
            self._by_article.setdefault(sentence.article.number, []).append(sentence)

    @classmethod
    def from_dir(cls, folder: Path, *, settings: Settings = Settings()) -> Engine:
        """Load, clean, split and index a folder; raises CorpusError when nothing is usable."""
        load = load_folder(Path(folder))
        return cls.from_documents(load.documents, settings=settings, warnings=load.warnings)

    @classmethod
    def from_documents(
        cls, documents: Sequence[Document], *, settings: Settings = Settings(), warnings: Sequence[str] = ()
    ) -> Engine:
        sentences: list[Sentence] = []
        token_lists: list[list[str]] = []
        indexed: list[int] = []
        surface: Counter[str] = Counter()
        for number, document in enumerate(documents, start=1):
            passages = split_passages(document.text)
            article = _article(number, document, passages)
            for position, passage in enumerate(passages):
                sentence = Sentence(len(sentences), article, position, passage.text, passage.kind)
                sentences.append(sentence)
                if not passage.kind.answers:
                    continue
                terms = _document_terms(passage, settings)
                surface.update(words(passage.text))
                if terms:
                    indexed.append(sentence.id)
                    token_lists.append(terms)
        index = BM25Index.build(
            token_lists, variant=settings.variant, k1=settings.k1, b=settings.b, epsilon=settings.epsilon
        )
        return cls(sentences, index, indexed, Speller(surface), settings, warnings)

    def sources(self) -> tuple[Article, ...]:
        return self._articles

    def article(self, number: int) -> Article | None:
        return self._articles[number - 1] if 1 <= number <= len(self._articles) else None

    def opening(self, number: int, n: int = 3) -> tuple[str, ...]:
        """An article's first `n` answerable sentences (its headings are not text)."""
        body = [s.text for s in self._by_article.get(number, ()) if s.kind.answers]
        return tuple(body[:n])

    def context_of(self, sentence_id: int, window: int = 1) -> tuple[Sentence, ...]:
        """The sentence with up to `window` neighbours each side, from its own article."""
        if not 0 <= sentence_id < len(self._sentences):
            return ()
        sentence = self._sentences[sentence_id]
        siblings = self._by_article[sentence.article.number]
        start = max(0, sentence.position - window)
        return tuple(siblings[start : sentence.position + window + 1])

    def context(self, hit: Hit, window: int = 1) -> tuple[Sentence, ...]:
        return self.context_of(hit.sentence_id, window)

    def ask(self, question: str, top_k: int = 3) -> Answer:
        """The best-supported sentences for `question`, or an abstention saying why."""
        started = time.perf_counter()
        hits, reason = self._search(question[:MAX_QUESTION_CHARS], max(1, top_k))
        elapsed = (time.perf_counter() - started) * 1000
        return Answer(question, tuple(hits), not hits, elapsed, reason)

    def _search(self, text: str, top_k: int) -> tuple[list[Hit], str]:
        question = analyse(text, self._idf, self._speller.correct)
        known = [term for term in question.terms if term in self._index.vocabulary]
        if not question.terms:
            return [], "the question has no searchable words"
        if not known:
            return [], "none of the question's words appear in the articles"
        unknown_names = sorted(name for name in question.focus if name not in self._index.vocabulary)
        if unknown_names:
            return [], f"the articles never mention {', '.join(unknown_names)}"
        candidates = self._candidates(question)
        if not candidates or max(c.coverage for c in candidates) < self.settings.min_coverage:
            return [], "no sentence covers enough of the question"
        groups = group_duplicates(candidates)
        return [self._hit(group.best, group.others, question) for group in groups[:top_k]], ""

    def _idf(self, term: str) -> float:
        return smooth_idf(self._index.document_frequency(term), len(self._index))

    def _candidates(self, question: Question) -> list[Candidate]:
        candidates = []
        for doc, score in self._index.top_k(question.query, CANDIDATES):
            sentence = self._sentences[self._indexed[doc]]
            if not satisfies(question.expects, sentence.text):
                continue
            terms = set(tokenize(sentence.text))
            candidates.append(Candidate(doc, score, terms, sentence.article.number, coverage(question, terms)))
        return candidates

    def _hit(self, best: Candidate, others: list[Candidate], question: Question) -> Hit:
        sentence = self._sentences[self._indexed[best.doc]]
        wanted = set(question.terms)
        matched = tuple(dict.fromkeys(w for w in _surface_words(sentence.text) if wanted.intersection(tokenize(w))))
        also = tuple(
            self._articles[n - 1] for n in dict.fromkeys(o.article for o in others) if n != best.article
        )
        return Hit(sentence.id, sentence.text, best.score, sentence.article, matched, also)


def _document_terms(passage: Passage, settings: Settings) -> list[str]:
    """A sentence's own terms, plus its FAQ question's (and optionally its heading's)."""
    terms = tokenize(passage.text)
    if passage.prompt:
        terms += tokenize(passage.prompt)
    if settings.section_terms and passage.section:
        terms += tokenize(passage.section)
    return terms


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
