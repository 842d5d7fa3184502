"""The sentences nearest a question's vector, searched among every sentence's int8 row.

Chosen by bench/vector_search.py (clustered synthetic vectors, one thread, recall@30 against exact
float32 search): at 100,000 rows numpy's exact search took 42 ms of CPU a question (each chunk turned
to float32, then multiplied), sign bits with int8 re-scoring 3.3 ms, usearch's exact int8 search
10.9 ms and its HNSW graph 0.4 ms, at the same recall (0.975-0.979, int8's own limit). At a million
rows they took 372, 45, 109 and 1.7 ms (the graph searching wider, recall 0.949 against 0.975): only
the graph leaves room for the rest of a 20 ms answer (README, "Vector search"). Past EXACT_UP_TO rows a usearch HNSW graph over the int8 rows is searched,
saved beside them and memory-mapped (`view`), like them; below it every row is compared, exactly,
with usearch's SIMD.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from bot.search.index.store import FILE_MODE, StoreError
from bot.search.index.vectors import SCALE, quantize

if TYPE_CHECKING:
    from usearch.index import Index

# Up to this many rows, exact search: 2.7 ms of CPU at 20,000 rows of 384 (usearch, one thread),
# and no graph to build (a graph costs about 0.7 ms of CPU a row to build at 100,000: 73 s).
EXACT_UP_TO = 20_000
# The graph's shape: 16 links a node, 128 candidates weighed while adding. Searching weighs
# SEARCH_BREADTH: 64 found 0.975 of float32's best 30 at 100,000 rows (0.4 ms) but 0.881 at 1,000,000;
# 128 found 0.949 there in 1.7 ms of CPU (exact int8 search: 0.975 in 372 ms).
CONNECTIVITY = 16
EXPANSION_ADD = 128
SEARCH_BREADTH = 128
GRAPH_FILE = "{vectors}.{keys}.usearch"  # the vectors file's name, then the first 16 hex digits of its keys' SHA-256
_ADD_CHUNK = 16_384

Progress = Callable[[int, int], None]  # (rows indexed, all rows)


def cosines(rows: np.ndarray, question: np.ndarray) -> np.ndarray:
    """The cosine of each int8 row with the question's unit vector (within the rows' rounding)."""
    return (np.asarray(rows).astype(np.float32) @ question) / SCALE


def graph_path(vectors: Path, keys_sha256: str) -> Path:
    """Where the graph over a vectors file's rows is saved: named by their keys (the same keys and model, the same rows)."""
    return vectors.with_name(GRAPH_FILE.format(vectors=vectors.name, keys=keys_sha256[:16]))


class Nearest:
    """Every row searched for the question's nearest: exactly, or through an HNSW graph past EXACT_UP_TO rows."""

    def __init__(self, rows: np.ndarray, graph: Index | None = None) -> None:
        self.rows = rows
        self.graph = graph

    @classmethod
    def build(cls, rows: np.ndarray, progress: Progress | None = None) -> Nearest:
        """Search over `rows`, making the graph if there are more than EXACT_UP_TO of them."""
        if len(rows) <= EXACT_UP_TO:
            return cls(rows)
        from usearch.index import Index  # imported when first needed: 65 ms of every start with SEMANTIC=off

        graph = Index(ndim=rows.shape[1], metric="cos", dtype="i8", connectivity=CONNECTIVITY, expansion_add=EXPANSION_ADD)
        for start in range(0, len(rows), _ADD_CHUNK):
            chunk = np.asarray(rows[start : start + _ADD_CHUNK])
            graph.add(np.arange(start, start + len(chunk)), chunk)
            if progress is not None:
                progress(start + len(chunk), len(rows))
        graph.expansion_search = SEARCH_BREADTH
        return cls(rows, graph)

    @classmethod
    def load(cls, rows: np.ndarray, path: Path) -> Nearest | None:
        """The search saved at `path` for these rows (None: no graph there); StoreError if it does not fit them."""
        if len(rows) <= EXACT_UP_TO:
            return cls(rows)
        if not path.exists():
            return None
        from usearch.index import Index, ScalarKind

        try:
            meta = Index.metadata(str(path))
            if meta is None or meta["count_present"] != len(rows) or meta["dimensions"] != rows.shape[1] or meta["kind_scalar"] != ScalarKind.I8:
                raise StoreError(f"{path} does not fit the {len(rows):,} saved vectors")
            graph = Index.restore(str(path), view=True)
        except (RuntimeError, ValueError, OSError) as error:
            raise StoreError(f"{path} is damaged or unreadable: {error}") from error
        if graph is None:
            raise StoreError(f"{path} is not a vector graph")
        graph.expansion_search = SEARCH_BREADTH
        return cls(rows, graph)

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

    def top(self, question: np.ndarray, n: int) -> np.ndarray:
        """The `n` rows nearest the question, best first."""
        n = min(n, len(self.rows))
        if not n:
            return np.empty(0, dtype=np.int64)
        wanted = quantize(question)
        if self.graph is None:
            from usearch.index import search

            found = search(self.rows, wanted, n, metric="cos", exact=True, threads=1)
        else:
            found = self.graph.search(wanted, n, threads=1)
        return np.asarray(found.keys, dtype=np.int64)
