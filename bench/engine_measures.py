"""The whole search engine, through its public API only: Engine.from_dir and engine.ask.

With `semantic`, the default sentence model is loaded first and its cost reported apart.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from probe import latency_ms, peak_rss_mb, rss_mb, timed

from bot.search.engine import Engine
from bot.search.models.embedding import Embedder, default_model

WARM_UP = 5


def build(workdir: Path) -> dict:
    """From article files with no saved index: load, split, tokenize, index, and save for next time."""
    shutil.rmtree(workdir / "engine-cache", ignore_errors=True)
    engine, build_s = timed(lambda: Engine.from_dir(workdir / "articles", cache_dir=workdir / "engine-cache"))
    return {"build_s": build_s, "peak_mb": peak_rss_mb(), "sentences": _sentences(engine)}


def semantic_serve(workdir: Path, n_questions: int) -> dict:
    """The saved index with the sentence model: past EMBED_ALL_UP_TO, BM25's candidates are embedded per question."""
    embedder, model = _model()
    engine, restart_s = timed(lambda: Engine.from_dir(workdir / "articles", cache_dir=workdir / "engine-cache", embedder=embedder))
    queries = json.loads((workdir / "questions.json").read_text())
    questions = [f"What about {' '.join(q)}?" for kind in ("rare", "common") for q in queries[kind][: n_questions // 2]]
    return {"restart_s": restart_s, "vectors": engine.semantic_status.vectors, **model, **_ask_all(engine, questions)}


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
