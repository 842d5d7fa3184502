"""Other BM25 libraries on the same synthetic corpus and questions as ours: anchors for our figures.

Each function is one child process's work (bench/run.py), so its peak RSS is its own. The
corpus's token lists are in memory before building, as they are for our own build, so the
peaks compare. Both are optional (`pip install -e .[bench]`): without one its column says so.

- tantivy-py: Rust's Lucene-like engine, on disk in the work folder, its default tokenizer
  (lowercase, split on non-letters: the synthetic words are plain lowercase letters) and OR queries.
- bm25s: sparse matrices in numpy, given our token lists as they are.

Their scoring variants differ slightly from rank-bm25's (which ours equals): these are anchors
for speed and memory, not for scores.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import synthetic
from probe import latency_ms, peak_rss_mb, reset_peak_rss, timed

TOP_K = 5
WARM_UP = 10


def with_tantivy(workdir: Path, size: int, seed: int) -> dict:
    """Index the corpus with tantivy-py into workdir/tantivy (committed to disk), then answer every question."""
    try:
        import tantivy
    except ImportError:
        return {"missing": "not installed"}
    corpus = synthetic.generate(size, seed)
    folder = workdir / "tantivy"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    reset_peak_rss()

    def build() -> tantivy.Index:
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("body", stored=False)
        index = tantivy.Index(builder.build(), path=str(folder))
        writer = index.writer()
        for tokens in corpus.documents:
            writer.add_document(tantivy.Document(body=" ".join(tokens)))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        return index

    index, build_s = timed(build)
    searcher = index.searcher()

    def search(query: list[str]) -> object:
        return searcher.search(index.parse_query(" ".join(query), ["body"]), TOP_K).hits

    return {"build_s": build_s, **_query_all(workdir, search), "peak_mb": peak_rss_mb()}


def with_bm25s(workdir: Path, size: int, seed: int) -> dict:
    """Index our token lists with bm25s, then answer every question one at a time."""
    try:
        import bm25s
    except ImportError:
        return {"missing": "not installed"}
    corpus = synthetic.generate(size, seed)
    reset_peak_rss()

    def build() -> bm25s.BM25:
        retriever = bm25s.BM25()
        retriever.index(corpus.documents, show_progress=False)
        return retriever

    retriever, build_s = timed(build)

    def search(query: list[str]) -> object:
        return retriever.retrieve([query], k=TOP_K, show_progress=False, n_threads=1)

    return {"build_s": build_s, **_query_all(workdir, search), "peak_mb": peak_rss_mb()}


def _query_all(workdir: Path, search) -> dict:
    """p50/p99 over the questions bench/index_measures.serve answers (rare and common words, top 5)."""
    questions = json.loads((workdir / "questions.json").read_text())
    for query in questions["rare"][:WARM_UP]:
        search(query)
    seconds = []
    for query in questions["rare"] + questions["common"]:
        started = time.perf_counter()
        search(query)
        seconds.append(time.perf_counter() - started)
    return {"query": latency_ms(seconds)}
