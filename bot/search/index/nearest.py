"""The sentences nearest a question's vector, searched among every sentence's int8 row.

Chosen by bench/vector_search.py (clustered synthetic vectors, one thread, recall@30 against exact
float32 search, each method in a fresh process; README, "Vector search"). Up to EXACT_UP_TO rows every
row is compared, exactly, with usearch's SIMD. Past it, a usearch HNSW graph over the rows' sign bits
(48 bytes a row of 384, Hamming distance) is searched for the best SHORTLIST, and those are re-scored
from their int8 rows, read by pread (vectors.RowFile) rather than through the file's mapping.

Measured 2026-12-05 at 1,000,000 rows (`nice -n 15 taskset -c 1 .venv/bin/python bench/vector_search.py
--sizes 1000000 --methods binary-hnsw24-300,...`): the previous graph, over the int8 rows themselves,
found 0.949 of float32's best 30 in 1.7 ms of CPU, but it is 532 bytes a row (469 MB at 881,048 rows)
and a search touches pages all over it, so 40 questions made all of it resident. This graph is 260
bytes a row (248 MB at 1,000,000) and finds 0.946 in 1.3 ms (reading the 300 rows by pread adds about
0.6 ms, measured with 32 links); exact int8 search finds 0.975. At 100,000 rows a graph of sign bits
finds what exact int8 search finds (0.978-0.979). At 5,000,000 rows it finds only 0.394 (0.689 searching
3,000): past about a million sentences the semantic signal's recall falls (README, "Vector search").
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.search.index.store import FILE_MODE, StoreError
from bot.search.index.vectors import SCALE, RowFile, quantize

if TYPE_CHECKING:
    from usearch.index import Index

# Up to this many rows, exact search: 2.7 ms of CPU at 20,000 rows of 384 (usearch, one thread),
# and no graph to build.
EXACT_UP_TO = 20_000
# The graph over sign bits: links a node, and candidates weighed while adding. At 1,000,000 rows
# (best 300 re-scored) 16 links found 0.857 of float32's best 30 (187 MB, 281 s of CPU to build),
# 24 found 0.946 (248 MB, 351 s) and 32 found 0.970 (309 MB, 439 s): Hamming distances over sign bits
# guide a search less surely than cosines, so the graph needs more links than the int8 one's 16.
# 24, not 32: its 219 MB at 881,048 rows leave room under a 600 MB server, 32's 272 MB hardly.
# At 100,000 rows 16 links already found 0.978 (19 MB, 11 s).
CONNECTIVITY = 24
EXPANSION_ADD = 128
# Cores adding rows to the graph; 0 is every core (usearch). Rows added at once on several cores are
# linked in whatever order the threads reach them, so the graph differs from build to build: 500
# clustered rows on 2 cores left a topic unreachable in 24 of 200 builds (none on one core). The
# recall figures above were measured with every core, past EXACT_UP_TO rows.
BUILD_THREADS = 0
# Rows the graph proposes (it weighs as many while searching), each re-scored from its int8 row. With
# 24 links at 1,000,000 rows: 300 found 0.946 in 1.3 ms of CPU, 500 found 0.952 in 2.2 ms.
SHORTLIST = 300
# The vectors file's name, then the first 16 hex digits of its keys' SHA-256, then "signs". The int8
# graph of the previous version was "{vectors}.{keys}.usearch": another name, so it is never read as
# this one (and is deleted when this one is saved); its metadata (i8, cos) would be refused too.
GRAPH_FILE = "{vectors}.{keys}.signs.usearch"
_ADD_CHUNK = 16_384

Progress = Callable[[int, int], None]  # (rows indexed, all rows)


def cosines(rows: np.ndarray, question: np.ndarray) -> np.ndarray:
    """The cosine of each int8 row with the question's unit vector (within the rows' rounding)."""
    return (np.asarray(rows).astype(np.float32) @ question) / SCALE


def signs(rows: np.ndarray) -> np.ndarray:
    """Each int8 row's sign bits, packed 8 to a byte: what the graph holds and compares by Hamming distance."""
    return np.packbits(np.asarray(rows) > 0, axis=-1)


def graph_path(vectors: Path, keys_sha256: str) -> Path:
    """Where the graph over a vectors file's rows is saved: named by their keys (the same keys and model, the same rows)."""
    return vectors.with_name(GRAPH_FILE.format(vectors=vectors.name, keys=keys_sha256[:16]))


def stale_graphs(graph: Path) -> list[Path]:
    """Graphs saved beside `graph` for the same vectors file but other rows, or by the previous version."""
    vectors = graph.name.split(".", 2)  # "vectors-<model>", "int8", then the keys and the kind
    return [other for other in graph.parent.glob(f"{vectors[0]}.{vectors[1]}.*.usearch") if other != graph]


class Nearest:
    """Every row searched for the question's nearest: exactly, or through a graph of sign bits past EXACT_UP_TO rows.

    `file`, when given, reads the same rows as `rows` without mapping them (vectors.RowFile): re-scoring
    and building the graph read through it, so the rows' pages never become this process's RSS.

    `covered` rows (the first; all of them by default) have a vector: while a build is still embedding the
    rest, only those are searched (`partial`).
    """

    def __init__(self, rows: np.ndarray, graph: Index | None = None, file: RowFile | None = None, covered: int | None = None) -> None:
        self.rows = rows
        self.graph = graph
        self.file = file
        self.covered = len(rows) if covered is None else covered

    @classmethod
    def partial(cls, rows: np.ndarray, covered: int) -> Nearest:
        """Exact search over the first `covered` of `rows`, a view of them (never a copy), while the build fills in the rest.

        No graph: one is built once, over every row. Exact search costs about 9 ms of CPU a question per
        100,000 rows covered (bench/partial_search.py: 9.38 ms at 100,000, 90.53 at 1,000,000; README,
        "Answering while the vectors are built"), so past a few hundred thousand sentences a question is
        answered more slowly, not worse, until the graph is built.
        """
        return cls(rows, covered=covered)

    @classmethod
    def build(cls, rows: np.ndarray, progress: Progress | None = None, file: RowFile | None = None) -> Nearest:
        """Search over `rows`, making the graph if there are more than EXACT_UP_TO of them."""
        if len(rows) <= EXACT_UP_TO:
            return cls(rows, file=file)
        from usearch.index import Index  # imported when first needed: 65 ms of every start with SEMANTIC=off

        # Key lookups stay on here: usearch 2.25.3 corrupts its heap searching a graph built without them
        # (glibc aborts). A saved graph is opened without them (`load`), which searches cleanly.
        graph = Index(ndim=rows.shape[1], metric="hamming", dtype="b1", connectivity=CONNECTIVITY, expansion_add=EXPANSION_ADD)
        for start in range(0, len(rows), _ADD_CHUNK):
            chunk = file.read_range(start, start + _ADD_CHUNK) if file is not None else np.asarray(rows[start : start + _ADD_CHUNK])
            graph.add(np.arange(start, start + len(chunk)), signs(chunk), threads=BUILD_THREADS)
            if progress is not None:
                progress(start + len(chunk), len(rows))
        graph.expansion_search = SHORTLIST
        return cls(rows, graph, file)

    @classmethod
    def load(cls, rows: np.ndarray, path: Path, file: RowFile | None = None) -> Nearest | None:
        """The search saved at `path` for these rows (None: no graph there); StoreError if it does not fit them."""
        if len(rows) <= EXACT_UP_TO:
            return cls(rows, file=file)
        if not path.exists():
            return None
        from usearch.index import Index, MetricKind, ScalarKind

        try:
            meta = Index.metadata(str(path))
            if (
                meta is None
                or meta["count_present"] != len(rows)
                or meta["dimensions"] != rows.shape[1]
                or meta["kind_scalar"] != ScalarKind.B1
                or meta["kind_metric"] != MetricKind.Hamming
            ):
                raise StoreError(f"{path} does not fit the {len(rows):,} saved vectors")
            # Without key lookups: the table of keys to nodes (about 76 bytes a row, anonymous memory) is
            # only for finding a vector by key, which searching never does.
            graph = Index.restore(str(path), view=True, enable_key_lookups=False)
        except (RuntimeError, ValueError, OSError) as error:
            raise StoreError(f"{path} is damaged or unreadable: {error}") from error
        if graph is None:
            raise StoreError(f"{path} is not a vector graph")
        graph.expansion_search = SHORTLIST
        return cls(rows, graph, file)

    def save(self, path: Path) -> None:
        """Keep the graph (if any) for the next start: written beside, then put in place whole (as store.write_atomically)."""
        if self.graph is None:
            return
        temporary = path.with_name(f".{path.name}.tmp")
        try:
            self.graph.save(str(temporary))  # usearch writes by name, a part at a time (no copy of the graph in memory)
            os.chmod(temporary, FILE_MODE)
            with temporary.open("rb") as file:
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def rows_of(self, docs: np.ndarray) -> np.ndarray:
        """The int8 rows of `docs`, in their order: read from the file when there is one, never through its mapping."""
        return self.file.read(docs) if self.file is not None else np.asarray(self.rows[docs])

    def top(self, question: np.ndarray, n: int) -> np.ndarray:
        """The `n` rows nearest the question, best first."""
        n = min(n, self.covered)
        if not n:
            return np.empty(0, dtype=np.int64)
        wanted = quantize(question)
        if self.graph is None:
            from usearch.index import search

            found = search(self.rows[: self.covered], wanted, n, metric="cos", exact=True, threads=1)
            return np.asarray(found.keys, dtype=np.int64)
        near = np.sort(np.asarray(self.graph.search(signs(wanted), max(n, SHORTLIST), threads=1).keys, dtype=np.int64))
        scores = cosines(self.rows_of(near), question)
        return near[np.argsort(-scores, kind="stable")[:n]]
