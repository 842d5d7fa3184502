"""The engine the settings describe: the one place the terminal and the bot get an engine from.

It loads the sentence model (once per process: reloading the articles reuses it) and builds or
reuses the saved index. Every warning, the model's included, ends up in `engine.warnings`, which
the terminal prints and the bot logs.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings
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


def load_engine(settings: Settings, progress: Progress | None = None, *, later: Later | None = None) -> Engine:
    """The corpus's engine, with the semantic signal and the reranker unless they are off or their
    models cannot load.

    With `later`, when BACKGROUND_FROM or more sentences have no saved vector yet (or the saved vectors no
    saved search graph), the engine comes back at once answering by BM25 alone, and they are built in a background thread
    (checkpointed, so a stop keeps them); `later` then gets the engine with both signals, or None
    if building them failed (logged). Raises CorpusError when the articles are unusable; every
    lesser problem is in `engine.warnings`.
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
        try:
            built = _finished(plain.with_saved_vectors(embedder, folder, progress), reranker, problems)
        except Exception:  # a failure here must not pass silently: the bot keeps answering by BM25
            log.exception("Building the sentence vectors failed; answering by word matching (BM25) alone")
            later(None)
            return
        later(built)

    threading.Thread(target=build, name="sentence vectors", daemon=True).start()
    answering = plain.with_reranker(None)  # a copy: the note below is about this start, not the engine to come
    note = (
        f"{missing:,} sentences are not yet embedded and indexed for search: embedding them in the background, "
        "answering by word matching (BM25) until they are done"
    )
    answering.warnings += (*problems, note)
    _after_building()
    return answering


def _finished(engine: Engine, reranker: Reranker | None, problems: tuple[str, ...]) -> Engine:
    engine = engine.with_reranker(reranker)
    engine.warnings += problems
    _after_building()
    return engine


def _after_building() -> None:
    """Let go of what a build held but serving does not need: then a reload, or a first run, holds what a restart holds."""
    clear_caches()  # the corpus's words, cached while tokenizing it
    trim()  # what building held (pieces, postings being merged) goes back to the system


def cache_dir(settings: Settings) -> Path | None:
    """Where this corpus folder's index is saved: one folder per corpus, so two corpora never share a file."""
    if settings.index_cache is None:
        return None
    folder = settings.corpus_dir.expanduser().resolve()
    return settings.index_cache / f"{folder.name or 'corpus'}-{hashlib.sha256(str(folder).encode()).hexdigest()[:12]}"


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
