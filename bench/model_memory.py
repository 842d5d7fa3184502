"""Memory, speed and agreement of the sentence model as loaded plain and through `lighten`.

Each variant is measured in fresh processes, since RSS does not come down within one:
RSS added by loading the Embedder (VmRSS; VmHWM is the peak, including `lighten` itself), and
after 50 questions and after a batch; query latency p50 (one 14-token question); batch
throughput on every 10th WikiQA sentence; all with 1 intra-op thread, as on a 1 vCPU VPS. The
timed runs are repeated and the median printed. Agreement with the unmodified model is the
cosine between the two models' vectors for all the WikiQA sentences, taken once per graph.

    python bench/model_memory.py                   # every variant, 3 runs each
    python bench/model_memory.py --repeats 5 --variants original both-no-arena

"both-no-arena" is what the Embedder now does; the variants before it keep the arena on to compare
the rewrites alone; "both-no-arena-mmap" also runs with MALLOC_MMAP_THRESHOLD_=131072 (glibc).

DynamicQuantizeMatMul, the op `lighten` does not use, is built here with the `onnx` package
(a test dependency) only to show why: see `dynamic_quantize_matmul`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from probe import latency_ms, peak_rss_mb, rss_mb, timed

ROOT = Path(__file__).resolve().parent.parent
WIKIQA = Path("/work/shared/data/wikiqa/corpus")
QUESTION = "How did African immigration to the United States change after 1965?"  # 14 word pieces
QUERY_RUNS = 50


@dataclass(frozen=True)
class Variant:
    """How the Embedder's session is made: which rewrites, and onnxruntime's CPU memory arena on or off."""

    rewrite: str  # "none", "gathers", "matmuls", "both", "both-128" (blocks of 128), "gathers+dqmm"
    arena: bool = True
    # glibc: a fixed mmap threshold stops it from raising the threshold after large frees, so freed
    # activation buffers go back to the system instead of staying in the heap.
    fixed_mmap_threshold: bool = False

    @property
    def graph(self) -> str:
        """Variants with the same graph give the same vectors: agreement is measured once per graph."""
        return self.rewrite


VARIANTS = {
    "original": Variant("none"),
    "gathers": Variant("gathers"),
    "matmuls": Variant("matmuls"),
    "both": Variant("both"),
    "both-128": Variant("both-128"),
    "gathers+dqmm": Variant("gathers+dqmm"),
    "original-no-arena": Variant("none", arena=False),
    "both-no-arena": Variant("both", arena=False),
    "both-no-arena-mmap": Variant("both", arena=False, fixed_mmap_threshold=True),
}


def install(variant: Variant) -> None:
    """Make `Embedder` load the model as `variant` says (the product always uses `lighten` with defaults)."""
    import onnxruntime

    from bot.search.models import embedding
    from bot.search.models import graph as model_graph

    rewrites = {
        "none": lambda model: str(embedding.default_model().model),  # the file itself, as before `lighten`
        "gathers": lambda model: model_graph.lighten(model, matmuls=False),
        "matmuls": lambda model: model_graph.lighten(model, gathers=False),
        "both": model_graph.lighten,
        "both-128": model_graph.lighten,
        "gathers+dqmm": lambda model: dynamic_quantize_matmul(model_graph.lighten(model, matmuls=False)),
    }
    if variant.rewrite == "both-128":
        model_graph.BLOCK_SIZE = 128
    embedding.lighten = rewrites[variant.rewrite]
    session = onnxruntime.InferenceSession

    def make_session(model: bytes | str, options: onnxruntime.SessionOptions, **kwargs: object) -> onnxruntime.InferenceSession:
        options.enable_cpu_mem_arena = variant.arena
        return session(model, options, **kwargs)

    onnxruntime.InferenceSession = make_session


def dynamic_quantize_matmul(model: bytes) -> bytes:
    """Each MatMul over `Mul(Cast(W_q), per-column scale)` as com.microsoft.DynamicQuantizeMatMul.

    That op quantizes all of A with one uint8 scale per call; the vectors it gives miss the
    agreement bar, which is why `lighten` uses MatMulNBits instead.
    """
    import onnx
    from onnx import helper, numpy_helper

    proto = onnx.load_from_string(model)
    graph = proto.graph
    initializers = {t.name: t for t in graph.initializer}
    producers = {output: node for node in graph.node for output in node.output}
    nodes, dead = [], set()
    for node in graph.node:
        mul = producers.get(node.input[1]) if node.op_type == "MatMul" else None
        cast = producers.get(mul.input[0]) if mul is not None and mul.op_type == "Mul" else None
        if cast is None or cast.op_type != "Cast" or mul.input[1] not in initializers:
            nodes.append(node)
            continue
        scale = numpy_helper.to_array(initializers[mul.input[1]]).reshape(-1)
        column = numpy_helper.from_array(scale, f"{mul.input[1]}_column")
        graph.initializer.append(column)
        nodes.append(helper.make_node(
            "DynamicQuantizeMatMul", [node.input[0], cast.input[0], column.name], list(node.output),
            name=node.name, domain="com.microsoft",
        ))
        dead |= {mul.output[0], cast.output[0], mul.input[1]}
    del graph.node[:]
    graph.node.extend(n for n in nodes if n.output[0] not in dead)
    kept = [t for t in graph.initializer if t.name not in dead]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    proto.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return proto.SerializeToString()


def child(variant: Variant, texts_path: Path, vectors_path: Path | None) -> dict:
    """One fresh process: load, 50 questions, a batch; `vectors_path`: also embed everything and save."""
    if variant.rewrite == "gathers+dqmm":
        import onnx  # noqa: F401  (imported before the baseline: its 17 MB are the bench's, not the model's)
    from bot.search.models.embedding import Embedder, default_model

    install(variant)
    texts = json.loads(texts_path.read_text())
    before = rss_mb()
    embedder, load_s = timed(lambda: Embedder(default_model(), threads=1))
    loaded = {"rss": rss_mb() - before, "hwm": peak_rss_mb() - before}
    seconds = [timed(embedder.embed, [QUESTION])[1] for _ in range(QUERY_RUNS)]
    queried = {"rss": rss_mb() - before, "hwm": peak_rss_mb() - before}
    subset = texts[::10]
    cpu = time.process_time()
    _, batch_s = timed(embedder.embed, subset)
    batch_cpu_s = time.process_time() - cpu
    result = {
        "baseline_mb": before,
        "load_s": load_s,
        "load": loaded,
        "queries": queried,
        "batch": {"rss": rss_mb() - before, "hwm": peak_rss_mb() - before},
        "p50_ms": latency_ms(seconds)["p50"],
        "sentences_per_s": len(subset) / batch_s,
        "sentences_per_cpu_s": len(subset) / batch_cpu_s,
        "batch_sentences": len(subset),
    }
    if vectors_path is not None:
        np.save(vectors_path, embedder.embed(texts))
    return result


def wikiqa_sentences() -> list[str]:
    """What the engine embeds for WikiQA's articles: its indexed sentences, as the model reads them."""
    from bot.search.engine import Engine

    engine = Engine.from_dir(WIKIQA)
    return [engine._model_text(doc) for doc in range(len(engine.indexed))]


def run_child(name: str, texts: Path, vectors: Path | None) -> dict:
    command = [sys.executable, __file__, "--child", name, "--texts", str(texts)]
    if vectors is not None:
        command += ["--vectors", str(vectors)]
    env = dict(os.environ)
    if VARIANTS[name].fixed_mmap_threshold:
        env["MALLOC_MMAP_THRESHOLD_"] = "131072"
    done = subprocess.run(command, check=False, capture_output=True, text=True, cwd=ROOT, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per variant; the median is shown")
    parser.add_argument("--child", choices=list(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--texts", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--vectors", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(VARIANTS[args.child], args.texts, args.vectors)))
        return

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        texts = wikiqa_sentences()
        (work / "texts.json").write_text(json.dumps(texts))
        print(f"{len(texts):,} WikiQA sentences (batch: every 10th); {args.repeats} fresh processes per variant, median")
        # Interleaved, so that a busy spell on the machine does not fall on one variant only.
        runs: dict[str, list[dict]] = {name: [] for name in args.variants}
        vectors: dict[str, Path] = {}
        for repeat in range(args.repeats):
            for name in args.variants:
                graph = VARIANTS[name].graph
                keep = work / f"{graph}.npy" if repeat == 0 and graph not in vectors else None
                runs[name].append(run_child(name, work / "texts.json", keep))
                if keep is not None:
                    vectors[graph] = keep
        reference = np.load(vectors["none"]) if "none" in vectors else None
        print_table(runs, {graph: np.load(path) for graph, path in vectors.items()}, reference)


def print_table(runs: dict[str, list[dict]], vectors: dict[str, np.ndarray], reference: np.ndarray | None) -> None:
    def median(name: str, pick) -> float:
        return float(np.median([pick(r) for r in runs[name]]))

    def spread(name: str, pick) -> str:
        values = [pick(r) for r in runs[name]]
        return f"{np.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"

    print(
        f"{'variant':<18} {'load MB':>7} {'peak':>5} {'50 q MB':>7} {'batch MB (range)':>16} {'peak':>5}"
        f" {'p50 ms':>6} {'sent/s':>6} {'sent/cpu-s':>10} {'load s':>6} {'cos min':>7} {'cos mean':>8}"
    )
    for name in runs:
        graph = VARIANTS[name].graph
        cosines = (vectors[graph] * reference).sum(axis=1) if reference is not None and graph in vectors else None
        agreement = f"{cosines.min():>7.4f} {cosines.mean():>8.4f}" if cosines is not None else f"{'-':>7} {'-':>8}"
        print(
            f"{name:<18} {median(name, lambda r: r['load']['rss']):>7.0f} {median(name, lambda r: r['load']['hwm']):>5.0f}"
            f" {median(name, lambda r: r['queries']['rss']):>7.0f} {spread(name, lambda r: r['batch']['rss']):>16}"
            f" {median(name, lambda r: r['batch']['hwm']):>5.0f} {median(name, lambda r: r['p50_ms']):>6.1f}"
            f" {median(name, lambda r: r['sentences_per_s']):>6.1f} {median(name, lambda r: r['sentences_per_cpu_s']):>10.1f}"
            f" {median(name, lambda r: r['load_s']):>6.2f} {agreement}"
        )
    baseline = np.median([r["baseline_mb"] for rs in runs.values() for r in rs])
    print(f"MB: RSS added to the process ({baseline:.0f} MB before loading: Python, numpy, onnxruntime, tokenizers);")
    print("peak: VmHWM over the same baseline, after loading and after the batch. sent/cpu-s: the batch's")
    print("sentences per second of this process' CPU time, less disturbed by other jobs than sent/s.")
    print("Cosine: against the unmodified model, all sentences.")


if __name__ == "__main__":
    main()
