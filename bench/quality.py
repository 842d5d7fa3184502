"""Retrieval quality of the sentence engine on SciFact, to choose its BM25 variant and parameters.

The default articles are too few to tell BM25 settings apart, and questions we write ourselves
flatter the engine. SciFact has 300 scientific claims judged by experts against 5,183 abstracts
(BEIR layout, CC BY-NC: read from the shared data folder for evaluation only, never copied here).

Each abstract is one article (title line, blank line, abstract), so the engine splits it into
sentences like any other article. A claim ranks abstracts by the rank of their best sentence,
measured two ways:

* index: the engine's own query terms (`analyse`) against the raw sentence index (`top_k`), so
  nDCG@10 and Recall@100 describe BM25 alone, whatever `ask` filters, merges or abstains on;
* ask: the hits `Engine.ask` returns (an article, then the articles whose near-duplicate
  sentences were merged into it); an abstention ranks nothing, so it scores 0.

Every claim has a supporting abstract, so every abstention is a wrong one.

    python bench/quality.py            # the engine's default SearchSettings()
    python bench/quality.py --grid     # variants x k1 x b x section terms, then min_coverage
    python bench/quality.py --grid --full   # every combination (96 builds instead of 41)
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.search.question import analyse  # noqa: E402
from bot.search.corpus import Document, Metadata  # noqa: E402
from bot.search.engine import Answer, Engine, SearchSettings  # noqa: E402
from bot.search.index import BM25Index  # noqa: E402
from bot.search.tokens import tokenize  # noqa: E402

DATA = Path("/work/shared/data/scifact")
ASK_TOP_K = 50  # more than ask ever returns: it looks at the index's best CANDIDATES sentences
INDEX_SENTENCES = 3000  # enough sentences to reach 100 distinct abstracts
NDCG_AT = 10
RECALL_AT = 100
VARIANTS = (("okapi", 0.0), ("okapi", 0.25), ("l", 0.0), ("plus", 0.0))
K1S = (0.9, 1.2, 1.5, 2.0)
BS = (0.5, 0.75, 0.9)
MIN_COVERAGES = (0.15, 0.2, 0.25, 0.3)
DEFAULT_LIKE = (SearchSettings(), SearchSettings(variant="okapi", epsilon=0.25), SearchSettings(variant="plus"))
BOOTSTRAP_SAMPLES = 10_000
RUNNERS_UP = 4
REFINED_FAMILIES = 3


@dataclass(frozen=True)
class Claim:
    text: str
    relevant: frozenset[str]


@dataclass(frozen=True)
class Benchmark:
    documents: tuple[Document, ...]
    claims: tuple[Claim, ...]


@dataclass(frozen=True)
class Result:
    """Per-claim measurements of one setting (arrays in claim order, for paired comparisons)."""

    settings: SearchSettings
    index_ndcg: np.ndarray
    index_recall: np.ndarray
    ask_ndcg: np.ndarray
    abstained: np.ndarray
    ask_ms: np.ndarray
    reasons: Counter[str]
    build_s: float


_BENCHMARK: Benchmark | None = None  # set once per worker process by `_adopt`


def load_benchmark(folder: Path) -> Benchmark:
    """Abstracts as titled articles, and the test claims that have judgements."""
    documents = tuple(
        Document(row["_id"], f"{row['title']}\n\n{row['text']}", Metadata())
        for row in _read_jsonl(folder / "corpus.jsonl.gz")
    )
    relevant = _read_qrels(folder / "qrels" / "test.tsv")
    claims = tuple(
        Claim(row["text"], frozenset(relevant[row["_id"]]))
        for row in _read_jsonl(folder / "queries.jsonl.gz")
        if row["_id"] in relevant
    )
    return Benchmark(documents, claims)


def _read_jsonl(path: Path) -> Iterable[dict[str, str]]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        yield from map(json.loads, lines)


def _read_qrels(path: Path) -> dict[str, set[str]]:
    relevant: dict[str, set[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        query, document, score = line.split("\t")
        if int(score) > 0:
            relevant.setdefault(query, set()).add(document)
    return relevant


def evaluate(settings: SearchSettings, benchmark: Benchmark) -> Result:
    """Build the engine with `settings` and measure every claim."""
    started = time.perf_counter()
    engine = Engine.from_documents(benchmark.documents, settings=settings)
    build_s = time.perf_counter() - started
    index_ndcg, index_recall, ask_ndcg, abstained, ask_ms = [], [], [], [], []
    reasons: Counter[str] = Counter()
    for claim in benchmark.claims:
        ranking = index_ranking(engine, claim.text)
        answer = engine.ask(claim.text, ASK_TOP_K)
        index_ndcg.append(ndcg(ranking, claim.relevant, NDCG_AT))
        index_recall.append(recall(ranking, claim.relevant, RECALL_AT))
        ask_ndcg.append(ndcg(ask_ranking(answer), claim.relevant, NDCG_AT))
        abstained.append(answer.abstained)
        ask_ms.append(answer.elapsed_ms)
        if answer.abstained:
            reasons[_reason_kind(answer.reason)] += 1
    arrays = map(np.array, (index_ndcg, index_recall, ask_ndcg, abstained, ask_ms))
    return Result(settings, *arrays, reasons, build_s)


def _reason_kind(reason: str) -> str:
    """An abstention's reason without the names it quotes, so reasons can be counted."""
    return "the articles never mention a named term" if reason.startswith("the articles never mention") else reason


def _evaluate_adopted(settings: SearchSettings) -> Result:
    assert _BENCHMARK is not None
    return evaluate(settings, _BENCHMARK)


def _adopt(benchmark: Benchmark) -> None:
    global _BENCHMARK
    _BENCHMARK = benchmark


def evaluate_all(settings: Sequence[SearchSettings], benchmark: Benchmark, workers: int) -> list[Result]:
    """One engine build per setting, spread over `workers` processes."""
    with ProcessPoolExecutor(workers, initializer=_adopt, initargs=(benchmark,)) as pool:
        return list(pool.map(_evaluate_adopted, settings))


def index_ranking(engine: Engine, claim: str) -> list[str]:
    """Abstracts in order of their best sentence, from the raw index and the query `ask` uses."""
    query = analyse(claim, engine._idf, engine.speller.correct).query
    docs = np.array([doc for doc, _ in engine.index.top_k(query, INDEX_SENTENCES)], dtype=np.int64)
    numbers = engine.table.articles[engine.indexed[docs]]
    _, first = np.unique(numbers, return_index=True)
    sources = engine.sources()
    return [sources[n - 1].file for n in numbers[np.sort(first)].tolist()]


def ask_ranking(answer: Answer) -> list[str]:
    """Abstracts in the order `ask` shows them (merged duplicates right after their hit)."""
    return list(dict.fromkeys(article.file for hit in answer.hits for article in (hit.article, *hit.also_in)))


def ndcg(ranking: Sequence[str], relevant: frozenset[str], k: int) -> float:
    """Binary-relevance nDCG@k, as BEIR's pytrec_eval computes it for SciFact's 0/1 judgements."""
    gain = sum(1 / math.log2(rank + 2) for rank, file in enumerate(ranking[:k]) if file in relevant)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
    return gain / ideal


def recall(ranking: Sequence[str], relevant: frozenset[str], k: int) -> float:
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def document_level(settings: SearchSettings, benchmark: Benchmark) -> float:
    """nDCG@10 of whole-abstract BM25 with the same tokenizer: the published-numbers yardstick."""
    index = BM25Index.build(
        (tokenize(document.text) for document in benchmark.documents),
        variant=settings.variant, k1=settings.k1, b=settings.b, epsilon=settings.epsilon,
    )
    files = [document.file for document in benchmark.documents]
    scores = [
        ndcg([files[doc] for doc, _ in index.top_k(tokenize(claim.text), NDCG_AT)], claim.relevant, NDCG_AT)
        for claim in benchmark.claims
    ]
    return float(np.mean(scores))


def full_grid() -> list[SearchSettings]:
    return [
        SearchSettings(variant=variant, epsilon=epsilon, k1=k1, b=b, section_terms=section)
        for variant, epsilon in VARIANTS
        for k1 in K1S
        for b in BS
        for section in (False, True)
    ]


def label(settings: SearchSettings) -> str:
    return f"{_variant(settings)} k1={settings.k1:g} b={settings.b:g}{_section(settings)}"


def family(settings: SearchSettings) -> str:
    return f"{_variant(settings)}{_section(settings)}"


def _variant(settings: SearchSettings) -> str:
    return f"okapi eps={settings.epsilon:g}" if settings.variant == "okapi" else settings.variant


def _section(settings: SearchSettings) -> str:
    return " +heading" if settings.section_terms else ""


def print_table(results: Sequence[Result], marked: Sequence[SearchSettings] = ()) -> None:
    print(f"{'#':>3}  {'setting':<34} {'nDCG@10':>8} {'R@100':>6} {'ask nDCG':>8} {'abstain':>7} {'ms/q':>6} {'build s':>7}")
    for rank, result in enumerate(results, start=1):
        mark = "*" if result.settings in marked else " "
        print(
            f"{rank:>3}{mark} {label(result.settings):<34} {result.index_ndcg.mean():>8.4f} "
            f"{result.index_recall.mean():>6.4f} {result.ask_ndcg.mean():>8.4f} "
            f"{result.abstained.mean():>7.1%} {result.ask_ms.mean():>6.1f} {result.build_s:>7.1f}"
        )


def paired_bootstrap(a: np.ndarray, b: np.ndarray, seed: int = 0) -> tuple[float, float, float, float]:
    """Mean of a - b, its 95% bootstrap interval over claims, and a two-sided bootstrap p-value."""
    diff = a - b
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (BOOTSTRAP_SAMPLES, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    p = min(1.0, 2 * min((means <= 0).mean(), (means >= 0).mean()))
    return float(diff.mean()), float(low), float(high), float(p)


def print_comparisons(best: Result, others: Sequence[Result]) -> None:
    """Is the best setting better than each other one by more than the claims' noise?"""
    print(f"\nbest = {label(best.settings)}; per-claim index nDCG@10, best minus other (paired bootstrap, {BOOTSTRAP_SAMPLES} samples)")
    print(f"  {'other':<34} {'diff':>8} {'95% interval':>18} {'p':>6} {'win/loss/tie':>14}")
    for other in others:
        diff, low, high, p = paired_bootstrap(best.index_ndcg, other.index_ndcg)
        wins = int((best.index_ndcg > other.index_ndcg).sum())
        losses = int((best.index_ndcg < other.index_ndcg).sum())
        ties = len(best.index_ndcg) - wins - losses
        print(f"  {label(other.settings):<34} {diff:>+8.4f} [{low:>+7.4f}, {high:>+7.4f}] {p:>6.3f} {f'{wins}/{losses}/{ties}':>14}")


def print_coverage_sweep(results: Sequence[Result]) -> None:
    print("\nmin_coverage at the best ranking setting (every claim is answerable: abstaining is wrong)")
    print(f"  {'min_cov':>7} {'abstain':>7} {'ask nDCG':>8} {'wasted':>7}  reasons")
    for result in results:
        wasted = int((result.abstained & (result.index_ndcg > 0)).sum())
        reasons = "; ".join(f"{count} {reason}" for reason, count in result.reasons.most_common())
        print(
            f"  {result.settings.min_coverage:>7g} {result.abstained.mean():>7.1%} "
            f"{result.ask_ndcg.mean():>8.4f} {wasted:>7}  {reasons}"
        )
    print("  wasted: abstentions on claims whose supporting abstract the index had in its top 10")


def coarse_to_fine(benchmark: Benchmark, workers: int) -> list[Result]:
    """Every variant with and without heading terms at the default k1 and b, then the whole
    k1 x b grid for the best few of those families (a quarter of the builds of the full grid).

    Families with identical per-claim scores are refined once: Okapi's epsilon only replaces
    the idf of terms in more than half the sentences, and whether any exist does not depend on
    k1 or b.
    """
    centre = SearchSettings()
    coarse = by_score(evaluate_all(
        [replace(centre, variant=v, epsilon=e, section_terms=s) for v, e in VARIANTS for s in (False, True)],
        benchmark, workers,
    ))
    families = [r.settings for r in distinct(coarse)[:REFINED_FAMILIES]]
    print(f"refined k1 x b for: {'; '.join(map(family, families))}")
    fine = [replace(f, k1=k1, b=b) for f in families for k1 in K1S for b in BS if (k1, b) != (centre.k1, centre.b)]
    return by_score([*coarse, *evaluate_all(fine, benchmark, workers)])


def by_score(results: Iterable[Result]) -> list[Result]:
    return sorted(results, key=lambda r: -r.index_ndcg.mean())


def distinct(results: Sequence[Result]) -> list[Result]:
    """Results in order, without those that score every claim exactly as an earlier one does."""
    kept: list[Result] = []
    for result in results:
        if not any(_same_scores(result, k) for k in kept):
            kept.append(result)
    return kept


def _same_scores(a: Result, b: Result) -> bool:
    return np.array_equal(a.index_ndcg, b.index_ndcg) and np.array_equal(a.index_recall, b.index_recall)


def one_knob_away(best: SearchSettings, results: Sequence[Result]) -> list[Result]:
    """Results that differ from `best` only in one knob, set back to the engine default's value."""
    default = SearchSettings()
    knobs = (
        {"variant": default.variant, "epsilon": default.epsilon},
        {"k1": default.k1},
        {"b": default.b},
        {"section_terms": default.section_terms},
    )
    wanted = {replace(best, **knob) for knob in knobs} - {best}
    return [r for r in results if r.settings in wanted]


def run_grid(benchmark: Benchmark, workers: int, full: bool) -> None:
    started = time.perf_counter()
    if full:
        results = by_score(evaluate_all(full_grid(), benchmark, workers))
    else:
        results = coarse_to_fine(benchmark, workers)
    print(f"{len(results)} settings ({'full grid' if full else 'coarse to fine'}), {len(benchmark.claims)} claims, "
          f"{time.perf_counter() - started:.0f} s on {workers} processes; sorted by index nDCG@10; * = default-like\n")
    print_table(results, DEFAULT_LIKE)
    best = results[0]
    others = [*distinct(results)[1 : 1 + RUNNERS_UP], *one_knob_away(best.settings, results)]
    others += [r for r in results if r.settings in DEFAULT_LIKE]
    print_comparisons(best, list({id(r): r for r in others}.values()))
    sweep = evaluate_all([replace(best.settings, min_coverage=c) for c in MIN_COVERAGES], benchmark, workers)
    print_coverage_sweep(sweep)
    print(f"\ndocument-level BM25 (whole abstracts), same tokenizer: {label(best.settings)}: "
          f"nDCG@10 {document_level(best.settings, benchmark):.4f}; engine default: "
          f"{document_level(SearchSettings(), benchmark):.4f}")


def run_default(benchmark: Benchmark) -> None:
    result = evaluate(SearchSettings(), benchmark)
    print(f"engine default SearchSettings() on {len(benchmark.claims)} SciFact claims\n")
    print_table([result])
    print(f"\ndocument-level BM25 (whole abstracts), same tokenizer: nDCG@10 {document_level(SearchSettings(), benchmark):.4f}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grid", action="store_true", help="sweep BM25 settings (coarse to fine), then min_coverage")
    parser.add_argument("--full", action="store_true", help="with --grid: every combination (96 builds instead of 41)")
    parser.add_argument("--data", type=Path, default=DATA, help="SciFact in BEIR layout")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for --grid")
    args = parser.parse_args(argv)
    benchmark = load_benchmark(args.data)
    if args.grid:
        run_grid(benchmark, args.workers, args.full)
    else:
        run_default(benchmark)


if __name__ == "__main__":
    main()
