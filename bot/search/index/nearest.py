"""The sentences nearest a question's vector, searched among every sentence's int8 row.

Chosen by bench/vector_search.py (clustered synthetic vectors, one thread, recall@30 against exact
float32 search, each method in a fresh process; README, "Vector search"). Up to EXACT_UP_TO rows every
row is compared, exactly, with usearch's SIMD. Past it, a usearch HNSW graph over the rows' sign bits
(48 bytes a row of 384, Hamming distance) is searched for the best SHORTLIST, and those are re-scored
from their int8 rows, read by pread (vectors.RowFile) rather than through the file's mapping. Past
GRAPH_UP_TO rows there is no graph: every row's sign bits, saved once beside the vectors (SIGNS_FILE) and
memory-mapped, are compared with the question's on one thread, and the best SIGNS_SHORTLIST are re-scored
from their int8 rows by pread as the graph's are.

Measured 2026-12-05 at 1,000,000 rows (`nice -n 15 taskset -c 1 .venv/bin/python bench/vector_search.py
--sizes 1000000 --methods binary-hnsw24-300,...`): the previous graph, over the int8 rows themselves,
found 0.949 of float32's best 30 in 1.7 ms of CPU, but it is 532 bytes a row (469 MB at 881,048 rows)
and a search touches pages all over it, so 40 questions made all of it resident. This graph is 260
bytes a row (248 MB at 1,000,000) and finds 0.946 in 1.3 ms (reading the 300 rows by pread adds about
0.6 ms, measured with 32 links); exact int8 search finds 0.975. At 100,000 rows a graph of sign bits
finds what exact int8 search finds (0.978-0.979). At 5,000,000 rows it finds only 0.394 (0.689 searching
3,000), and the graph is 1,241 MB (3,195 s of CPU to build), all of it resident after 200 questions.

Measured 2026-12-05, the sign bits of every row compared (`nice -n 10 taskset -c 1 .venv/bin/python
bench/vector_search.py --sizes 5000000 --methods signs-100,signs-200,signs-300`, then `--sizes 1000000`
and `--sizes 2000000 --methods signs-200`; this module's code, the sign-bits file mapped, rows read by
pread; the core shared with a graph build, so CPU time, not wall): at 5,000,000 rows, best 200 re-scored,
0.977 of float32's best 30 (exact int8 search's own recall) in 88.95 ms of CPU at the median, RSS 281 MB
(the 229 MB file wholly resident: every question reads all of it); writing the file took about 2 s of CPU
and 53 MB at most. At 2,000,000 rows: 0.978 (exact int8's) in 33.40 ms, RSS 148 MB (the file 92),
where the graph found 0.820 (`--methods binary-hnsw24-300-pread`, 496 MB). At 1,000,000 rows: 0.975
(exact int8's) in 15.77 ms, RSS 93 MB (the file 46).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from bot.search.index.store import FILE_MODE, StoreError, write_atomically
from bot.search.index.vectors import SCALE, RowFile, quantize

if TYPE_CHECKING:
    from usearch.index import Index

# Up to this many rows, exact search: 2.7 ms of CPU at 20,000 rows of 384 (usearch, one thread),
# and no graph to build.
EXACT_UP_TO = 20_000
# Up to this many rows the exact search is numpy's, not usearch's: importing usearch costs 37 ms of a
# start (the CLI's first answer, a bot's first question), numpy's cosines over 2,000 rows 0.8 ms a
# question against usearch's 0.2 (random unit vectors quantized, one thread; the same best 30 at 156,
# 2,000 and 20,000 rows). The default articles are 156 rows.
NUMPY_UP_TO = 2_048
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
# Past this many rows, no graph: every row's sign bits (SIGNS_FILE), compared with the question's. At
# 1,000,000 rows (bench/vector_search.py, one thread, CPU p50) the graph found 0.946 of float32's best 30
# in 1.3 ms and is 248 MB; comparing every row's sign bits found 0.975 in 15.77 ms from a 46 MB file: the
# graph, for a 20 ms answer (embedding the question takes about 7 ms). Past it the graph outgrows the 1 GB
# servers (260 bytes a row: 496 MB at 2,000,000, all resident after 200 questions, beside the rest of the
# process, about 350 MB at 881,048 sentences; README, "The engine with the sentence model") and loses
# recall (0.820 at 2,000,000 in 2.21 ms, 954 s of CPU to build; 0.394 at 5,000,000, 1,241 MB), while the
# sign bits keep exact int8 search's recall (0.978 at 2,000,000 in 33.40 ms, 92 MB; 0.977 at 5,000,000 in
# 88.95 ms, 229 MB).
GRAPH_UP_TO = 1_000_000
# Past GRAPH_UP_TO, the rows whose sign bits are nearest the question's (of every row), each re-scored from
# its int8 row. At 5,000,000 rows 100 found 0.975, 200 and 300 0.977 (exact int8 search's recall); at
# 1,000,000 all three 0.975. The comparison with every row is the cost (86-89 ms of CPU at 5,000,000
# whichever), not the 200 preads (about 0.2 ms).
SIGNS_SHORTLIST = 200
# The sign bits of every row past GRAPH_UP_TO: a header (SIGNS_FORMAT, its version, the rows and their width),
# padded to SIGNS_HEADER bytes, then 48 bytes a row in the rows' order. Named as the graph is.
SIGNS_FILE = "{vectors}.{keys}.signs"
SIGNS_FORMAT = "corpus-answer-bot/signs"
SIGNS_VERSION = 1
SIGNS_HEADER = 4096  # the bits start on a page boundary
# Rows whose saved sign bits are compared with their int8 rows' at load (evenly spaced, the first and the last
# among them): a file of other rows, or a damaged start or end, is refused; a damaged byte elsewhere moves
# one row's Hamming distance, as a damaged int8 row moves one cosine (vectors.py does not checksum rows either).
SIGNS_CHECKED = 64
# Rows compared at once: their XOR and bit counts (6 uint64 and 6 bytes a row) stay in the CPU's L2.
_SCAN_CHUNK = 16_384

Progress = Callable[[int, int], None]  # (rows indexed, all rows)


def cosines(rows: np.ndarray, question: np.ndarray) -> np.ndarray:
    """The cosine of each int8 row with the question's unit vector (within the rows' rounding)."""
    return (np.asarray(rows).astype(np.float32) @ question) / SCALE


def signs(rows: np.ndarray) -> np.ndarray:
    """Each int8 row's sign bits, packed 8 to a byte: what the graph holds and compares by Hamming distance."""
    return np.packbits(np.asarray(rows) > 0, axis=-1)


def graph_path(vectors: Path, keys_sha256: str, rows: int = 0) -> Path:
    """Where the search over a vectors file's `rows` rows is saved: named by their keys (the same keys and model,
    the same rows). Their graph, or past GRAPH_UP_TO rows, their sign bits (SIGNS_FILE)."""
    name = SIGNS_FILE if rows > GRAPH_UP_TO else GRAPH_FILE
    return vectors.with_name(name.format(vectors=vectors.name, keys=keys_sha256[:16]))


def stale_graphs(graph: Path) -> list[Path]:
    """Graphs and sign-bits files saved beside `graph` for the same vectors file but other rows, or by the previous version."""
    vectors = graph.name.split(".", 2)  # "vectors-<model>", "int8", then the keys and the kind
    found = [*graph.parent.glob(f"{vectors[0]}.{vectors[1]}.*.usearch"), *graph.parent.glob(f"{vectors[0]}.{vectors[1]}.*.signs")]
    return [other for other in found if other != graph]


def _signs_header(rows: int, dimensions: int) -> bytes:
    record = {"format": SIGNS_FORMAT, "version": SIGNS_VERSION, "rows": rows, "dimensions": dimensions}
    return (json.dumps(record, sort_keys=True).encode() + b"\n").ljust(SIGNS_HEADER, b" ")


def _write_signs(path: Path, shape: tuple[int, ...], chunks: Iterable[np.ndarray]) -> None:
    """The sign-bits file of rows of `shape`: its header, then each chunk of their bits in order, put in place whole."""

    def write(out: BinaryIO) -> None:
        out.write(_signs_header(shape[0], shape[1]))
        out.writelines(np.ascontiguousarray(chunk).tobytes() for chunk in chunks)

    write_atomically(path, write)


def _sign_chunks(rows: np.ndarray, file: RowFile | None, progress: Progress | None):
    """Each chunk of rows' sign bits, in order, reading the int8 rows a chunk at a time (from `file` when given)."""
    for start in range(0, len(rows), _ADD_CHUNK):
        chunk = file.read_range(start, start + _ADD_CHUNK) if file is not None else np.asarray(rows[start : start + _ADD_CHUNK])
        yield signs(chunk)
        if progress is not None:
            progress(start + len(chunk), len(rows))


class Nearest:
    """Every row searched for the question's nearest: exactly, or through a graph of sign bits past EXACT_UP_TO rows.

    `file`, when given, reads the same rows as `rows` without mapping them (vectors.RowFile): re-scoring
    and building the graph read through it, so the rows' pages never become this process's RSS.

    `covered` rows (the first; all of them by default) have a vector: while a build is still embedding the
    rest, only those are searched (`partial`).
    """

    def __init__(
        self,
        rows: np.ndarray,
        graph: Index | None = None,
        file: RowFile | None = None,
        covered: int | None = None,
        bits: np.ndarray | None = None,
        bits_path: Path | None = None,
    ) -> None:
        self.rows = rows
        self.graph = graph
        self.file = file
        self.covered = len(rows) if covered is None else covered
        self.bits = bits  # past GRAPH_UP_TO rows: every row's sign bits, memory-mapped from `bits_path` when saved
        self.bits_path = bits_path

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
    def build(cls, rows: np.ndarray, progress: Progress | None = None, file: RowFile | None = None, path: Path | None = None) -> Nearest:
        """Search over `rows`, making the graph if there are more than EXACT_UP_TO of them, or past GRAPH_UP_TO their sign bits.

        The sign bits are written to `path` (atomically, a chunk of rows at a time, so building holds one chunk
        whatever the rows) and served memory-mapped from it; without `path` they are held in memory (48 bytes a
        row beside rows that are in memory too). The graph is built in memory whatever `path`; `save` writes it.
        """
        if len(rows) <= EXACT_UP_TO:
            return cls(rows, file=file)
        if len(rows) > GRAPH_UP_TO:
            if path is None:
                bits = np.concatenate(list(_sign_chunks(rows, file, progress)))
                return cls(rows, file=file, bits=bits)

            _write_signs(path, rows.shape, _sign_chunks(rows, file, progress))
            loaded = cls.load(rows, path, file)
            assert loaded is not None  # just written
            return loaded
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
        if len(rows) > GRAPH_UP_TO:
            return cls._load_signs(rows, path, file)
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

    @classmethod
    def _load_signs(cls, rows: np.ndarray, path: Path, file: RowFile | None) -> Nearest | None:
        """The sign bits saved at `path`, memory-mapped (None: no file); StoreError if they are not these rows'.

        Reads the header and SIGNS_CHECKED rows' bits by pread (compared with their int8 rows' signs), never
        the whole file: a restart costs the same at any size.
        """
        try:
            with path.open("rb") as saved:
                size = os.fstat(saved.fileno()).st_size
                line = saved.read(SIGNS_HEADER).split(b"\n", 1)[0]
                try:
                    header = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    header = None
                if not isinstance(header, dict) or header.get("format") != SIGNS_FORMAT or header.get("version") != SIGNS_VERSION:
                    raise StoreError(f"{path} is not a sign-bits file of this version")
                if header.get("rows") != len(rows) or header.get("dimensions") != rows.shape[1]:
                    raise StoreError(f"{path} does not fit the {len(rows):,} saved vectors")
                width = (rows.shape[1] + 7) // 8
                if size != SIGNS_HEADER + len(rows) * width:
                    raise StoreError(f"{path} is {size:,} bytes; the sign bits of {len(rows):,} rows take {SIGNS_HEADER + len(rows) * width:,}")
                checked = np.unique(np.linspace(0, len(rows) - 1, SIGNS_CHECKED).astype(np.int64))
                found = np.frombuffer(b"".join(os.pread(saved.fileno(), width, SIGNS_HEADER + int(row) * width) for row in checked), dtype=np.uint8)
                own = file.read(checked) if file is not None else np.asarray(rows[checked])
                if not np.array_equal(found.reshape(-1, width), signs(own)):
                    raise StoreError(f"{path} is damaged: its sign bits are not the saved vectors'")
                bits = np.memmap(saved, dtype=np.uint8, mode="r", offset=SIGNS_HEADER, shape=(len(rows), width))
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StoreError(f"{path} is unreadable: {error}") from error
        return cls(rows, file=file, bits=bits, bits_path=path)

    def save(self, path: Path) -> None:
        """Keep the graph or sign bits (if any) for the next start: written beside, then put in place whole
        (as store.write_atomically)."""
        if self.bits is not None:
            if self.bits_path != path:
                bits = self.bits
                _write_signs(path, self.rows.shape, (bits[start : start + _ADD_CHUNK] for start in range(0, len(bits), _ADD_CHUNK)))
            return
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
        if self.bits is not None:
            near = self._nearest_signs(signs(wanted), max(n, SIGNS_SHORTLIST))
            scores = cosines(self.rows_of(near), question)
            return near[np.argsort(-scores, kind="stable")[:n]]
        if self.graph is None and self.covered <= NUMPY_UP_TO:
            return _exact(np.asarray(self.rows[: self.covered]), wanted, n)
        if self.graph is None:
            from usearch.index import search

            found = search(self.rows[: self.covered], wanted, n, metric="cos", exact=True, threads=1)
            return np.asarray(found.keys, dtype=np.int64)
        near = np.sort(np.asarray(self.graph.search(signs(wanted), max(n, SHORTLIST), threads=1).keys, dtype=np.int64))
        scores = cosines(self.rows_of(near), question)
        return near[np.argsort(-scores, kind="stable")[:n]]

    def _nearest_signs(self, code: np.ndarray, count: int) -> np.ndarray:
        """The `count` rows whose sign bits are nearest `code` by Hamming distance (ties: the earlier row), in row order.

        Every row is compared, _SCAN_CHUNK at a time, on this thread: XOR as 64-bit words, their bits counted,
        the counts added (two words' first in bytes, which cannot overflow: at most 128). The distances take
        2 bytes a row for the question's time (10 MB at 5,000,000 rows).
        """
        bits = self.bits
        assert bits is not None
        total = len(bits)
        count = min(count, total)
        distance = np.empty(total, dtype=np.uint16)
        if bits.shape[1] % 8:  # not a whole number of 64-bit words: bytes (not the sentence model's 384 dimensions)
            for start in range(0, total, _SCAN_CHUNK):
                chunk = np.asarray(bits[start : start + _SCAN_CHUNK])
                np.add.reduce(np.bitwise_count(chunk ^ code), axis=1, dtype=np.uint16, out=distance[start : start + len(chunk)])
        else:
            words = bits.shape[1] // 8
            query = np.ascontiguousarray(code).view(np.uint64)
            xor = np.empty((_SCAN_CHUNK, words), dtype=np.uint64)
            counts = np.empty((_SCAN_CHUNK, words), dtype=np.uint8)
            for start in range(0, total, _SCAN_CHUNK):
                chunk = np.asarray(bits[start : start + _SCAN_CHUNK]).view(np.uint64)
                m = len(chunk)
                np.bitwise_xor(chunk, query, out=xor[:m])
                np.bitwise_count(xor[:m], out=counts[:m])
                pairs = counts[:m, 0 : words - 1 : 2] + counts[:m, 1:words:2] if words > 1 else counts[:m]
                out = distance[start : start + m]
                out[:] = pairs[:, 0]
                for column in range(1, pairs.shape[1]):
                    out += pairs[:, column]
                if words > 1 and words % 2:
                    out += counts[:m, words - 1]
        # The count-th smallest distance, from their histogram (a pass over 2 bytes a row), then the rows within it.
        limit = int(np.searchsorted(np.cumsum(np.bincount(distance)), count))
        near = np.flatnonzero(distance <= limit)
        if len(near) > count:  # ties at the limit: the earlier rows
            near = np.sort(near[np.argsort(distance[near], kind="stable")[:count]])
        return near


def _exact(rows: np.ndarray, wanted: np.ndarray, n: int) -> np.ndarray:
    """The `n` int8 rows of highest cosine with `wanted`, best first (ties: the earlier row), as usearch's "cos" ranks them."""
    floats = rows.astype(np.float32)
    scores = floats @ wanted.astype(np.float32) / np.maximum(np.linalg.norm(floats, axis=1), 1e-12)
    return np.argsort(-scores, kind="stable")[:n].astype(np.int64)

