"""The product's Embedder.embed against raw onnxruntime on the same int8 graph and the same sentences, in one run.

    python bench/embedding_throughput.py                       # default corpus ×4 and git docs, 3 rounds
    python bench/embedding_throughput.py --sets default --rounds 5

Raw is the anchor: the graph the product keeps in its cache, run with nothing around it
(sentences tokenized beforehand and sorted by length over the whole set, so padding is the
least it can be), at each thread count and batch size of the grid; its best is the ceiling.
The product is `embed` as the engine calls it (CHECKPOINT_ROWS texts a call), tokenizing,
padding and pooling included. Rounds interleave every configuration, so a busy neighbour
slows them alike: compare ratios within a round, not figures across runs. CPU seconds are
reported beside wall seconds because on a shared machine they are the steadier figure.

Measured and left out of the grid: I/O binding (inputs and output bound to CPU memory) did
85-89 sentences per CPU second against 87-88 without; onnxruntime's memory arena 91-97 against
85-88, but the process then kept 23 MB more after embedding 2,000 git docs sentences (197 MB
against 174), which is what the product turned the arena off for.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.memory import return_freed_memory  # noqa: E402
from bot.search.engine import CHECKPOINT_ROWS, Engine  # noqa: E402
from bot.search.models import embedding  # noqa: E402
from bot.search.models.embedding import Embedder, default_model  # noqa: E402

SETS = {"default": ROOT / "corpus", "gitdoc": ROOT / "bench" / "gitdoc" / "corpus"}
COPIES = 4  # the default corpus's 156 sentences, 4 times: enough for a steady rate
SAMPLE = 600  # git docs' sentences sampled (of 4,385): a pass takes seconds, not a minute
BUDGETS = (128, 256, 512, 2048)  # word pieces a batch may hold (its longest sentence × its size)


def texts_of(name: str, seed: int = 7) -> list[str]:
    """What the product embeds for a set's sentences: each with its title and section heading after it (Engine._model_text)."""
    engine = Engine.from_dir(SETS[name])
    texts = [engine._model_text(doc) for doc in range(len(engine.indexed))]
    if name == "default":
        return texts * COPIES
    return random.Random(seed).sample(texts, min(SAMPLE, len(texts)))


def compare(names: Sequence[str], rounds: int, threads: Sequence[int] | None = None) -> dict:
    """Sentences/s (wall and CPU) for the product and each raw configuration, per set and round."""
    return_freed_memory()  # as `python -m bot` does: the C library's allocation costs are the product's
    cores = embedding.cores()
    grid = [(t, budget) for t in (threads or sorted({1, cores})) for budget in BUDGETS]
    with tempfile.TemporaryDirectory() as cache:
        product = Embedder(default_model(), cache=Path(cache))
        (graph,) = Path(cache).glob("*.onnx")
        sessions = {t: raw_session(str(graph), t) for t, _ in grid}
        results: dict = {"cores": cores, "product_threads": product.threads, "sets": {}}
        for name in names:
            texts = texts_of(name)
            ids = sorted((e.ids for e in product._tokenizer.encode_batch(texts)), key=len)
            runs: dict[str, list[tuple[float, float]]] = {"product": []}
            for _ in range(rounds):
                for t, budget in grid:
                    runs.setdefault(f"raw {t}t/{budget}", []).append(rate(len(ids), lambda s=sessions[t], b=budget: run_raw(s, ids, b)))
                runs["product"].append(rate(len(texts), lambda: embed_as_engine(product, texts)))
            results["sets"][name] = {"sentences": len(texts), "tokens_mean": float(np.mean([len(i) for i in ids])), **summary(runs)}
    return results


def raw_session(graph: str, threads: int):
    """The kept graph with the product's own session options (embedding.session_options), only the threads varied."""
    import onnxruntime

    options = embedding.session_options(threads)
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL  # already optimized
    return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def run_raw(session, ids: list[list[int]], budget: int) -> None:
    """Every sentence through the session in batches of at most `budget` word pieces; outputs dropped."""
    first = 0
    while first < len(ids):
        size = embedding.batch_size(len(ids[min(first + embedding.BATCH_SIZE, len(ids)) - 1]), budget)
        batch = ids[first : first + size]
        first += size
        width = len(batch[-1])
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros_like(input_ids)
        for row, tokens in enumerate(batch):
            input_ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        session.run(None, {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)})


def embed_as_engine(embedder: Embedder, texts: list[str]) -> None:
    """As Engine.with_vectors calls it: CHECKPOINT_ROWS texts at a time."""
    for start in range(0, len(texts), CHECKPOINT_ROWS):
        embedder.embed(texts[start : start + CHECKPOINT_ROWS])


def rate(n: int, work: Callable[[], None]) -> tuple[float, float]:
    """(sentences per wall second, sentences per CPU second of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return n / (time.perf_counter() - wall), n / (time.process_time() - cpu)


def summary(runs: dict[str, list[tuple[float, float]]]) -> dict:
    """Medians per configuration, the best raw one, and the product's share of it round by round."""
    raw = {k: v for k, v in runs.items() if k != "product"}
    best = max(raw, key=lambda k: statistics.median(w for w, _ in raw[k]))
    return {
        "rates": {k: {"wall": [w for w, _ in v], "cpu": [c for _, c in v]} for k, v in runs.items()},
        "best_raw": best,
        "share_wall": [p[0] / r[0] for p, r in zip(runs["product"], raw[best])],
        "share_cpu": [p[1] / r[1] for p, r in zip(runs["product"], raw[best])],
    }


def table(results: dict) -> str:
    """Markdown: one row per configuration and set, median sentences/s wall (CPU), and the product's share."""
    names = list(results["sets"])
    lines = [
        f"Cores: {results['cores']}; the product runs {results['product_threads']} threads. "
        "Median sentences/s over the rounds, wall (per CPU second).",
        "",
        "| configuration | " + " | ".join(f"{n} ({results['sets'][n]['sentences']} sentences, "
                                          f"{results['sets'][n]['tokens_mean']:.0f} pieces)" for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for key in results["sets"][names[0]]["rates"]:
        cells = []
        for n in names:
            r = results["sets"][n]["rates"][key]
            star = " ← best raw" if results["sets"][n]["best_raw"] == key else ""
            cells.append(f"{statistics.median(r['wall']):.0f} ({statistics.median(r['cpu']):.0f}){star}")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    shares = [_range(results["sets"][n]["share_wall"]) + " wall, " + _range(results["sets"][n]["share_cpu"]) + " CPU" for n in names]
    lines.append("| product ÷ best raw, range over rounds | " + " | ".join(shares) + " |")
    return "\n".join(lines)


def _range(values: list[float]) -> str:
    return f"{min(values):.0%}–{max(values):.0%}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sets", default="default,gitdoc", help=f"comma-separated, of {', '.join(SETS)}")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="", help="raw thread counts (default: 1 and the cores)")
    args = parser.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",") if t] or None
    load = os.getloadavg()
    results = compare([n for n in args.sets.split(",") if n], args.rounds, threads)
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; after: {os.getloadavg()[0]:.2f}\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
