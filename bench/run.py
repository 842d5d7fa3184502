"""Benchmark the BM25 index, rank-bm25, tantivy-py and bm25s beside it, and the engine around it; print markdown tables.

    python bench/run.py                                  # 10k, 100k and 1M sentences, seed 7
    python bench/run.py --sizes 10000,100000 --engine-sizes 10000 --semantic-sizes 10000

Every measurement runs in a fresh child process, so its peak RSS is its own. Synthetic
corpora are generated from the seed into bench/.data/ (git-ignored), never committed.
This is a report, not a test: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from serving import serving  # noqa: E402  (bench/ is on sys.path when run as a script)
from table import Column, Row, label, render  # noqa: E402

DATA = ROOT / "bench" / ".data"
DEFAULT_CORPUS = ROOT / "corpus"
QUESTIONS_PER_KIND = 200
ANCHORS = {"tantivy": "tantivy-py", "bm25s": "bm25s"}  # bench/bm25_anchors.py: with_<key>
ENGINE_QUESTIONS = 40
CLI_RUNS = 5
EMBEDDING_COPIES = 4  # the default corpus's 156 sentences, 4 times: enough for a steady sentences/s
THROUGHPUT_SETS = ("default", "gitdoc")  # bench/embedding_throughput.py: news-like and docs-like sentences
THROUGHPUT_ROUNDS = 2
DEFAULT_CORPUS_QUESTIONS = [
    "How much has Microsoft invested in OpenAI?",
    "Why does OpenAI want to restructure?",
    "When did the partnership between Microsoft and OpenAI begin?",
    "What does Microsoft get from Azure?",
    "Is OpenAI planning an IPO?",
]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    engine_sizes = args.sizes if args.engine_sizes is None else args.engine_sizes
    results: dict = {"seed": args.seed, "index": {}, "engine": {}}
    for size in args.sizes:
        workdir = DATA / f"seed{args.seed}-{size}"
        workdir.mkdir(parents=True, exist_ok=True)
        with_engine = size in engine_sizes
        _progress(f"{label(size)}: generating and indexing")
        build = _child("index_measures", "build", workdir, size, args.seed, QUESTIONS_PER_KIND, with_engine)
        _progress(f"{label(size)}: restarting from the saved index and querying")
        serve = _child("index_measures", "serve", workdir, size, args.seed)
        _progress(f"{label(size)}: rank-bm25 on the same corpus")
        reference = _child("index_measures", "reference", workdir, size, args.seed, _reference_queries(size))
        _progress(f"{label(size)}: tantivy-py and bm25s on the same corpus")
        anchors = {name: _child("bm25_anchors", f"with_{name}", workdir, size, args.seed) for name in ANCHORS}
        results["index"][size] = {"build": build, "serve": serve, "reference": reference, "anchors": anchors}
        if with_engine:
            _progress(f"{label(size)}: the engine from article files")
            results["engine"][size] = {
                "build": _child("engine_measures", "build", workdir),
                "serve": _child("engine_measures", "serve", workdir, ENGINE_QUESTIONS),
            }
            if size in args.semantic_sizes:
                _progress(f"{label(size)}: the engine with the sentence model")
                results["engine"][size]["semantic"] = _child("engine_measures", "semantic_serve", workdir, ENGINE_QUESTIONS)
    if not args.no_default_corpus:
        _progress("default corpus: the engine in process and `python -m bot ask`")
        results["default"] = _default_corpus()
    DATA.mkdir(parents=True, exist_ok=True)
    (DATA / f"results-seed{args.seed}.json").write_text(json.dumps(results, indent=2))
    print(_tables(results))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Benchmark the BM25 index and the engine; print markdown tables.")
    parser.add_argument("--sizes", type=_sizes, default=[10_000, 100_000, 1_000_000], help="sentences per corpus")
    parser.add_argument("--engine-sizes", type=_sizes, default=None, help="sizes also run through the engine (default: --sizes)")
    parser.add_argument(
        "--semantic-sizes",
        type=_sizes,
        default=[10_000, 1_000_000],
        help="engine sizes also run with the sentence model (past 100k, synthetic vectors stand in for embedding)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-default-corpus", action="store_true", help="skip the rows for ./corpus")
    return parser


def _sizes(raw: str) -> list[int]:
    return [int(part) for part in raw.split(",") if part]


def _reference_queries(size: int) -> int:
    """rank-bm25 takes about a second a query at 1M sentences; sample fewer as corpora grow."""
    return max(10, min(100, 3_000_000 // size))


def _progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _call(module: str, function: str, *args: object) -> dict:
    """Runs in the child: import only what this measurement needs, so it alone shows in the RSS."""
    return getattr(importlib.import_module(module), function)(*args)


def _child(module: str, function: str, *args: object) -> dict | None:
    """One measurement in a fresh interpreter; None (and the error on stderr) if it fails."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            return pool.submit(_call, module, function, *args).result()
        except Exception as error:  # a failed measurement is reported, not fatal
            _progress(f"{module}.{function} failed: {error!r}")
            return None


def _default_corpus() -> dict:
    """The bundled corpus in process and through `python -m bot ask`, BM25 alone and with the semantic signal."""
    results = {}
    for name, semantic in (("bm25", False), ("semantic", True)):
        in_process = _child("engine_measures", "default_corpus", DEFAULT_CORPUS, DEFAULT_CORPUS_QUESTIONS, 20, semantic)
        cold = [_first_answer_s(q, None, semantic) for q in DEFAULT_CORPUS_QUESTIONS[:CLI_RUNS]]
        cache = DATA / f"default-corpus-cache-{name}"
        shutil.rmtree(cache, ignore_errors=True)
        _first_answer_s(DEFAULT_CORPUS_QUESTIONS[0], cache, semantic)
        warm = [_first_answer_s(q, cache, semantic) for q in DEFAULT_CORPUS_QUESTIONS[:CLI_RUNS]]
        with serving(_env(cache, semantic)):
            _first_answer_s(DEFAULT_CORPUS_QUESTIONS[0], cache, semantic)  # the server's sessions' first run
            served = [_first_answer_s(q, cache, semantic) for q in DEFAULT_CORPUS_QUESTIONS[:CLI_RUNS]]
        results[name] = {
            "in_process": in_process,
            "cli_cold_s": statistics.median(cold),
            "cli_warm_s": statistics.median(warm),
            "cli_served_s": statistics.median(served),
        }
    results["embedding"] = _child("engine_measures", "embedding", DEFAULT_CORPUS, EMBEDDING_COPIES)
    _progress("the sentence model: the product's embed against raw onnxruntime on the same graph")
    results["throughput"] = _child("embedding_throughput", "compare", THROUGHPUT_SETS, THROUGHPUT_ROUNDS)
    return results


def _env(cache: Path | None, semantic: bool) -> dict[str, str]:
    return {**os.environ, "CORPUS_DIR": str(DEFAULT_CORPUS), "INDEX_CACHE": str(cache or "off"), "SEMANTIC": "on" if semantic else "off"}


def _first_answer_s(question: str, cache: Path | None, semantic: bool) -> float:
    """Seconds from starting `python -m bot ask` to its first line of output."""
    command = [sys.executable, "-m", "bot", "ask", question]
    started = time.perf_counter()
    with subprocess.Popen(command, cwd=ROOT, env=_env(cache, semantic), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        process.stdout.readline()
        elapsed = time.perf_counter() - started
        process.stdout.read()
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} exited with {process.returncode}")
    return elapsed


def _tables(results: dict) -> str:
    index_sizes = list(results["index"])
    index_rows = [
        Row("postings / terms", lambda r: f"{r['build']['postings'] / 1e6:.1f}M / {r['build']['terms'] / 1e3:.0f}k"),
        Row("build (s)", lambda r: r["build"]["build_s"], "{:.2f}", {1_000_000: 30}),
        Row("peak RSS building (MB)", lambda r: r["build"]["build_peak_mb"], "{:.0f}", {1_000_000: 500}),
        Row("… of which token lists read (MB)", lambda r: r["build"]["input_mb"], "{:.0f}"),
        Row("saved index on disk (MB)", lambda r: r["build"]["file_mb"], "{:.1f}"),
        Row("save (s)", lambda r: r["build"]["save_s"], "{:.2f}"),
        Row("restart: load saved index (s)", lambda r: r["serve"]["load_s"], "{:.2f}", {1_000_000: 3}),
        Row("peak RSS serving (MB)", lambda r: r["serve"]["serve_peak_mb"], "{:.0f}", {1_000_000: 300}),
        Row("query p50 (ms)", lambda r: r["serve"]["all"]["p50"], "{:.2f}", {100_000: 2, 1_000_000: 10}),
        Row("query p99 (ms)", lambda r: r["serve"]["all"]["p99"], "{:.2f}", {1_000_000: 30}),
        Row("p50 / p99, rare words only (ms)", lambda r: _pair(r["serve"]["rare"])),
        Row("p50 / p99, with common words (ms)", lambda r: _pair(r["serve"]["common"])),
        Row("rank-bm25 build (s)", lambda r: r["reference"]["build_s"], "{:.1f}"),
        Row("rank-bm25 peak RSS building (MB)", lambda r: r["reference"]["build_peak_mb"], "{:.0f}"),
        Row(
            "rank-bm25 get_scores + argsort p50 (ms)",
            lambda r: f"{r['reference']['theirs']['p50']:.1f} (n={r['reference']['theirs']['n']})",
        ),
        Row("speed-up, same queries (×)", lambda r: r["reference"]["speedup"], "{:.0f}"),
        Row("scores equal rank-bm25's (1e-9)", _exactness, target_text="PASS at every size"),
        *(row for key, name in ANCHORS.items() for row in _anchor_rows(key, name)),
    ]
    tables = [
        "## BM25 index (synthetic corpora, top-5)",
        render(index_rows, [Column(label(s), results["index"][s], s) for s in index_sizes]),
    ]
    engine_columns = [Column(f"engine {label(s)}", results["engine"][s]) for s in results["engine"]]
    if "default" in results:
        engine_columns.insert(0, Column("default corpus, semantic", results["default"]["semantic"]))
        engine_columns.insert(0, Column("default corpus, BM25 alone", results["default"]["bm25"]))
    if engine_columns:
        tables += ["## Engine (public API: Engine.from_dir, engine.ask)", render(_engine_rows(), engine_columns)]
    if "default" in results and results["default"]["embedding"]:
        tables += ["## The sentence model (all-MiniLM-L6-v2, int8 ONNX)", _embedding_table(results["default"]["embedding"])]
    if "default" in results and results["default"].get("throughput"):
        from embedding_throughput import table as throughput_table  # here: it imports the engine, which the rest does not need

        tables += ["## Embedding throughput: the product against raw onnxruntime (same int8 graph, same sentences)",
                   throughput_table(results["default"]["throughput"])]
    semantic_columns = [Column(f"engine {label(s)}", results["engine"][s]["semantic"]) for s in results["engine"] if results["engine"][s].get("semantic")]
    if semantic_columns:
        tables += ["## Engine with the sentence model, synthetic corpora (saved index)", render(_semantic_rows(), semantic_columns)]
    return "\n\n".join(tables)


def _embedding_table(e: dict) -> str:
    return "\n".join([
        "| measure | value |",
        "|---|---|",
        f"| model load, checksums included (s) | {e['model_load_s']:.2f} |",
        f"| RSS added by the model (MB) | {e['model_mb']:.0f} |",
        f"| embedding, {e['sentences']:,} real sentences (sentences/s, all cores) | {e['per_s']:.0f} |",
        f"| one question p50 / p99 (ms) | {_pair(e['question'])} |",
    ])


def _anchor_rows(key: str, name: str) -> list[Row]:
    """Build, query p50 and peak RSS of another library on the same corpus and questions (or why not)."""

    def field(pick: Callable[[dict], object]) -> Callable[[dict], object]:
        def value(r: dict) -> object:
            anchor = r.get("anchors", {}).get(key)
            return "failed" if anchor is None else anchor.get("missing") or pick(anchor)

        return value

    return [
        Row(f"{name} build (s)", field(lambda a: f"{a['build_s']:.2f}")),
        Row(f"{name} query p50 / p99 (ms)", field(lambda a: _pair(a["query"]))),
        Row(f"{name} peak RSS, building and querying (MB)", field(lambda a: f"{a['peak_mb']:.0f}")),
    ]


def _semantic_rows() -> list[Row]:
    return [
        Row("sentence vectors", lambda r: r["vectors"]),
        Row("restart from the saved index, model included (s)", lambda r: r["restart_s"] + r["model_load_s"], "{:.2f}"),
        Row("ask p50 / p99 (ms)", lambda r: _pair(r["ask"])),
        Row("ask CPU p50 / p99 (ms)", lambda r: _pair(r["ask_cpu"])),
        Row("peak RSS serving (MB)", lambda r: r["peak_mb"], "{:.0f}"),
        Row("RSS after the questions (MB)", lambda r: r["rss_mb"], "{:.0f}", {1_000_000: 600}),
        Row("… of it the process's own / files' pages (MB)", lambda r: f"{r['rss_anon_mb']:.0f} / {r['rss_file_mb']:.0f}"),
        Row("… the largest mapped files (MB)", lambda r: ", ".join(f"{name} {mb:.0f}" for name, mb in list(r["mapped_mb"].items())[:4])),
    ]


def _engine_rows() -> list[Row]:
    def pick(default: Callable[[dict], object], synthetic: Callable[[dict], object]) -> Callable[[dict], object]:
        return lambda r: default(r) if "in_process" in r else synthetic(r)

    return [
        Row("sentences indexed", pick(lambda r: r["in_process"]["sentences"], lambda r: r["build"]["sentences"]), "{:,}"),
        Row("model load (s)", pick(lambda r: r["in_process"].get("model_load_s"), lambda r: None), "{:.2f}"),
        Row(
            "build from articles, tokenizing included (s)",
            pick(lambda r: r["in_process"]["build_s"], lambda r: r["build"]["build_s"]),
            "{:.2f}",
        ),
        Row("peak RSS building (MB)", pick(lambda r: None, lambda r: r["build"]["peak_mb"]), "{:.0f}"),
        Row("restart from the saved index (s)", pick(lambda r: None, _restart), "{:.2f}"),
        Row("ask p50 / p99 (ms)", pick(lambda r: _pair(r["in_process"]["ask"]), lambda r: _pair(r["serve"]["ask"]))),
        Row("ask CPU p50 / p99 (ms)", pick(lambda r: _pair(r["in_process"]["ask_cpu"]), lambda r: _pair(r["serve"]["ask_cpu"]))),
        Row("peak RSS serving (MB)", pick(lambda r: r["in_process"]["peak_mb"], lambda r: r["serve"]["peak_mb"]), "{:.0f}"),
        Row("`python -m bot ask` → first answer, first run ever (s)", pick(lambda r: r["cli_cold_s"], lambda r: None), "{:.2f}"),
        Row("`python -m bot ask` → first answer, saved index (s)", pick(lambda r: r["cli_warm_s"], lambda r: None), "{:.2f}"),
        Row("`python -m bot ask` → first answer, `serve` running (s)", pick(lambda r: r["cli_served_s"], lambda r: None), "{:.2f}"),
    ]


def _restart(r: dict) -> float | str:
    serve = r["serve"]
    return f"{serve['restart_s']:.2f} (rebuilt, not reused)" if serve["rebuilt"] else serve["restart_s"]


def _pair(latency: dict) -> str:
    return f"{latency['p50']:.2f} / {latency['p99']:.2f}"


def _exactness(r: dict) -> str:
    reference = r["reference"]
    verdict = "PASS" if reference["exact"] else "FAIL"
    return f"{verdict} (max abs diff {reference['max_difference']:.1e}, {reference['theirs']['n']} queries)"


if __name__ == "__main__":
    sys.exit(main())
