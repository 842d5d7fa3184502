"""The engine the settings describe: the one place the terminal and the bot get an engine from.

It loads the sentence model (once per process: reloading the articles reuses it) and builds or
reuses the saved index. Every warning, the model's included, ends up in `engine.warnings`, which
the terminal prints and the bot logs.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings, cache_dir
from bot.memory import trim
from bot.search.engine import Engine, Progress, SearchSettings
from bot.search.index.tokens import clear_caches
from bot.search.models.embedding import (
    Embedder,
    ModelError,
    default_model,
    folder_model,
)
from bot.search.models.reranker import Reranker, default_reranker

log = logging.getLogger(__name__)
Later = Callable[[Engine | None], None]
# Past this many sentences without a saved vector, a bot starts answering by BM25 while they are
# embedded: at the 68-180 sentences/s measured on a 2-core machine (issue 16), about 5-15 s.
BACKGROUND_FROM = 1_000
# While they are embedded, an engine covering the vectors saved so far is handed over at most this
# often and only once it covers this share of the sentences more than the last: at 68-180 sentences/s,
# 30 s is 2,000-5,400 sentences (2-5 checkpoints), and the 1% bounds a build to 100 hand-overs and log
# lines at any size (one every 1-2.5 minutes at a million sentences). A hand-over is cheap (the engine
# shares the index and the rows being filled; the bot hashes the sentence table, 0.1 s a million
# sentences) but restarts the question-vector cache and writes a log line.
HANDOVER_EVERY = 30.0
HANDOVER_GROWTH = 0.01


def load_engine(settings: Settings, progress: Progress | None = None, *, later: Later | None = None) -> Engine:
    """The corpus's engine, with the semantic signal and the reranker unless they are off or their
    models cannot load.

    With `later`, when BACKGROUND_FROM or more sentences have no saved vector yet (or the saved vectors no
    saved search graph), the engine comes back at once answering by BM25 alone, and they are built in a background thread
    (checkpointed, so a stop keeps them). `later` is then called several times: with partial engines, each
    searching by meaning the sentences embedded so far (`_Handover` says how often and how they rank);
    then, past nearest.EXACT_UP_TO sentences, with one searching them all exactly while their graph is built;
    last with the complete engine, or with None if the build failed (logged, naming what still answers).
    Raises CorpusError when the articles are unusable; every lesser problem is in `engine.warnings`.
    """
    embedder, problem = load_model(settings)
    reranker, reranker_problem = load_reranker(settings) if embedder is not None else (None, "")
    problems = tuple(p for p in (problem, reranker_problem) if p)
    folder = cache_dir(settings)
    search = SearchSettings(ignore=settings.corpus_ignore)
    if embedder is None or later is None or folder is None:
        engine = Engine.from_dir(settings.corpus_dir, settings=search, cache_dir=folder, embedder=embedder, progress=progress)
        return _finished(engine, reranker, problems)
    plain = Engine.from_dir(settings.corpus_dir, settings=search, cache_dir=folder, progress=progress)
    missing = plain.unembedded(embedder, folder)
    if missing < BACKGROUND_FROM:
        return _finished(plain.with_saved_vectors(embedder, folder, progress), reranker, problems)

    def build() -> None:
        handover = _Handover(later, reranker)
        try:
            built = _finished(plain.with_saved_vectors(embedder, folder, progress, handover.offer), reranker, problems)
        except Exception:  # a failure here must not pass silently: the bot keeps the last engine handed over
            log.exception("Building the sentence vectors failed; still %s", handover.answering)
            later(None)
            return
        later(built)

    threading.Thread(target=build, name="sentence vectors", daemon=True).start()
    answering = plain.with_reranker(None)  # a copy: the note below is about this start, not the engine to come
    note = (
        f"{missing:,} sentences are not yet embedded and indexed for search: embedding them in the background, "
        "answering by word matching (BM25) until they are done, and by meaning too for those embedded so far"
    )
    answering.warnings += (*problems, note)
    _after_building()
    return answering


class _Handover:
    """Passes on the engines a background build offers (Engine.with_saved_vectors's `partial`) to `later`.

    A partial one at most every HANDOVER_EVERY seconds and HANDOVER_GROWTH of the sentences apart; one with
    every sentence's vector (searched exactly while its graph is built) at once, since it reads the saved file
    and lets the build's rows go. Each with the reranker: where a sentence has no vector yet, its relative
    BM25 stands in for its cosine in fusion and among the reranker's features alike (fuse.fuse,
    rerank.features), and so reranked, a partial engine answered better than one ordered by the fused
    score (bench/partial_quality.py, half the default articles embedded: 0.603 of the questions first
    time against 0.482; 0.433 by BM25 alone, 0.631 once all are).
    """

    def __init__(self, later: Later, reranker: Reranker | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._later = later
        self._reranker = reranker
        self._clock = clock
        self._at = -math.inf
        self._covered = 0
        self.answering = "answering by word matching (BM25) alone"  # with what the bot answers if the build fails now

    def offer(self, engine: Engine) -> None:
        status = engine.semantic_status
        now = self._clock()
        if status.partial and (now - self._at < HANDOVER_EVERY or status.covered - self._covered < HANDOVER_GROWTH * status.sentences):
            return
        self._at, self._covered, self.answering = now, status.covered, status.signals
        self._later(engine.with_reranker(self._reranker))


def _finished(engine: Engine, reranker: Reranker | None, problems: tuple[str, ...]) -> Engine:
    engine = engine.with_reranker(reranker)
    engine.warnings += problems
    _after_building()
    return engine


def _after_building() -> None:
    """Let go of what a build held but serving does not need: then a reload, or a first run, holds what a restart holds."""
    clear_caches()  # the corpus's words, cached while tokenizing it
    trim()  # what building held (pieces, postings being merged) goes back to the system


def load_model(settings: Settings) -> tuple[Embedder | None, str]:
    """The sentence model the settings name, or None and why not (the engine then answers by BM25 alone)."""
    if not settings.semantic:
        return None, ""
    try:
        return _model(settings.semantic_model, settings.index_cache), ""
    except ModelError as error:
        return None, f"semantic search is off, answering by word matching alone: {error}"


def load_reranker(settings: Settings) -> tuple[Reranker | None, str]:
    """The shipped reranker, or None and why not (the engine then orders candidates by the fused score).

    It reads the best candidates of the fused order and weighs their cosine, so without the sentence
    model (SEMANTIC=off, the lightest mode, or a model that failed to load) there is no reranker either.
    """
    if not settings.rerank or not settings.semantic:
        return None, ""
    try:
        return _reranker(settings.index_cache), ""
    except ModelError as error:
        return None, f"the reranker is off, answers are ordered by the fused score alone: {error}"


@functools.cache
def _reranker(cache: Path | None) -> Reranker:
    return Reranker(default_reranker(), cache=cache and cache / "models")


@functools.cache
def _model(folder: Path | None, cache: Path | None) -> Embedder:
    return Embedder(default_model() if folder is None else folder_model(folder), cache=cache and cache / "models")
