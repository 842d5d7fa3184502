"""The whole search engine, through its public API only: Engine.from_dir and engine.ask.

With `semantic`, the default sentence model is loaded first and its cost reported apart.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from probe import latency_ms, mapped_mb, peak_rss_mb, rss_mb, timed
from vector_search import synthetic_rows

from bot.search.engine import Engine
from bot.search.index.store import StoreError
from bot.search.index.vectors import load_vectors, save_vectors, vectors_path
from bot.search.models.embedding import Embedder, default_model

WARM_UP = 5
REAL_VECTORS_UP_TO = 100_000  # past this many sentences, synthetic vectors stand in for the model's


def build(workdir: Path) -> dict:
    """From article files with no saved index: load, split, tokenize, index, and save for next time."""
    shutil.rmtree(workdir / "engine-cache", ignore_errors=True)
    engine, build_s = timed(lambda: Engine.from_dir(workdir / "articles", cache_dir=workdir / "engine-cache"))
    return {"build_s": build_s, "peak_mb": peak_rss_mb(), "sentences": _sentences(engine)}


def semantic_serve(workdir: Path, n_questions: int) -> dict:
    """The saved index with the sentence model, every sentence's vector searched.

    Past REAL_VECTORS_UP_TO sentences, bench/vector_search.py's clustered synthetic vectors are saved under
    the sentences' keys instead of embedding them (a million take hours on 2 cores): the question is
    embedded for real, and latency and memory are the product's, but the answers mean nothing. Their
    first start builds the vector graph, in a process of its own (graph_build_s), so that the start
    measured here is a restart and its memory is serving's alone.
    """
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        graph_build_s = pool.submit(_saved_vectors, workdir).result()
    embedder, model = _model()
    engine, restart_s = timed(lambda: Engine.from_dir(workdir / "articles", cache_dir=workdir / "engine-cache", embedder=embedder))
    queries = json.loads((workdir / "questions.json").read_text())
    questions = [f"What about {' '.join(q)}?" for kind in ("rare", "common") for q in queries[kind][: n_questions // 2]]
    found = {"restart_s": restart_s, "vectors": engine.semantic_status.vectors, "graph_build_s": graph_build_s}
    asked = _ask_all(engine, questions)
    # after the questions: the process's own memory, and each mapped file's pages it has come to hold
    memory = {"rss_anon_mb": rss_mb("RssAnon"), "rss_file_mb": rss_mb("RssFile"), "mapped_mb": mapped_mb()}
    return {**found, **model, **asked, **memory}


def _saved_vectors(workdir: Path) -> float | None:
    """Vectors for every sentence and their graph saved, synthetic past REAL_VECTORS_UP_TO; seconds the graph took, if built."""
    embedder = Embedder(default_model())
    articles, cache = workdir / "articles", workdir / "engine-cache"
    plain = Engine.from_dir(articles, cache_dir=cache)
    if len(plain.indexed) <= REAL_VECTORS_UP_TO:
        return None
    keys = plain.vector_keys()
    path = vectors_path(cache, embedder.sha256)
    try:
        saved = load_vectors(path, embedder.sha256, embedder.dimensions)
    except StoreError:
        saved = None
    if saved is None or saved.index != plain.fingerprint or not np.array_equal(saved.keys, keys):
        save_vectors(path, embedder.sha256, keys, synthetic_rows(len(keys), seed=len(keys)), plain.fingerprint)
    return timed(lambda: plain.with_saved_vectors(embedder, cache))[1]


def serve(workdir: Path, n_questions: int) -> dict:
    """Restarted from the saved index, then answering questions made from the corpus' own words.

    `rebuilt` tells whether the engine wrote its cache again instead of reusing it (its
    fingerprint covers the search code, so an edit to it during the run forces a rebuild).
    """
    written = _cache_times(workdir)
    engine, restart_s = timed(lambda: Engine.from_dir(workdir / "articles", cache_dir=workdir / "engine-cache"))
    queries = json.loads((workdir / "questions.json").read_text())
    questions = [f"What about {' '.join(q)}?" for kind in ("rare", "common") for q in queries[kind][: n_questions // 2]]
    return {"restart_s": restart_s, "rebuilt": _cache_times(workdir) != written, **_ask_all(engine, questions)}


def _cache_times(workdir: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in (workdir / "engine-cache").iterdir()}


def default_corpus(corpus: Path, questions: list[str], repeats: int, semantic: bool = False) -> dict:
    """The bundled corpus, built in process without a saved index (with `semantic`: vectors embedded too)."""
    embedder, model = _model() if semantic else (None, {})
    engine, build_s = timed(lambda: Engine.from_dir(corpus, embedder=embedder))
    return {"build_s": build_s, "sentences": _sentences(engine), **model, **_ask_all(engine, questions * repeats)}


def embedding(corpus: Path, copies: int) -> dict:
    """Sentences embedded per second (the corpus's own sentences, `copies` times) and one question's cost."""
    embedder, model = _model()
    engine = Engine.from_dir(corpus)
    texts = [engine.sentence(int(i)).text for i in engine.indexed] * copies
    _, seconds = timed(embedder.embed, texts)
    question = [timed(embedder.embed, [f"what did they say about item {n}?"])[1] for n in range(50)]
    return {**model, "sentences": len(texts), "per_s": len(texts) / seconds, "question": latency_ms(question)}


def _model() -> tuple[Embedder, dict]:
    before = rss_mb()
    embedder, load_s = timed(Embedder, default_model())
    return embedder, {"model_load_s": load_s, "model_mb": rss_mb() - before}


def _sentences(engine: Engine) -> int:
    return sum(article.sentence_count for article in engine.sources())


def _ask_all(engine: Engine, questions: list[str]) -> dict:
    """Wall time per question, and CPU time: on a shared machine the wall p50 moved by 50% between runs, CPU by 5%."""
    for question in questions[:WARM_UP]:
        engine.ask(question, top_k=3)
    seconds, cpu = [], []
    for question in questions:
        started = time.process_time()
        seconds.append(timed(engine.ask, question, 3)[1])
        cpu.append(time.process_time() - started)
    return {"ask": latency_ms(seconds), "ask_cpu": latency_ms(cpu), "peak_mb": peak_rss_mb(), "rss_mb": rss_mb()}
