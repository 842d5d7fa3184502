"""The answering engine: a folder of articles in, answers to questions out.

This is the one API the CLI and the Discord layer use. An Engine never changes after it is
built, so it can serve several threads at once and be swapped whole on reload.

A question goes through the stages of bot/search/answer/, each in its own module: question (what
it asks), retrieve (BM25 and, when a sentence model is loaded, cosine similarity), fuse (one score),
rerank (when the reranker is loaded: the probability that each of the best candidates answers) and
select (answer type, abstention, merging).
"""

from __future__ import annotations

import copy
import functools
import re
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.search import cache
from bot.search.answer.fuse import LEXICAL_WEIGHT, fuse
from bot.search.answer.question import Question, analyse, is_acronym, smooth_idf, spelt_out
from bot.search.answer.rerank import DEFAULT_COMBINATION, Combination, rerank
from bot.search.answer.retrieve import Candidates, Lexical, Semantic, retrieve
from bot.search.answer.select import Abstention, Candidate, select
from bot.search.index.bm25 import BM25Index
from bot.search.index.checkpoint import Checkpoint, CheckpointInUse, checkpoint_path, read_checkpoint
from bot.search.index.spelling import Speller
from bot.search.index.store import StoreError, why_not_saved
from bot.search.index.table import KINDS, SentenceTable, TableBuilder
from bot.search.index.tokens import tokenize
from bot.search.index import nearest
from bot.search.index.nearest import Nearest, graph_path, stale_graphs
from bot.search.index.vectors import RowFile, SavedVectors, load_vectors, quantize, save_vectors, text_key, vectors_path
from bot.search.models.embedding import Embedder
from bot.search.models.reranker import Reranker, shown
from bot.search.read.corpus import (
    Article,
    Articles,
    CorpusError,
    Document,
    read_folder,
    require_folder,
)
from bot.search.read.sentences import MARKDOWN_HEADING, Kind, Passage, title_of
from bot.search.read.splitting import split_documents, workers_for

MAX_QUESTION_CHARS = 1000
# Candidates read for an acronym spelt out (Engine._spelt_out). Not fitted: few, since each sentence read is
# another chance of a match of initials by chance; the sentence the question is about is usually first.
SPELT_OUT_IN = 3
# New sentence vectors are saved to the checkpoint this many at a time: about 10 s of embedding at
# the 68-180 sentences/s measured on this 2-core machine, so a stop loses at most that much work.
CHECKPOINT_ROWS = 1024
# How the sentence model reads a sentence (Engine._model_text). Saved vectors record it beside the index they
# follow, so vectors made from another reading are embedded again, never reused.
MODEL_TEXT = "sentence (title: heading)"

Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass(frozen=True)
class SearchSettings:
    """What shapes the index (part of a saved index's fingerprint).

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
    section_terms: bool = False
    ignore: tuple[str, ...] = ()  # glob patterns of corpus paths never read (CORPUS_IGNORE)


@dataclass(frozen=True)
class Answering:
    """How candidates become an answer (not part of the saved index): the fusion weight, whether the
    reranker (when loaded) orders the best of them and how its signals combine, and when to abstain."""

    lexical_weight: float = LEXICAL_WEIGHT
    abstention: Abstention = Abstention()
    rerank: bool = True
    combination: Combination = DEFAULT_COMBINATION


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
    code: str = ""  # the code example the sentence introduces, shown under it ("" when none)


@dataclass(frozen=True)
class Answer:
    question: str
    hits: tuple[Hit, ...]
    abstained: bool
    elapsed_ms: float
    reason: str = ""


@dataclass(frozen=True)
class SemanticStatus:
    """What `check` reports of the semantic signal."""

    model: str  # the model's name, or "" when the signal is off
    sha256: str = ""
    vectors: str = ""  # where the sentence vectors came from
    reranker: str = ""  # the reranker's name, or "" when it is off
    reranker_sha256: str = ""
    covered: int = 0  # sentences searched by meaning: all of them, unless the vectors are still being built
    sentences: int = 0  # sentences indexed (0 when the signal is off)

    @property
    def partial(self) -> bool:
        """Whether the vectors are still being built, so only `covered` sentences are weighed by meaning."""
        return self.covered < self.sentences

    @property
    def coverage(self) -> str:
        """How far the vectors' build has got, in words ("" once every sentence is searched by meaning)."""
        if not self.partial:
            return ""
        return f"{self.covered:,} of {self.sentences:,} sentences embedded so far ({self.covered / self.sentences:.0%})"

    @property
    def model_line(self) -> str:
        """The model as `/stats` names it: with how far its vectors have got while they are built, or that it is off."""
        if not self.model:
            return "off (word matching only)"
        return f"{self.model} ({self.coverage})" if self.partial else self.model

    @property
    def signals(self) -> str:
        """Which signals answer, in words for the log: an operator reading it must see that meaning is off, or partial."""
        if not self.model:
            return "answering by word matching (BM25) alone; semantic search is off"
        if self.partial:
            return (
                f"answering by word matching (BM25) and by meaning ({self.model}) for the {self.coverage}, "
                "the others by word matching alone until their vectors are built"
            )
        return f"answering by word matching (BM25) and by meaning ({self.model})"


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
        embedder: Embedder | None = None,
        vectors: Nearest | None = None,
        vectors_origin: str = "",
        answering: Answering = Answering(),
        reranker: Reranker | None = None,
    ) -> None:
        """Wrap built parts; use `from_dir` or `from_documents` instead.

        With an `embedder`, questions are also matched by meaning: `vectors` searches one int8 row per
        indexed sentence (bot.search.index.vectors), in memory or memory-mapped.
        """
        if len(indexed) != len(index) or (len(indexed) and not 0 <= int(indexed.min()) <= int(indexed.max()) < len(table)):
            raise ValueError("the index does not fit the sentence table")
        if len(table) and int(table.articles[-1]) > len(articles):
            raise ValueError("the sentence table names articles that do not exist")
        rows = None if vectors is None else vectors.rows
        if (embedder is None) != (rows is None) or (
            embedder is not None and rows is not None and (rows.shape != (len(indexed), embedder.dimensions) or rows.dtype != np.int8)
        ):
            raise ValueError("the sentence vectors do not fit the index or the model")
        self._articles = tuple(articles)
        self.table = table
        self.index = index
        self.indexed = indexed
        self.speller = speller
        self.settings = settings
        self.warnings = tuple(warnings)
        self.vectors = rows  # one int8 row per indexed sentence (made up to semantic_status.covered), or None without the semantic signal
        self.fingerprint = ""  # the saved index's (cache.fingerprint), when it was loaded or saved as one
        self.answering = answering
        self._lexical = Lexical(index, table.articles[indexed])
        self._semantic = None if embedder is None or vectors is None else Semantic(embedder, vectors)
        self._reranker = reranker
        self.semantic_status = SemanticStatus(
            embedder.name if embedder else "",
            embedder.sha256 if embedder else "",
            vectors_origin,
            reranker.name if reranker else "",
            reranker.sha256 if reranker else "",
            0 if vectors is None else vectors.covered,
            0 if vectors is None else len(indexed),
        )

    @classmethod
    def from_dir(
        cls,
        folder: Path,
        *,
        settings: SearchSettings = SearchSettings(),
        cache_dir: Path | None = None,
        embedder: Embedder | None = None,
        progress: Progress | None = None,
    ) -> Engine:
        """Load, clean, split and index a folder; raises CorpusError when nothing is usable.

        With `cache_dir`, a saved engine is reused while its fingerprint matches, and a fresh
        one is saved otherwise; a damaged or foreign file is rebuilt with a warning. Saved
        sentence vectors are reused only if the same model (by checksum) made them.
        """
        folder = Path(folder)
        if cache_dir is None:
            articles = read_folder(folder, ignore=settings.ignore)
            return cls.from_documents(
                articles, settings=settings, warnings=articles.warnings, folder=folder, embedder=embedder, progress=progress
            )
        require_folder(folder)
        path = Path(cache_dir) / cache.CACHE_FILE
        digest = cache.fingerprint(folder, settings, Path(cache_dir))
        notes: list[str] = []
        try:
            engine = cache.load(path, digest, settings)
            if engine is None and path.exists():
                notes.append("the articles or settings changed since the index was saved; rebuilt it")
        except (StoreError, ValueError) as error:
            engine = None
            notes.append(f"{path}: saved index not used ({error}); rebuilt it")
        if engine is None:
            articles = read_folder(folder, ignore=settings.ignore)
            built = cls.from_documents(articles, settings=settings, warnings=articles.warnings, folder=folder, progress=progress)
            engine = _saved(built, path, lambda: cache.save(built, path, digest))
        engine.fingerprint = digest
        if embedder is not None:
            engine = engine.with_saved_vectors(embedder, Path(cache_dir), progress)
        engine.warnings += tuple(notes)  # about this start only: not saved with the index
        return engine

    def unembedded(self, embedder: Embedder, folder: Path) -> int:
        """How many sentences `with_saved_vectors` would embed (those neither saved nor checkpointed for this
        model), or, when every vector is saved but the search graph is not, all of them (to be indexed)."""
        path = vectors_path(folder, embedder.sha256)
        try:
            saved = load_vectors(path, embedder.sha256, embedder.dimensions)
        except StoreError:
            saved = None
        if saved is not None and self._follows(saved):
            graph = graph_path(path, saved.keys_sha256, len(saved.keys))
            return len(saved.keys) if len(saved.keys) > nearest.EXACT_UP_TO and not graph.exists() else 0
        keys = self.vector_keys()
        checkpointed = read_checkpoint(checkpoint_path(folder, embedder.sha256), embedder.sha256, embedder.dimensions)
        missing = np.ones(len(keys), dtype=bool)
        for source in (saved, checkpointed):
            if source is not None:
                missing &= source.lookup(keys) < 0
        return int(np.count_nonzero(missing))

    def with_saved_vectors(
        self, embedder: Embedder, folder: Path, progress: Progress | None = None, partial: Callable[[Engine], None] | None = None
    ) -> Engine:
        """With the semantic signal, reusing the vectors saved for this model and saving any new ones.

        Saved rows (and their search graph, past nearest.EXACT_UP_TO) are memory-mapped, not read. New
        vectors are checkpointed a batch at a time while they are made, so a build that is stopped keeps
        what it did; the complete file replaces the checkpoint at the end, and is then served memory-mapped
        like a saved one.

        `partial`, when given, is handed an engine to answer from meanwhile: before the first batch if the
        sentences' first rows are already saved or checkpointed, then after each batch, one whose semantic
        signal covers the first rows embedded so far (`_hand_over`); and, when the complete rows need a graph,
        one searching them all exactly while it is built. Each shares this build's rows, never copies them.
        """
        path = vectors_path(folder, embedder.sha256)
        notes: list[str] = []
        try:
            saved = load_vectors(path, embedder.sha256, embedder.dimensions)
        except StoreError as error:
            saved = None
            notes.append(f"{folder}: saved sentence vectors not used ({error}); embedded again")
        if saved is not None and self._follows(saved):
            rows, file, digest, origin = saved.rows, saved.file, saved.keys_sha256, "saved index"
        else:
            keys = self.vector_keys()
            checkpointed = checkpoint_path(folder, embedder.sha256)
            others: SavedVectors | None = None
            try:
                checkpoint: Checkpoint | None = Checkpoint(checkpointed, embedder.sha256, embedder.dimensions)
            except OSError:
                checkpoint = None  # an unwritable cache folder: the save below says so
            except CheckpointInUse:
                checkpoint = None  # another build is writing it: reuse what it has written, checkpoint nothing
                others = read_checkpoint(checkpointed, embedder.sha256, embedder.dimensions)
                notes.append(
                    f"{checkpointed}: another build of these vectors is running (a reload, or another process); "
                    "this one reuses what it has saved so far and keeps the rest in memory until it is done"
                )
            rows = np.empty((len(keys), embedder.dimensions), dtype=np.int8)
            have = np.zeros(len(keys), dtype=bool)
            for source in (saved, checkpoint.read_back() if checkpoint is not None else others):
                if source is not None:
                    at = source.lookup(keys)
                    new = (at >= 0) & ~have
                    rows[new] = source.rows[at[new]]
                    have |= new
            todo = np.flatnonzero(~have)
            embedded = 0

            def keep(docs: np.ndarray, batch: np.ndarray) -> None:
                nonlocal embedded
                if checkpoint is not None:
                    checkpoint.append(keys[docs], batch)
                embedded += len(docs)
                self._hand_over(partial, embedder, rows, todo, embedded)

            self._hand_over(partial, embedder, rows, todo, 0)
            try:
                origin = self._embed_into(rows, embedder, todo, progress, keep)
            except BaseException:  # stopped (Ctrl-C) or failed: what was checkpointed stays for the next build
                if checkpoint is not None:
                    checkpoint.close()
                raise
            try:
                save_vectors(path, embedder.sha256, keys, rows, self._vectors_follow)
                mapped = load_vectors(path, embedder.sha256, embedder.dimensions)
                assert mapped is not None  # just written
                rows, file, digest = mapped.rows, mapped.file, mapped.keys_sha256  # the file's pages from now on, not a copy
            except (OSError, StoreError) as error:
                reason = why_not_saved(error, "INDEX_CACHE") if isinstance(error, OSError) else str(error)
                notes.append(f"{path}: cannot save the index: {reason}")
                if checkpoint is not None:
                    checkpoint.close()  # kept: the next start continues from it
                engine = self._with(embedder, Nearest.build(rows, _indexing(progress)), origin)
                engine.warnings += tuple(notes)
                return engine
            if checkpoint is not None:
                checkpoint.remove()
        exactly = f"{origin}; searched exactly until their graph is built"
        meanwhile = None if partial is None else lambda search: partial(self._with(embedder, search, exactly))
        engine = self._with(embedder, self._saved_search(rows, file, graph_path(path, digest, len(rows)), notes, progress, meanwhile), origin)
        engine.warnings += tuple(notes)
        return engine

    def _hand_over(
        self, partial: Callable[[Engine], None] | None, embedder: Embedder, rows: np.ndarray, todo: np.ndarray, embedded: int
    ) -> None:
        """Hand `partial` an engine searching the rows before the first of `todo` not `embedded` yet, when there are some
        and it is not the last (the complete engine follows at once).

        The first rows, not every row that has a vector: those are a view of `rows`, searched without a copy,
        while the build writes only past them. On a first build, or one continued from its checkpoint, they are
        every vector there is; after an edit, rows saved past the first new sentence wait until the build gets there.
        """
        covered = int(todo[embedded]) if embedded < len(todo) else len(rows)
        if partial is not None and 0 < covered < len(rows):
            origin = f"being built: {covered:,} of {len(rows):,} sentences searched so far"
            partial(self._with(embedder, Nearest.partial(rows, covered), origin))

    @staticmethod
    def _saved_search(
        rows: np.ndarray,
        file: RowFile | None,
        path: Path,
        notes: list[str],
        progress: Progress | None,
        meanwhile: Callable[[Nearest], None] | None = None,
    ) -> Nearest:
        """The search over saved rows (`file` reads them unmapped): their saved graph (or past nearest.GRAPH_UP_TO rows,
        their sign bits) when it fits them, else one built now and saved.

        `meanwhile` is handed an exact search over every row to answer from while the graph is built.
        """
        try:
            found = Nearest.load(rows, path, file)
        except StoreError as error:
            found = None
            notes.append(f"{path}: saved vector graph not used ({error}); built it again")
        if found is not None:
            return found
        if meanwhile is not None:
            meanwhile(Nearest(rows, file=file))
        built = None
        try:
            built = Nearest.build(rows, _indexing(progress), file, path)  # sign bits are written to `path` as they are made
            built.save(path)
        except OSError as error:
            notes.append(f"{path}: cannot save the index: {why_not_saved(error, 'INDEX_CACHE')}")
            return built if built is not None else Nearest.build(rows, _indexing(progress), file)
        for stale in stale_graphs(path):
            stale.unlink(missing_ok=True)  # the graph of rows since replaced, or the previous version's
        try:
            # served from its file, as at the next start: pages shared and dropped under pressure, not a copy in memory
            return Nearest.load(rows, path, file) or built
        except StoreError as error:
            notes.append(f"{path}: saved vector graph not used ({error}); searching the one built now")
            return built

    def _follows(self, saved: SavedVectors) -> bool:
        """Whether saved vectors were saved for this very index, so their rows are its sentences' in its order.

        Told by the saved index's fingerprint, not by computing every sentence's key: that took 1.4 s of CPU
        at 881,048 sentences, longer than loading the index.
        """
        return bool(self.fingerprint) and saved.index == self._vectors_follow

    @property
    def _vectors_follow(self) -> str:
        """What saved vectors record they follow: the saved index, and how the model read its sentences."""
        return f"{self.fingerprint} {MODEL_TEXT}" if self.fingerprint else ""

    def vector_keys(self) -> np.ndarray:
        """The key each indexed sentence's vector is saved under (bot.search.index.vectors), in index order."""
        return np.array([text_key(self._model_text(doc)) for doc in range(len(self.indexed))], dtype=np.uint64)

    @classmethod
    def from_documents(
        cls,
        documents: Iterable[Document],
        *,
        settings: SearchSettings = SearchSettings(),
        warnings: Sequence[str] = (),
        folder: Path | None = None,
        embedder: Embedder | None = None,
        progress: Progress | None = None,
    ) -> Engine:
        """Split and index documents, taking them one at a time; `folder` only names places in messages.

        `documents` may be `Articles`, which reads each file only when it is reached: `warnings` (its
        own list) is read once they all are. With an `embedder`, every indexed sentence is embedded
        too.
        """
        origin = f"corpus folder {folder}" if folder else "the corpus"
        builder = TableBuilder()
        indexed = array("i")
        surface: Counter[str] = Counter()
        articles: list[Article] = []
        notes: list[str] = []
        total = len(documents) if isinstance(documents, Sized) else 0

        def splitting(done: int, total: int) -> None:
            if progress is not None:
                progress("splitting articles", done, total)

        def index_terms() -> Iterator[list[str]]:
            splits = split_documents(documents, settings.section_terms, splitting, workers=workers_for(_text_size(documents)), total=total)
            for number, (document, pieces) in enumerate(splits, start=1):
                opening: list[Passage] = []  # what the title may come from
                answering = 0
                line_by_line = False
                for split in pieces:
                    line_by_line = split.line_by_line
                    opening += split.passages[: 3 - len(opening)]
                    for passage, read in zip(split.passages, split.terms):
                        sentence_id = builder.add(passage.text, number, passage.kind)
                        if read is None:
                            continue
                        answering += 1
                        surface_words, terms = read
                        if terms:
                            surface.update(surface_words)
                            indexed.append(sentence_id)
                            yield terms
                if line_by_line:
                    notes.append(f"{(folder or Path()) / document.file}: no sentence punctuation; each line is read as one sentence")
                articles.append(_article(number, document, opening, answering))

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
        engine = cls(
            articles, builder.build(), index, np.frombuffer(indexed, dtype=np.int32).copy(), Speller(surface), settings,
            [*warnings, *notes],
        )
        return engine if embedder is None else engine.with_vectors(embedder, progress)

    def with_vectors(self, embedder: Embedder, progress: Progress | None = None) -> Engine:
        """This engine with the semantic signal, every sentence embedded now (nothing saved: see `with_saved_vectors`)."""
        rows = np.empty((len(self.indexed), embedder.dimensions), dtype=np.int8)
        origin = self._embed_into(rows, embedder, np.arange(len(self.indexed)), progress)
        return self._with(embedder, Nearest.build(rows, _indexing(progress)), origin)

    def _embed_into(
        self,
        rows: np.ndarray,
        embedder: Embedder,
        missing: np.ndarray,
        progress: Progress | None = None,
        keep: Callable[[np.ndarray, np.ndarray], None] | None = None,
    ) -> str:
        """Complete the int8 `rows` by embedding the sentences `missing`; where the vectors came from, in words.

        The other rows hold vectors this same model already made. The missing sentences are embedded
        CHECKPOINT_ROWS at a time in the corpus's order (`embed` sorts each batch by length, so it pads
        little), and each batch is handed to `keep(docs, rows)`. Not shortest first over the whole corpus:
        then a build stopped at 60% of its sentences would have done well under 60% of its work.
        """
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress("embedding sentences", done, len(missing))

        for start in range(0, len(missing), CHECKPOINT_ROWS):
            docs = missing[start : start + CHECKPOINT_ROWS]
            rows[docs] = quantize(embedder.embed([self._model_text(doc) for doc in docs.tolist()], step))
            if keep is not None:
                keep(docs, rows[docs])
        reused = len(rows) - len(missing)
        if not len(missing):
            return "saved index"
        return f"built now ({len(missing):,} embedded, {reused:,} reused)" if reused else "built now"

    def _with(self, embedder: Embedder, search: Nearest, origin: str) -> Engine:
        engine = Engine(
            self._articles, self.table, self.index, self.indexed, self.speller, self.settings, self.warnings,
            embedder, search, origin, self.answering, self._reranker,
        )
        engine.fingerprint = self.fingerprint
        return engine

    def with_reranker(self, reranker: Reranker | None) -> Engine:
        """This engine with the reranker ordering the best candidates (None: without it); the index,
        vectors and caches are shared, not rebuilt."""
        engine = copy.copy(self)
        engine._reranker = reranker
        engine.semantic_status = replace(
            self.semantic_status, reranker=reranker.name if reranker else "", reranker_sha256=reranker.sha256 if reranker else ""
        )
        return engine

    def answering_with(self, answering: Answering) -> Engine:
        """The same index answering by other rules (for benchmarks that compare rules without rebuilding)."""
        engine = copy.copy(self)
        engine.answering = answering
        return engine

    def _model_text(self, doc: int) -> str:
        """What the sentence model reads for an indexed sentence: the sentence (an FAQ answer with its question, a
        description with its term, as BM25 does), then its article's title and section heading in brackets
        (MODEL_TEXT).

        The title says what "it", "she" and "this command" are ("This command uses a binary search algorithm ...
        (git-bisect(1) Manual Page)"). On combine.py's 1,408 training-side calibration questions the answer is
        among the fused best 8 for 92.3% of them with the title against 86.1% without, reranked hit1 0.737
        against 0.703; a separate signal for the article (the cosine with the mean of its sentences' vectors, or
        with its title's vector) reached only 87.5-87.7%. The title goes after the sentence, not before it: a
        long headline in front, shared by every sentence of an article, outweighed the sentence itself. Over
        the default articles (bench/quality.py's dev and unseen sets, 223 answerable questions) the gold
        sentence was the nearest by cosine for 102 questions with the title first, 114 with no title, 116 with
        it after; over four documentation sets (302), 87, 76 and 86. The section's heading after the title
        ("Set the default timeout ... (socket: Socket Objects)") says which part of a manual a sentence is in:
        over five documentation sets (362 answerable questions) the gold was nearest by cosine for 102 without
        it and 116 with it, and the default articles, whose few headings are teasers, lost one question (dev).
        """
        sentence_id = int(self.indexed[doc])
        text, title = self._sentence_text(sentence_id), self._articles[self.table.article(sentence_id) - 1].title
        heading = int(self._headings[sentence_id])
        section = self.table.text(heading) if heading >= 0 else ""
        about = f"{title}: {section}" if section and section != title else title
        return f"{text} ({about})" if about else text

    @functools.cached_property
    def _headings(self) -> np.ndarray:
        """For each sentence, the id of the last heading before it in its article, or -1."""
        kinds, articles = self.table.kinds, self.table.articles
        ids = np.arange(len(kinds), dtype=np.int64)
        last = np.maximum.accumulate(np.where(kinds == KINDS.index(Kind.HEADING), ids, -1))
        starts = np.searchsorted(articles, articles, side="left")
        return np.where(last >= starts, last, -1).astype(np.int32)

    def _rerank_text(self, candidate: Candidate) -> str:
        """What the reranker reads of a candidate: the sentence (with its FAQ question or term), then the article's
        title after [SEP], as in its training; not the section heading the sentence model reads."""
        return shown(self._sentence_text(candidate.sentence_id), self._articles[candidate.article - 1].title)

    def _sentence_text(self, sentence_id: int) -> str:
        text = self.table.text(sentence_id)
        if self.table.kind(sentence_id) is not Kind.ANSWER:
            return text
        first = self.table.span(self.table.article(sentence_id)).start
        for before in range(sentence_id - 1, first - 1, -1):
            if self.table.kind(before) in (Kind.QUESTION, Kind.TERM):
                return f"{self.table.text(before)} {text}"
        return text

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

    def code_after(self, sentence_id: int) -> str:
        """The code blocks that directly follow a sentence in its article: the example it introduces."""
        blocks = []
        end = self.table.span(self.table.article(sentence_id)).stop
        for following in range(sentence_id + 1, end):
            if self.table.kind(following) is not Kind.CODE:
                break
            blocks.append(self.table.text(following))
        return "\n\n".join(blocks)

    def context(self, hit: Hit, window: int = 1) -> tuple[Sentence, ...]:
        return self.context_of(hit.sentence_id, window)

    def ask(self, question: str, top_k: int = 3) -> Answer:
        """The best-supported sentences for `question`, or an abstention saying why.

        Damage in a memory-mapped saved index that this question was the first to read is such a reason:
        the file is then removed, so the next start or `!reload` rebuilds it (bot.search.index.mapped).
        """
        started = time.perf_counter()
        try:
            hits, reason = self._search(question[:MAX_QUESTION_CHARS], max(1, top_k))
        except StoreError as error:
            hits, reason = [], str(error)
        elapsed = (time.perf_counter() - started) * 1000
        return Answer(question, tuple(hits), not hits, elapsed, reason)

    def _search(self, text: str, top_k: int) -> tuple[list[Hit], str]:
        question = analyse(text, self._idf, self.speller.correct)
        if not question.terms:
            return [], "the question has no searchable words"
        if self._semantic is None and not any(term in self.index.vocabulary for term in question.terms):
            return [], "none of the question's words appear in the articles"
        unknown_names = question.unknown_names(self._mentioned)
        if unknown_names and not all(map(is_acronym, unknown_names)):
            return [], self._never_mentioned(unknown_names)
        ranked = self._candidates(question, top_k)
        if unknown_names:
            return self._spelt_out(text, unknown_names, ranked, top_k)
        groups, reason = select(question, ranked, top_k, self._idf, self.answering.abstention)
        wanted = set(question.terms)
        return [self._hit(group.best, group.others, wanted) for group in groups], reason

    def candidates(self, text: str) -> tuple[Question, list[Candidate]]:
        """The question as read and its candidates, best first, before selection (for calibration and benchmarks)."""
        question = analyse(text[:MAX_QUESTION_CHARS], self._idf, self.speller.correct)
        return question, self._candidates(question) if question.terms else []

    def _candidates(self, question: Question, top_k: int = 0) -> list[Candidate]:
        found = retrieve(question.query, question.text, self._lexical, self._semantic)
        ranked = self._ranked(found, fuse(found, self.answering.lexical_weight))
        if self._reranker is None or not self.answering.rerank:
            return ranked
        if all(c.semantic is not None and c.semantic < self.answering.abstention.off_topic for c in ranked):
            return ranked  # nothing close: select refuses it without the reranker's time
        if not question.asks:
            # The reranker learnt from questions only; a claim or bare keywords ("stargate cost") are
            # matched by retrieval's own order and rules (SciFact's claims: nDCG@10 0.659 so, 0.596 reranked).
            return ranked
        return rerank(question, ranked, self._rerank_text, self._reranker, self.answering.combination, at_least=top_k)

    def _spelt_out(self, text: str, acronyms: list[str], ranked: list[Candidate], top_k: int) -> tuple[list[Hit], str]:
        """The question asked again with each acronym the articles never write replaced by the words the best
        candidates spell it out with ("the Delaware AG": "the Delaware attorney general"), or refused.

        Only the best few candidates are read: an acronym of two letters matches the initials of some two
        words in most long lists.
        """
        for acronym in dict.fromkeys(acronyms):
            words = next(filter(None, (spelt_out(acronym, c.text) for c in ranked[:SPELT_OUT_IN])), None)
            if words is None:
                return [], self._never_mentioned(acronyms)
            text = re.sub(rf"\b{acronym}\b", words, text)
        return self._search(text, top_k)

    @staticmethod
    def _never_mentioned(names: list[str]) -> str:
        return f"the articles never mention {', '.join(dict.fromkeys(names))}"

    def _mentioned(self, term: str) -> bool:
        """Whether the articles use a term anywhere, their titles and headings included."""
        return term in self.index.vocabulary or term in self._heading_terms

    @functools.cached_property
    def _heading_terms(self) -> frozenset[str]:
        """Terms of titles, headings, signatures, bare names and code, which are never answers and so not in the index."""
        kinds = [KINDS.index(kind) for kind in (Kind.HEADING, Kind.TERM, Kind.CODE, Kind.FRAGMENT)]
        headings = np.flatnonzero(np.isin(self.table.kinds, kinds))
        return frozenset(term for i in headings.tolist() for term in tokenize(self.table.text(i)))

    def _idf(self, term: str) -> float:
        return smooth_idf(self.index.document_frequency(term), len(self.index))

    def _ranked(self, found: Candidates, scores: np.ndarray) -> list[Candidate]:
        """The candidates as sentences, best fused score first."""
        ranked = []
        for i in np.argsort(-scores, kind="stable"):
            sentence_id = int(self.indexed[found.docs[i]])
            semantic = None if found.semantic is None or np.isnan(found.semantic[i]) else float(found.semantic[i])
            text = self.table.text(sentence_id)
            article = self.table.article(sentence_id)
            section = int(self._headings[sentence_id])
            ranked.append(Candidate(sentence_id, float(scores[i]), text, article, semantic, float(found.lexical[i]), section))
        return ranked

    def _hit(self, best: Candidate, others: list[Candidate], wanted: set[str]) -> Hit:
        sentence = self.sentence(best.sentence_id)
        matched = tuple(dict.fromkeys(w for w in _surface_words(sentence.text) if wanted.intersection(_word_terms(w))))
        also = tuple(
            self._articles[n - 1] for n in dict.fromkeys(o.article for o in others) if n != best.article
        )
        score = best.score if best.probability is None else best.probability  # reranked: the probability it answers
        return Hit(sentence.id, sentence.text, score, sentence.article, matched, also, self.code_after(sentence.id))


def _indexing(progress: Progress | None) -> Callable[[int, int], None] | None:
    """Progress of the vector graph's making, told as the embedding's is."""
    return None if progress is None else lambda done, total: progress("indexing vectors", done, total)


def _saved(engine: Engine, path: Path, save: Callable[[], None]) -> Engine:
    """`engine`, after `save()` wrote `path`; a failed save is a warning, never a failed start."""
    try:
        save()
    except OSError as error:
        engine.warnings += (f"{path}: cannot save the index: {why_not_saved(error, 'INDEX_CACHE')}",)
    return engine


@lru_cache(maxsize=50_000)
def _word_terms(word: str) -> tuple[str, ...]:
    return tuple(tokenize(word))


def _surface_words(text: str) -> list[str]:
    return [w for w in (part.strip(".,;:!?\"'()[]“”‘’") for part in text.split()) if w]


def _text_size(documents: Iterable[Document]) -> int:
    """How much text worker processes would split (documents of one piece; longer ones are split in
    this process), known before splitting; 0 (so one process) for a stream of unknown length."""
    if isinstance(documents, Articles):
        return documents.small_bytes
    if isinstance(documents, Sequence):
        return sum(len(document.pieces[0]) for document in documents if len(document.pieces) == 1)
    return 0


def _article(number: int, document: Document, opening: list[Passage], answering: int) -> Article:
    """The article as users see it; `opening` is its first passages, `answering` how many of them may answer."""
    meta = document.metadata
    title = meta.title or title_of(opening) or _first_line(document.pieces[0]) or document.file
    return Article(number, document.file, title, meta.publisher, meta.url, meta.date, answering, meta.author)


def _first_line(text: str, limit: int = 80) -> str:
    """The text's first line, without a Markdown heading's marker ("# Sockets": a title of one word)."""
    line = next((MARKDOWN_HEADING.sub("", line.strip()) for line in text.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 1].rsplit(" ", 1)[0] + "…"
