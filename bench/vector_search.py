"""Searching every sentence's vector: exact search over int8 rows against binary codes and HNSW, by measurement.

    python bench/vector_search.py                              # 100k and 1M vectors, 200 questions, seed 7
    python bench/vector_search.py --sizes 100000 --queries 100
    python bench/vector_search.py --methods binary-hnsw16-300,binary-hnsw16-300-pread

The vectors are synthetic unit vectors in 384 dimensions (all-MiniLM-L6-v2's width), made clustered as
sentence vectors are: a direction every vector shares (sentence models' vectors are not centred), one
of n/50 topic centres (an article's sentences) and noise as large as the centre, so a sentence is at
cosine about 0.5 from its topic's others and about 0.05 from the rest. A question is a fresh point of a
random topic, so its true 30 nearest are near-ties among its topic's 50: a hard case for recall, which
uniform vectors would not be. The truth is exact float32 search over the unquantized vectors.

Each method runs in a fresh child process on one thread, reading the files (bench/.data/, git-ignored)
memory-mapped as the bot would; its RSS is its own, file pages included. Methods:
* int8 exact: every row, in chunks of 65,536 turned to float32 and multiplied (numpy, BLAS).
* binary + int8: sign bits (48 bytes a row), Hamming distance to every row, then the best R rows re-scored from int8.
* usearch HNSW (i8): connectivity 16, expansion_add 128; `ef` is expansion_search. Its file is viewed (mmap).
* usearch exact (i8): usearch's own brute force over the int8 rows (SIMD).
* binary HNSW + int8 (`binary-hnsw<links>-<R>`): a usearch graph over the int8 rows' sign bits (dtype b1,
  Hamming; <links> links a node, expansion_add 128, its file viewed), searched for the best R, which are
  re-scored from the int8 rows: read from the memory-mapped file, or with `-pread`, by one pread a row
  from a file descriptor, so no page of the rows file is mapped into the process (the kernel maps up to
  16 neighbouring cached pages on each fault of a mapping, MADV_RANDOM or not).
* the bot's sign bits compared with every row (`signs-<R>`): `nearest.Nearest` as the bot serves past
  GRAPH_UP_TO rows: the sign bits of the int8 rows in a file (`signs.bits`, written by `Nearest.build` from
  the rows read by pread a chunk at a time), memory-mapped, compared with the question's; the best R re-scored
  from the int8 rows read by pread (`vectors.RowFile`).
The graphs are built when a method first needs them (their build's CPU time and file size are reported).
This is a report, not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from probe import mapped_mb  # noqa: E402  (bench/ is on sys.path when run as a script)

from bot.search.index.vectors import quantize  # noqa: E402

DATA = ROOT / "bench" / ".data" / "vector-search"
DIMENSIONS = 384
TOPIC_SIZE = 50
SHARED_WEIGHT = 0.3
K = 30
CHUNK = 65_536
METHODS = (
    "int8-exact",
    "binary-200",
    "binary-1000",
    "usearch-hnsw-ef64",
    "usearch-hnsw-ef128",
    "usearch-exact",
    "binary-hnsw16-100",
    "binary-hnsw16-200",
    "binary-hnsw16-300",
    "binary-hnsw16-500",
    "binary-hnsw16-300-pread",
)


def prepare(size: int, queries: int, seed: int) -> Path:
    """Write the int8 rows, the sign bits, the questions, the exact float32 truth and the HNSW index (once per size and seed)."""
    folder = DATA / f"seed{seed}-{size}"
    if (folder / "done.json").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    shared = _unit(rng.standard_normal(DIMENSIONS))
    centres = _unit(rng.standard_normal((max(1, size // TOPIC_SIZE), DIMENSIONS))).astype(np.float32)
    asked = _points(rng, shared, centres, rng.integers(0, len(centres), queries))
    rows = np.lib.format.open_memmap(folder / "int8.npy", mode="w+", dtype=np.int8, shape=(size, DIMENSIONS))
    bits = np.lib.format.open_memmap(folder / "bits.npy", mode="w+", dtype=np.uint8, shape=(size, DIMENSIONS // 8))
    best: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # float32, int8 and per-row int8: running top K per question
    for start in range(0, size, CHUNK):
        stop = min(size, start + CHUNK)
        chunk = _points(rng, shared, centres, rng.integers(0, len(centres), stop - start))
        quantized = quantize(chunk)
        rows[start:stop] = quantized
        bits[start:stop] = np.packbits(chunk > 0, axis=1)
        row_scale = 127 / np.abs(chunk).max(axis=1, keepdims=True)
        per_row = np.rint(chunk * row_scale) / row_scale
        for name, matrix in (("float32", chunk), ("int8", quantized.astype(np.float32)), ("int8-per-row", per_row)):
            _merge(best, name, matrix @ asked.T, start)
    rows.flush()
    bits.flush()
    del rows, bits
    truth = best["float32"][1]
    np.save(folder / "queries.npy", asked)
    np.save(folder / "truth.npy", truth)
    quantization = {name: _recall(best[name][1], truth) for name in ("int8", "int8-per-row")}
    (folder / "done.json").write_text(json.dumps({"quantization_recall": quantization}))
    return folder


def synthetic_rows(count: int, seed: int) -> np.ndarray:
    """`count` clustered int8 rows made as `prepare` makes them (for benchmarks of the whole engine)."""
    rng = np.random.default_rng(seed)
    shared = _unit(rng.standard_normal(DIMENSIONS))
    centres = _unit(rng.standard_normal((max(1, count // TOPIC_SIZE), DIMENSIONS))).astype(np.float32)
    rows = np.empty((count, DIMENSIONS), dtype=np.int8)
    for start in range(0, count, CHUNK):
        stop = min(count, start + CHUNK)
        rows[start:stop] = quantize(_points(rng, shared, centres, rng.integers(0, len(centres), stop - start)))
    return rows


def _points(rng: np.random.Generator, shared: np.ndarray, centres: np.ndarray, topics: np.ndarray) -> np.ndarray:
    noise = rng.standard_normal((len(topics), DIMENSIONS)) / np.sqrt(DIMENSIONS)
    return _unit(SHARED_WEIGHT * shared + centres[topics] + noise).astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _merge(best: dict[str, tuple[np.ndarray, np.ndarray]], name: str, scores: np.ndarray, offset: int) -> None:
    """Keep each question's K best (score, row) over the chunks seen so far."""
    top = np.argpartition(-scores, K - 1, axis=0)[:K].T  # (questions, K)
    found_scores = np.take_along_axis(scores.T, top, axis=1)
    found_rows = top + offset
    if name in best:
        found_scores = np.concatenate([best[name][0], found_scores], axis=1)
        found_rows = np.concatenate([best[name][1], found_rows], axis=1)
    keep = np.argsort(-found_scores, axis=1)[:, :K]
    best[name] = (np.take_along_axis(found_scores, keep, axis=1), np.take_along_axis(found_rows, keep, axis=1))


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / K for f, t in zip(found, truth)]))


def graph_file(method: str) -> str | None:
    """The graph file a method searches (None: it searches none)."""
    if method.startswith("usearch-hnsw"):
        return "hnsw-i8.usearch"
    if method.startswith("binary-hnsw"):
        return f"hnsw-b1-{_links(method)}.usearch"
    return None


def _links(method: str) -> int:
    return int(method.split("-")[1].removeprefix("hnsw"))


def build_graph(folder: Path, name: str) -> dict:
    """Build and save one graph over the int8 rows (once per size and seed): its build's CPU seconds (one thread) and size."""
    from usearch.index import Index

    path = folder / name
    built = folder / f"{name}.json"
    if built.exists() and path.exists():
        return json.loads(built.read_text())
    rows = np.load(folder / "int8.npy", mmap_mode="r")
    if name == "hnsw-i8.usearch":
        index = Index(ndim=DIMENSIONS, metric="cos", dtype="i8", connectivity=16, expansion_add=128)
    else:
        links = int(name.split("-")[2].split(".")[0])
        index = Index(ndim=DIMENSIONS, metric="hamming", dtype="b1", connectivity=links, expansion_add=128)
    started = time.thread_time()
    for start in range(0, len(rows), CHUNK):
        chunk = np.asarray(rows[start : start + CHUNK])
        if name != "hnsw-i8.usearch":
            chunk = np.packbits(chunk > 0, axis=1)
        index.add(np.arange(start, start + len(chunk)), chunk, threads=1)
    elapsed = time.thread_time() - started
    index.save(str(path))
    found = {"build_cpu_s": elapsed, "file_mb": path.stat().st_size / 2**20}
    built.write_text(json.dumps(found))
    return found


def _row_file(rows: np.memmap):
    import os

    from bot.search.index.vectors import RowFile

    return RowFile(os.open(rows.filename, os.O_RDONLY), rows.offset, len(rows), rows.shape[1])


def _as_signs(nearest) -> None:
    """Make `nearest` (the module) serve any row count past 0 from sign bits, as it does past GRAPH_UP_TO."""
    nearest.EXACT_UP_TO = 0
    nearest.GRAPH_UP_TO = 0


def build_signs(folder: Path) -> dict:
    """Write the bot's sign-bits file for the int8 rows (once per size and seed): the build's CPU seconds and peak RSS."""
    from bot.search.index import nearest

    path = folder / "signs.bits"
    built = folder / "signs.bits.json"
    if built.exists() and path.exists():
        return json.loads(built.read_text())
    _as_signs(nearest)
    rows = np.load(folder / "int8.npy", mmap_mode="r")
    started = time.process_time()
    nearest.Nearest.build(rows, file=_row_file(rows), path=path)
    found = {"build_cpu_s": time.process_time() - started, "file_mb": path.stat().st_size / 2**20, **_memory()}
    built.write_text(json.dumps(found))
    return found


def measure(method: str, folder: Path) -> dict:
    """One method's recall@K against exact float32 and its latency per question, in this (fresh) process."""
    rows = np.load(folder / "int8.npy", mmap_mode="r")
    asked = np.load(folder / "queries.npy")
    truth = np.load(folder / "truth.npy")
    search = _searcher(method, folder, rows)
    search(asked[0])  # first touch of the files
    timings, cpu, found = [], [], []
    for question in asked:
        started, started_cpu = time.perf_counter(), time.thread_time()
        found.append(search(question))
        cpu.append((time.thread_time() - started_cpu) * 1000)
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "recall": _recall(np.array(found), truth),
        "p50_ms": statistics.median(timings),
        "p99_ms": float(np.percentile(timings, 99)),
        "cpu_p50_ms": statistics.median(cpu),
        "cpu_p99_ms": float(np.percentile(cpu, 99)),
        **_memory(),
        "files": {name: mb for name, mb in mapped_mb().items() if name.endswith((".npy", ".usearch", ".bits"))},
    }


def _searcher(method: str, folder: Path, rows: np.ndarray):
    if method == "int8-exact":
        return lambda q: _top(_int8_scores(rows, q), K)
    if method.startswith("signs-"):
        from bot.search.index import nearest

        _as_signs(nearest)
        nearest.SIGNS_SHORTLIST = int(method.split("-")[1])
        found = nearest.Nearest.load(rows, folder / "signs.bits", _row_file(rows))
        assert found is not None and found.bits is not None
        return lambda q: found.top(q, K)
    if method.startswith("binary-") and not method.startswith("binary-hnsw"):
        shortlist = int(method.split("-")[1])
        bits = np.load(folder / "bits.npy", mmap_mode="r").view(np.uint64)

        def binary(q: np.ndarray) -> np.ndarray:
            code = np.packbits(q > 0).view(np.uint64)
            distance = np.bitwise_count(bits ^ code).sum(axis=1, dtype=np.uint16)
            near = np.sort(np.argpartition(distance, shortlist - 1)[:shortlist])
            return near[_top(rows[near].astype(np.float32) @ q, K)]

        return binary
    from usearch.index import Index, search

    if method.startswith("usearch-hnsw"):
        index = Index.restore(str(folder / "hnsw-i8.usearch"), view=True)
        index.expansion_search = int(method.split("ef")[1])
        return lambda q: index.search(quantize(q), K, threads=1).keys
    if method.startswith("binary-hnsw"):
        graph = Index.restore(str(folder / graph_file(method)), view=True, enable_key_lookups=False)
        breadth = int(method.split("-")[2])
        graph.expansion_search = breadth
        read = _pread_rows(rows) if method.endswith("-pread") else lambda near: rows[near]

        def binary_graph(q: np.ndarray) -> np.ndarray:
            near = np.sort(graph.search(np.packbits(q > 0), breadth, threads=1).keys.astype(np.int64))
            return near[_top(read(near).astype(np.float32) @ q, K)]

        return binary_graph
    if method == "usearch-exact":
        return lambda q: search(rows, quantize(q), K, metric="cos", exact=True, threads=1).keys
    raise ValueError(method)


def _pread_rows(rows: np.memmap):
    """A reader of chosen rows by pread: their pages are read through the page cache but never mapped here."""
    import os

    fd = os.open(rows.filename, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
    width = rows.shape[1]

    def read(near: np.ndarray) -> np.ndarray:
        out = np.empty((len(near), width), dtype=np.int8)
        view = memoryview(out).cast("B")
        for i, row in enumerate(near.tolist()):
            os.preadv(fd, [view[i * width : (i + 1) * width]], rows.offset + row * width)
        return out

    return read


def _int8_scores(rows: np.ndarray, q: np.ndarray) -> np.ndarray:
    scores = np.empty(len(rows), dtype=np.float32)
    for start in range(0, len(rows), CHUNK):
        scores[start : start + CHUNK] = rows[start : start + CHUNK].astype(np.float32) @ q
    return scores


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    best = np.argpartition(-scores, k - 1)[:k]
    return best[np.argsort(-scores[best], kind="stable")]


def _memory() -> dict:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {name: int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "RssAnon", "RssFile", "VmHWM")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--queries", default=200, type=int)
    parser.add_argument("--seed", default=7, type=int)
    parser.add_argument("--methods", default=",".join(METHODS), type=lambda s: s.split(","))
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child[0], Path(args.child[1]))))
        return 0
    results: dict[int, dict] = {}
    for size in args.sizes:
        print(f"{size:,} vectors: preparing", file=sys.stderr, flush=True)
        folder = prepare(size, args.queries, args.seed)
        results[size] = {"prepared": json.loads((folder / "done.json").read_text()), "graphs": {}}
        for name in dict.fromkeys(filter(None, map(graph_file, args.methods))):
            print(f"{size:,} vectors: building {name}", file=sys.stderr, flush=True)
            results[size]["graphs"][name] = build_graph(folder, name)
        if any(method.startswith("signs-") for method in args.methods):
            print(f"{size:,} vectors: writing the sign-bits file", file=sys.stderr, flush=True)
            results[size]["graphs"]["signs.bits"] = build_signs(folder)
        for method in args.methods:
            print(f"{size:,} vectors: {method}", file=sys.stderr, flush=True)
            out = subprocess.run([sys.executable, __file__, "--child", method, str(folder)], capture_output=True, text=True, check=True)
            results[size][method] = json.loads(out.stdout)
    print(_table(results, args.methods))
    return 0


def _table(results: dict[int, dict], methods: list[str]) -> str:
    sizes = list(results)
    lines = ["| method | " + " | ".join(f"{size:,}: recall@{K} / p50 / p99 ms (CPU p50 / p99) / RSS (file) MB" for size in sizes) + " |"]
    lines.append("|---" * (len(sizes) + 1) + "|")
    for method in methods:
        cells = [
            f"{r['recall']:.3f} / {r['p50_ms']:.2f} / {r['p99_ms']:.2f} ({r['cpu_p50_ms']:.2f} / {r['cpu_p99_ms']:.2f}) / {r['VmRSS']:.0f} ({r['RssFile']:.0f})"
            for r in (results[size][method] for size in sizes)
        ]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    for size in sizes:
        prepared = results[size]["prepared"]
        quantization = ", ".join(f"{name} {value:.3f}" for name, value in prepared["quantization_recall"].items())
        graphs = "; ".join(f"{name} built in {g['build_cpu_s']:.0f} CPU s (1 thread), {g['file_mb']:.0f} MB" + (f" (peak RSS {g['VmHWM']:.0f} MB)" if 'VmHWM' in g else "") for name, g in results[size]["graphs"].items())
        lines.append(f"\n{size:,}: exact search's recall@{K} against float32: {quantization}; {graphs or 'no graph'}")
        for method in methods:
            files = ", ".join(f"{name} {mb:.0f}" for name, mb in results[size][method]["files"].items())
            lines.append(f"{size:,} {method}: mapped files' RSS (MB): {files or 'none'}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
