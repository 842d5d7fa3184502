"""The index on its own, and rank-bm25 beside it: each function is one child process's work."""

from __future__ import annotations

import json
import shutil
import statistics
import time
from pathlib import Path

import numpy as np
import synthetic
from probe import latency_ms, peak_rss_mb, reset_peak_rss, rss_mb, timed
from rank_bm25 import BM25Okapi

from bot.search.index.bm25 import BM25Index
from bot.search.index.mapped import load_mapped, save_mapped

TOP_K = 5
INDEX_FILE = "index.mapped"
WARM_UP = 10


def build(workdir: Path, size: int, seed: int, n_questions: int, articles: bool) -> dict:
    """Build from token lists already in memory and save; leave the questions (and articles) beside it."""
    corpus = synthetic.generate(size, seed)
    input_mb = rss_mb()
    reset_peak_rss()
    index, build_s = timed(BM25Index.build, corpus.documents)
    build_peak_mb = peak_rss_mb()
    arrays = index.to_arrays()
    _, save_s = timed(save_mapped, workdir / INDEX_FILE, arrays, {"size": size, "seed": seed})
    questions = {
        "rare": synthetic.questions(corpus, n_questions, seed + 1, common=False),
        "common": synthetic.questions(corpus, n_questions, seed + 2, common=True),
    }
    (workdir / "questions.json").write_text(json.dumps(questions))
    if articles:
        shutil.rmtree(workdir / "articles", ignore_errors=True)
        synthetic.write_articles(corpus, workdir / "articles")
    return {
        "build_s": build_s,
        "build_peak_mb": build_peak_mb,
        "input_mb": input_mb,
        "save_s": save_s,
        "file_mb": (workdir / INDEX_FILE).stat().st_size / 2**20,
        "postings": len(arrays["bm25.doc_ids"]),
        "terms": len(index.vocabulary),
    }


def load(workdir: Path, size: int, seed: int) -> BM25Index:
    """The saved index, memory-mapped as the engine's is: its postings are checked as queries first read them."""
    arrays = load_mapped(workdir / INDEX_FILE, {"size": size, "seed": seed})
    if arrays is None:
        raise FileNotFoundError(workdir / INDEX_FILE)
    return BM25Index.from_arrays(arrays)


def serve(workdir: Path, size: int, seed: int) -> dict:
    """Restart from the saved index, then answer every question: what a bot process does."""
    index, load_s = timed(load, workdir, size, seed)
    questions = json.loads((workdir / "questions.json").read_text())
    for query in questions["rare"][:WARM_UP]:
        index.top_k(query, TOP_K)
    seconds = {kind: [timed(index.top_k, q, TOP_K)[1] for q in queries] for kind, queries in questions.items()}
    return {
        "load_s": load_s,
        "serve_peak_mb": peak_rss_mb(),
        "all": latency_ms(seconds["rare"] + seconds["common"]),
        **{kind: latency_ms(s) for kind, s in seconds.items()},
    }


def reference(workdir: Path, size: int, seed: int, n_queries: int) -> dict:
    """rank-bm25 on the same corpus and questions: what it costs, and whether our scores equal its own."""
    corpus = synthetic.generate(size, seed)
    reset_peak_rss()
    bm25, build_s = timed(BM25Okapi, corpus.documents)
    build_peak_mb = peak_rss_mb()
    index = load(workdir, size, seed)
    questions = json.loads((workdir / "questions.json").read_text())
    sample = questions["rare"][: n_queries - n_queries // 2] + questions["common"][: n_queries // 2]
    theirs, ours, differences, top_k_agrees = [], [], [], True
    for query in sample:
        started = time.perf_counter()
        scores = bm25.get_scores(query)
        best = np.argsort(scores)[::-1][:TOP_K]
        theirs.append(time.perf_counter() - started)
        top, seconds = timed(index.top_k, query, TOP_K)
        ours.append(seconds)
        differences.append(float(np.abs(index.scores(query) - scores).max()))
        top_k_agrees &= np.allclose([s for _, s in top], scores[best][: len(top)], rtol=0, atol=1e-9)
    return {
        "build_s": build_s,
        "build_peak_mb": build_peak_mb,
        "theirs": latency_ms(theirs),
        "ours": latency_ms(ours),
        "speedup": statistics.median(theirs) / statistics.median(ours),
        "max_difference": max(differences),
        "exact": max(differences) <= 1e-9 and bool(top_k_agrees),
    }
