"""Answer quality on forty-three question sets, side by side, in every mode: BM25 alone, the semantic
signal alone, fused (RERANK=off), the reranker's logit alone, and the product's reranked order.

* dev: the 25 development questions about the default articles (../shared/eval), scored by
  their own scorer: hit1, hit3, right abstentions and wrong ones.
* unseen: 45 questions about the default articles written before the reranker (bench/sets), same
  scorer; for measuring only, never for tuning. unseen2: 23 more, written before the retrained reranker;
  unseen3: 30 more, written before the speller learnt English words; unseen4: 40 more, written in the
  session of 2026-12-05 before its answering changes were scored; unseen5: 40 more, written in the next
  session before its reranker was retrained; unseen6: 40 more, written in the evening session of
  2026-12-05 before its changes were scored; unseen7: 40 more, written blind late that evening; unseen8:
  40 more, written blind in the night session of 2026-12-05 before the reranker soups were scored; unseen9:
  40 more, written blind later that night, before the section headings were given to the sentence model;
  unseen10: 40 more, written blind at the start of the session of 2026-12-06; unseen11: 40 more, written
  blind in the same session after the pool features were shipped; unseen12 and unseen13: 40 more each, written
  blind later that session (unseen13 with more chat-style questions, most without a question mark);
  unseen14: 40 more, written blind in the second session of 2026-12-06, about a quarter in chat style;
  unseen15: 40 more, written blind later in that session; unseen16: 40 more, written blind in the third session of that day;
  unseen17: 40 more, written blind at the start of the fourth session of that day; unseen18: 40 more, written
  blind later in that session, before its reranker round was scored; unseen19: 40 more, written blind before
  that session's second reranker round; unseen20: 40 more, written blind at the start of the fifth session of that day.
* gitdoc: 88 help-channel questions over git's HTML documentation (bench/gitdoc); djangodoc: 96 over
  Django's Sphinx-built HTML documentation (bench/djangodoc); typerdoc: 78 over Typer's MkDocs-built
  HTML documentation (bench/typerdoc); flaskdoc: 80 over Flask's Sphinx-built HTML documentation
  (bench/flaskdoc); werkzeugdoc: 70 over Werkzeug's Sphinx-built HTML documentation, its API reference
  most of all (bench/werkzeugdoc); clickdoc: 60 over 19 narrative pages of Click's Sphinx-built HTML
  documentation (bench/clickdoc); requestsdoc: 70 over 14 pages of Requests' Sphinx-built HTML documentation,
  in subfolders, written blind at the start of the session of 2026-12-06 (bench/requestsdoc); pytestdoc: 70
  over 41 pages of pytest's Sphinx-built HTML documentation, written blind later that session (bench/pytestdoc);
  aiohttpdoc: 70 over 25 pages of aiohttp's Sphinx-built HTML documentation, written blind at the end of that
  session (bench/aiohttpdoc); jinjadoc: 60 over 11 pages of Jinja's Sphinx-built HTML documentation, written
  blind last in that session (bench/jinjadoc); attrdoc: 60 over 13 pages of attrs' Sphinx-built HTML
  documentation, and jsonschemadoc: 60 over 6 pages of jsonschema's, both written blind in the second session
  of 2026-12-06 (bench/attrdoc, bench/jsonschemadoc); bs4doc: 60 over 1 page of Beautiful Soup's Sphinx-built
  HTML documentation, and cookiedoc: 60 over 30 pages of Cookiecutter's, both written blind late in the second
  session of 2026-12-06 (bench/bs4doc, bench/cookiedoc); psycodoc: 60 over 16 pages of psycopg2's Sphinx-built
  HTML documentation, and structdoc: 60 over 19 pages of structlog's, both written blind in the third session of
  2026-12-06 (bench/psycodoc, bench/structdoc); scrapydoc: 60 over 26 pages of Scrapy's Sphinx-built HTML documentation,
  in subfolders, written blind at the start of the fourth session of 2026-12-06 (bench/scrapydoc); cmd2doc: 60 over 35
  pages of cmd2's Sphinx-built HTML documentation, in subfolders, written blind later in that session before its
  reranker round was scored (bench/cmd2doc); markdowndoc: 60 over 27 pages of Python-Markdown's MkDocs-built HTML
  documentation, written blind before that session's second reranker round was scored (bench/markdowndoc);
  eventletdoc: 60 over 26 pages of Eventlet's Sphinx-built HTML documentation, in a subfolder, written blind at the
  start of the fifth session of 2026-12-06 (bench/eventletdoc); all twenty scored by bench/docsets/score.py.
* WikiQA: 325 real search questions over 619 Wikipedia summaries, 62% with no answer
  (../shared/data/wikiqa), scored by its own scorer: hit1, hit3 and answer-triggering F1.
* SciFact: 300 scientific claims over 5,183 abstracts (../shared/data/scifact): nDCG@10 of the
  abstracts in the order `ask` shows them (an abstention ranks nothing: every claim has an answer).

Every answer goes through `Engine.ask`, as in the product. The data sets are evaluation data,
read from the shared folder and never copied into the product; built indexes and vectors are
cached in bench/.data/ (git-ignored), so only the first run embeds (about 5 minutes on 2 cores).

    python bench/quality.py                  # the table: every mode on every set
    python bench/quality.py --fusion         # the fused lexical weight from 0 to 1
    python bench/quality.py --abstention     # the abstention thresholds, fused, on all three
    python bench/quality.py --grid           # BM25 variants x k1 x b on SciFact (index only)
"""

from __future__ import annotations

import argparse
import functools
import gzip
import importlib.util
import itertools
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.cli import answer_json  # noqa: E402
from bot.search.answer.question import analyse  # noqa: E402
from bot.search.answer.rerank import DEFAULT_COMBINATION  # noqa: E402
from bot.search.answer.select import Abstention  # noqa: E402
from bot.search.engine import Answer, Answering, Engine, SearchSettings  # noqa: E402
from bot.search.index.bm25 import BM25Index  # noqa: E402
from bot.search.index.tokens import tokenize  # noqa: E402
from bot.search.models.embedding import Embedder, default_model  # noqa: E402
from bot.search.models.reranker import Reranker, default_reranker  # noqa: E402

SHARED = ROOT.parent / "shared"
DATA = ROOT / "bench" / ".data"
ASK_TOP_K = 10  # SciFact: the abstracts of the first 10 facts shown (merged duplicates after their fact)
NDCG_AT = 10
RECALL_AT = 100
INDEX_SENTENCES = 3000  # enough sentences to reach 100 distinct abstracts
WIKIQA_TOP_K = 5  # as ../shared/data/wikiqa/run asks
FUSION_WEIGHTS = (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.6, 1.0)
OFF_TOPIC = (0.2, 0.25, 0.3, 0.35, 0.4)
CLOSE = (0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 1.01)
MIN_COVERAGE = (0.2, 0.3, 0.4)
VARIANTS = (("okapi", 0.0), ("okapi", 0.25), ("l", 0.0), ("plus", 0.0))
K1S = (0.9, 1.2, 1.5, 2.0)
BS = (0.5, 0.75, 0.9)


@dataclass(frozen=True)
class Mode:
    name: str
    semantic: bool
    answering: Answering


MODES = (
    Mode("bm25", False, Answering()),
    Mode("semantic", True, Answering(lexical_weight=0.0, rerank=False)),
    Mode("fused", True, Answering(rerank=False)),
    Mode("reranker", True, Answering(combination=replace(DEFAULT_COMBINATION, weights=(1.0,) + (0.0,) * (len(DEFAULT_COMBINATION.weights) - 1), bias=0.0))),
    Mode("reranked", True, Answering()),
)


class QuestionSet:
    """A corpus, its questions and a scorer of `ask --json` lines; engines are built once and cached."""

    name: str
    corpus: Path
    columns: tuple[str, ...]
    top_k: int = 3

    def questions(self) -> list[str]:
        raise NotImplementedError

    def score(self, answers: Sequence[Answer]) -> dict[str, float]:
        raise NotImplementedError

    def engine(self, embedder: Embedder | None) -> Engine:
        engine = Engine.from_dir(self.corpus, cache_dir=DATA / f"cache-{self.name}", embedder=embedder)
        return engine if embedder is None else engine.with_reranker(reranker())


class Dev(QuestionSet):
    name = "dev"
    corpus = ROOT / "corpus"
    columns = ("hit1", "hit3", "abstain", "wrong_abstain")
    path = SHARED / "eval" / "dev.jsonl"

    def __init__(self) -> None:
        self.rows = _jsonl(self.path)
        spec = importlib.util.spec_from_file_location("dev_score", SHARED / "eval" / "score.py")
        assert spec is not None and spec.loader is not None
        self.scorer = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.scorer)

    def questions(self) -> list[str]:
        return [row["q"] for row in self.rows]

    def score(self, answers: Sequence[Answer]) -> dict[str, float]:
        report = self.scorer.score(self.rows, [answer_json(a) for a in answers])["overall"]
        return {column: report[column] for column in self.columns}


def _unseen(name: str, file: str) -> type[Dev]:
    """A question set about the default articles in bench/sets, scored like the dev set."""
    return type(name.capitalize(), (Dev,), {"name": name, "path": ROOT / "bench" / "sets" / file})


UNSEEN = {
    name: _unseen(name, file)
    for name, file in (
        ("unseen", "default-unseen.jsonl"),
        ("unseen2", "default-unseen-2.jsonl"),
        ("unseen3", "default-unseen-3.jsonl"),
        ("unseen4", "default-unseen-4.jsonl"),
        ("unseen5", "default-unseen-5.jsonl"),
        ("unseen6", "default-unseen-6.jsonl"),
        ("unseen7", "default-unseen-7.jsonl"),
        ("unseen8", "default-unseen-8.jsonl"),
        ("unseen9", "default-unseen-9.jsonl"),
        ("unseen10", "default-unseen-10.jsonl"),
        ("unseen11", "default-unseen-11.jsonl"),
        ("unseen12", "default-unseen-12.jsonl"),
        ("unseen13", "default-unseen-13.jsonl"),
        ("unseen14", "default-unseen-14.jsonl"),
        ("unseen15", "default-unseen-15.jsonl"),
        ("unseen16", "default-unseen-16.jsonl"),
        ("unseen17", "default-unseen-17.jsonl"),
        ("unseen18", "default-unseen-18.jsonl"),
        ("unseen19", "default-unseen-19.jsonl"),
        ("unseen20", "default-unseen-20.jsonl"),
    )
}


class DocSet(QuestionSet):
    """Help-channel questions over a folder of documentation pages, bench/<name>/, scored by bench/docsets/score.py."""

    columns = ("hit1", "hit3", "abstain", "wrong_abstain")
    top_k = 5  # as bench/docsets/run asks

    def __init__(self) -> None:
        self._path = ROOT / "bench" / self.name / "questions.jsonl"
        self.rows = _jsonl(self._path)

    def questions(self) -> list[str]:
        return [row["q"] for row in self.rows]

    def score(self, answers: Sequence[Answer]) -> dict[str, float]:
        return _scored_by(ROOT / "bench" / "docsets" / "score.py", self._path, answers, self.columns)


def _docset(name: str) -> type[DocSet]:
    """A documentation set in bench/<name>/ (corpus/ and questions.jsonl)."""
    return type(name.capitalize(), (DocSet,), {"name": name, "corpus": ROOT / "bench" / name / "corpus"})


DOCSETS = {name: _docset(name) for name in ("gitdoc", "djangodoc", "typerdoc", "flaskdoc", "werkzeugdoc", "clickdoc", "requestsdoc", "pytestdoc", "aiohttpdoc", "jinjadoc", "attrdoc", "jsonschemadoc", "bs4doc", "cookiedoc", "psycodoc", "structdoc", "scrapydoc", "cmd2doc", "markdowndoc", "eventletdoc")}


@functools.cache
def reranker() -> Reranker:
    return Reranker(default_reranker())


class WikiQA(QuestionSet):
    name = "wikiqa"
    corpus = SHARED / "data" / "wikiqa" / "corpus"
    columns = ("hit1", "hit3", "abstain", "wrong_abstain", "f1")
    top_k = WIKIQA_TOP_K

    def __init__(self) -> None:
        self._path = SHARED / "data" / "wikiqa" / "questions.jsonl"
        self.rows = _jsonl(self._path)

    def questions(self) -> list[str]:
        return [row["q"] for row in self.rows]

    def score(self, answers: Sequence[Answer]) -> dict[str, float]:
        return _scored_by(SHARED / "data" / "wikiqa" / "score.py", self._path, answers, self.columns)


def _scored_by(scorer: Path, questions: Path, answers: Sequence[Answer], columns: Sequence[str]) -> dict[str, float]:
    """A set's own scorer (a script taking the questions and `ask --json` lines) run on the answers."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as out:
        out.writelines(json.dumps(answer_json(a)) + "\n" for a in answers)
    printed = subprocess.run([sys.executable, str(scorer), str(questions), out.name, "--json"], capture_output=True, text=True, check=True)
    Path(out.name).unlink()
    report = json.loads(printed.stdout)
    return {column: report[column] for column in columns}


class SciFact(QuestionSet):
    name = "scifact"
    corpus = DATA / "scifact-corpus"
    columns = ("ndcg", "wrong_abstain")
    top_k = ASK_TOP_K

    def __init__(self) -> None:
        folder = SHARED / "data" / "scifact"
        relevant: dict[str, set[str]] = {}
        for line in (folder / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
            query, document, score = line.split("\t")
            if int(score) > 0:
                relevant.setdefault(query, set()).add(f"{document}.txt")
        self._claims = [(row["text"], frozenset(relevant[row["_id"]])) for row in _gzip_jsonl(folder / "queries.jsonl.gz") if row["_id"] in relevant]
        if not (self.corpus / "done").exists():
            self.corpus.mkdir(parents=True, exist_ok=True)
            for row in _gzip_jsonl(folder / "corpus.jsonl.gz"):
                (self.corpus / f"{row['_id']}.txt").write_text(f"{row['title']}\n\n{row['text']}\n", encoding="utf-8")
            (self.corpus / "done").write_text("")

    def questions(self) -> list[str]:
        return [text for text, _ in self._claims]

    def relevant(self) -> list[frozenset[str]]:
        return [files for _, files in self._claims]

    def score(self, answers: Sequence[Answer]) -> dict[str, float]:
        ndcgs = [ndcg(ask_ranking(a), files, NDCG_AT) for a, files in zip(answers, self.relevant())]
        return {"ndcg": float(np.mean(ndcgs)), "wrong_abstain": float(np.mean([a.abstained for a in answers]))}


def ask_ranking(answer: Answer) -> list[str]:
    """Abstracts in the order `ask` shows them (merged duplicates right after their hit)."""
    return list(dict.fromkeys(article.file for hit in answer.hits for article in (hit.article, *hit.also_in)))


def ndcg(ranking: Sequence[str], relevant: frozenset[str], k: int) -> float:
    """Binary-relevance nDCG@k, as BEIR's pytrec_eval computes it for SciFact's 0/1 judgements."""
    gain = sum(1 / math.log2(rank + 2) for rank, file in enumerate(ranking[:k]) if file in relevant)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
    return gain / ideal


def run(sets: Sequence[QuestionSet], engines: dict[str, Engine], answering: Answering) -> dict[str, dict[str, float]]:
    """Every set's questions through `ask` with the given rules; the sets' scores."""
    scores = {}
    for questions in sets:
        engine = engines[questions.name].answering_with(answering)
        scores[questions.name] = questions.score([engine.ask(q, questions.top_k) for q in questions.questions()])
    return scores


def side_by_side(sets: Sequence[QuestionSet], embedder: Embedder, modes: Sequence[Mode] = MODES) -> None:
    """The main table: one row per mode, the sets' measures side by side."""
    plain = {s.name: s.engine(None) for s in sets}
    semantic = {s.name: s.engine(embedder) for s in sets}
    header = "  ".join(f"{s.name}:{c}" for s in sets for c in s.columns)
    print(f"{'mode':<9} {header}")
    for mode in modes:
        started = time.perf_counter()
        scores = run(sets, semantic if mode.semantic else plain, mode.answering)
        cells = "  ".join(f"{scores[s.name][c]:>{len(s.name) + len(c) + 1}.3f}" for s in sets for c in s.columns)
        print(f"{mode.name:<9} {cells}   ({time.perf_counter() - started:.0f} s)", flush=True)


def fusion_sweep(sets: Sequence[QuestionSet], embedder: Embedder) -> None:
    engines = {s.name: s.engine(embedder) for s in sets}
    print(f"{'weight':<7} " + "  ".join(f"{s.name}:{c}" for s in sets for c in s.columns))
    for weight in FUSION_WEIGHTS:
        scores = run(sets, engines, Answering(lexical_weight=weight))
        print(f"{weight:<7g} " + "  ".join(f"{scores[s.name][c]:>{len(s.name) + len(c) + 1}.3f}" for s in sets for c in s.columns), flush=True)


def abstention_sweep(sets: Sequence[QuestionSet], embedder: Embedder) -> None:
    """Every threshold combination, best WikiQA F1 first among those that keep the dev set's bars."""
    engines = {s.name: s.engine(embedder) for s in sets}
    rows = []
    for off_topic, close, coverage in itertools.product(OFF_TOPIC, CLOSE, MIN_COVERAGE):
        if close <= off_topic:
            continue
        rules = Abstention(min_coverage=coverage, off_topic=off_topic, close=close)
        rows.append((rules, run(sets, engines, Answering(abstention=rules))))
    rows.sort(key=lambda row: -row[1].get("wikiqa", {}).get("f1", 0.0))
    print(f"{'off_topic':>9} {'close':>5} {'min_cov':>7}  " + "  ".join(f"{s.name}:{c}" for s in sets for c in s.columns))
    for rules, scores in rows:
        cells = "  ".join(f"{scores[s.name][c]:>{len(s.name) + len(c) + 1}.3f}" for s in sets for c in s.columns)
        mark = "*" if rules == Abstention() else " "
        print(f"{rules.off_topic:>9g} {rules.close:>5g} {rules.min_coverage:>7g}{mark} {cells}")
    print("* = the engine's default")


def bm25_grid(scifact: SciFact) -> None:
    """Index-level nDCG@10 and Recall@100 on SciFact for each BM25 setting (abstracts ranked by their best sentence)."""
    print(f"{'setting':<32} {'nDCG@10':>8} {'R@100':>6}")
    claims = scifact.questions()
    for (variant, epsilon), k1, b in itertools.product(VARIANTS, K1S, BS):
        settings = SearchSettings(variant=variant, epsilon=epsilon, k1=k1, b=b)
        engine = Engine.from_dir(scifact.corpus, settings=settings, cache_dir=DATA / f"cache-scifact-{variant}-{epsilon}-{k1}-{b}")
        rankings = [index_ranking(engine, claim) for claim in claims]
        ndcgs = [ndcg(r, files, NDCG_AT) for r, files in zip(rankings, scifact.relevant())]
        recalls = [len(files.intersection(r[:RECALL_AT])) / len(files) for r, files in zip(rankings, scifact.relevant())]
        print(f"{variant} eps={epsilon:g} k1={k1:g} b={b:g}".ljust(32) + f" {np.mean(ndcgs):>8.4f} {np.mean(recalls):>6.4f}", flush=True)
    documents = [(path.name, path.read_text(encoding="utf-8")) for path in sorted(scifact.corpus.glob("*.txt"))]
    index = BM25Index.build((tokenize(text) for _, text in documents), k1=1.2, b=0.5, epsilon=0.0)
    whole = [ndcg([documents[d][0] for d, _ in index.top_k(tokenize(c), NDCG_AT)], files, NDCG_AT) for c, files in zip(claims, scifact.relevant())]
    print(f"document-level BM25 (whole abstracts), same tokenizer: nDCG@10 {np.mean(whole):.4f}")


def index_ranking(engine: Engine, claim: str) -> list[str]:
    """Abstracts in order of their best sentence, from the raw BM25 index and the query `ask` uses."""
    query = analyse(claim, engine._idf, engine.speller.correct).query
    docs = np.array([doc for doc, _ in engine.index.top_k(query, INDEX_SENTENCES)], dtype=np.int64)
    numbers = engine.table.articles[engine.indexed[docs]]
    _, first = np.unique(numbers, return_index=True)
    sources = engine.sources()
    return [sources[n - 1].file for n in numbers[np.sort(first)].tolist()]


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _gzip_jsonl(path: Path) -> Iterable[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        yield from map(json.loads, lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--fusion", action="store_true", help="sweep the fused lexical weight")
    what.add_argument("--abstention", action="store_true", help="sweep the abstention thresholds")
    what.add_argument("--grid", action="store_true", help="sweep BM25 settings on SciFact (index level)")
    makers: dict[str, Callable[[], QuestionSet]] = {"dev": Dev, **UNSEEN, **DOCSETS, "wikiqa": WikiQA, "scifact": SciFact}
    parser.add_argument("--sets", default=",".join(makers), help="comma-separated: " + ", ".join(makers))
    parser.add_argument("--modes", default=",".join(m.name for m in MODES), help="comma-separated: " + ", ".join(m.name for m in MODES))
    args = parser.parse_args(argv)
    sets = [makers[name]() for name in args.sets.split(",")]
    if args.grid:
        bm25_grid(next(s for s in sets if isinstance(s, SciFact)))
        return
    embedder = Embedder(default_model())
    started = time.perf_counter()
    for questions in sets:  # build (or load) every engine first, so the timings below are answering only
        questions.engine(embedder)
    print(f"engines ready in {time.perf_counter() - started:.0f} s\n", flush=True)
    if args.fusion:
        fusion_sweep(sets, embedder)
    elif args.abstention:
        abstention_sweep(sets, embedder)
    else:
        side_by_side(sets, embedder, [m for m in MODES if m.name in args.modes.split(",")])


if __name__ == "__main__":
    main()
