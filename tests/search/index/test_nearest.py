"""Searching every sentence's int8 row: exactly up to EXACT_UP_TO rows, past it through a saved graph of
their sign bits whose best SHORTLIST are re-scored from the int8 rows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.search.index import nearest
from bot.search.index.nearest import Nearest, graph_path, stale_graphs
from bot.search.index.store import StoreError
from bot.search.index.vectors import SCALE, load_vectors, quantize, save_vectors

WIDTH = 384  # the sentence model's: sign bits of fewer dimensions say too little about the angle


def unit_rows(count: int, dimensions: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, dimensions)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def clustered(count: int, dimensions: int = WIDTH, seed: int = 0) -> np.ndarray:
    """Rows in topics of about 20, as an article's sentences are: near each other, far from the rest."""
    rng = np.random.default_rng(seed)
    centres = unit_rows(count // 20, dimensions, seed + 1)
    rows = centres[rng.integers(0, len(centres), count)] + rng.standard_normal((count, dimensions)) / np.sqrt(dimensions)
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def best(rows: np.ndarray, question: np.ndarray, n: int) -> set[int]:
    return set(np.argsort(-(rows @ question))[:n].tolist())


def test_exact_search_finds_float32s_best_within_the_rounding() -> None:
    rows, question = unit_rows(2000, 32, seed=2), unit_rows(1, 32, seed=3)[0]
    exact = rows @ question
    found = Nearest.build(quantize(rows)).top(question, 10)
    assert Nearest.build(quantize(rows)).graph is None  # 2,000 rows: no graph
    # rows and question are each rounded to 1/127: a cosine moves by at most about this
    rounding = 2 * 0.5 / SCALE * np.abs(question).sum()
    assert len(found) == 10 and np.all(exact[found] >= np.sort(exact)[-10] - 2 * rounding)
    assert len(set(found.tolist()) & best(rows, question, 10)) >= 9


def test_asking_for_more_rows_than_there_are_gives_them_all() -> None:
    rows = quantize(unit_rows(7, 16, seed=4))
    assert sorted(Nearest.build(rows).top(unit_rows(1, 16, seed=5)[0], 30).tolist()) == list(range(7))
    assert Nearest.build(rows[:0]).top(unit_rows(1, 16, seed=5)[0], 30).tolist() == []


def test_a_small_corpus_is_searched_by_numpy_in_usearch_s_exact_order() -> None:
    """Up to NUMPY_UP_TO rows numpy ranks them (no usearch import at start), as usearch's exact search would."""
    from usearch.index import search

    rows = quantize(clustered(nearest.NUMPY_UP_TO))
    for seed in range(5):
        question = unit_rows(1, WIDTH, seed=10 + seed)[0]
        by_usearch = search(rows, quantize(question), 30, metric="cos", exact=True, threads=1).keys
        assert Nearest.build(rows).top(question, 30).tolist() == np.asarray(by_usearch).tolist()


@pytest.fixture
def graph_from_100(monkeypatch: pytest.MonkeyPatch) -> None:
    """A graph past 100 rows, built on one core: the same graph every run, so its answers can be compared exactly."""
    monkeypatch.setattr(nearest, "EXACT_UP_TO", 100)
    monkeypatch.setattr(nearest, "BUILD_THREADS", 1)


@pytest.fixture
def rows_3000() -> tuple[np.ndarray, np.ndarray]:
    rows, questions = np.split(clustered(3040), [3000])  # questions about the same topics as the rows
    return rows, questions


def test_past_the_exact_limit_the_sign_graph_finds_what_exact_search_finds(
    rows_3000: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, questions = rows_3000
    exact = Nearest.build(quantize(rows))
    assert exact.graph is None
    monkeypatch.setattr(nearest, "EXACT_UP_TO", 100)
    monkeypatch.setattr(nearest, "SHORTLIST", 50)  # a sixtieth of the rows, as 300 is a few thousandths of a million
    graph = Nearest.build(quantize(rows))
    assert graph.graph is not None and graph.graph.dtype.name == "B1"
    same = [len(set(graph.top(q, 10).tolist()) & set(exact.top(q, 10).tolist())) / 10 for q in questions]
    assert np.mean(same) >= 0.95
    assert np.mean([len(set(graph.top(q, 10).tolist()) & best(rows, q, 10)) / 10 for q in questions]) >= 0.9


def test_the_graph_s_shortlist_is_ordered_by_the_int8_cosine(graph_from_100: None, rows_3000: tuple[np.ndarray, np.ndarray]) -> None:
    rows, questions = rows_3000
    search = Nearest.build(quantize(rows))
    for question in questions[:5]:
        found = search.top(question, 30)
        scores = nearest.cosines(quantize(rows)[found], question)
        assert len(found) == 30 and np.all(np.diff(scores) <= 0)


@pytest.fixture
def saved_rows(tmp_path: Path) -> tuple[Path, np.ndarray]:
    rows = quantize(clustered(500))
    path = tmp_path / "vectors-abc.int8"
    save_vectors(path, "ab" * 32, np.arange(len(rows), dtype=np.uint64), rows)
    return path, rows


class Unmappable(np.ndarray):
    """Rows whose values may not be read through the mapping (their shape may)."""

    def __getitem__(self, key):  # type: ignore[override]
        raise AssertionError("a row was read through the mapping")


def test_a_saved_graph_is_memory_mapped_and_answers_as_the_built_one_reading_rows_by_pread(
    graph_from_100: None, saved_rows: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    path, rows = saved_rows
    built = Nearest.build(rows)
    built.save(tmp_path / "graph.usearch")
    saved = load_vectors(path, "ab" * 32, WIDTH)
    assert saved is not None and saved.file is not None
    loaded = Nearest.load(saved.rows.view(Unmappable), tmp_path / "graph.usearch", saved.file)
    assert loaded is not None and loaded.graph is not None
    questions = unit_rows(10, WIDTH, seed=3)
    assert [loaded.top(q, 5).tolist() for q in questions] == [built.top(q, 5).tolist() for q in questions]
    assert np.array_equal(loaded.rows_of(np.array([7, 3])), rows[[7, 3]])
    assert Nearest.load(rows, tmp_path / "none.usearch") is None


def test_a_graph_built_from_the_file_is_the_graph_built_from_the_rows(graph_from_100: None, saved_rows: tuple[Path, np.ndarray]) -> None:
    path, rows = saved_rows
    saved = load_vectors(path, "ab" * 32, WIDTH)
    assert saved is not None
    from_file = Nearest.build(saved.rows.view(Unmappable), file=saved.file)
    assert from_file.graph is not None and len(from_file.graph) == len(rows)
    for question in clustered(500)[::50]:  # sentences' own vectors: their topic is near, the rest far
        every_row = np.argsort(-nearest.cosines(rows, question), kind="stable")  # the order re-scoring gives
        assert from_file.top(question, 5).tolist() == every_row[:5].tolist()


@pytest.mark.parametrize(
    "damage",
    [lambda data: data[:-100], lambda data: data[:50], lambda data: bytes(len(data))],
    ids=["cut short", "only its start", "zeros"],
)
def test_a_damaged_graph_is_refused(graph_from_100: None, tmp_path: Path, damage) -> None:
    rows = quantize(clustered(500))
    path = tmp_path / "graph.usearch"
    Nearest.build(rows).save(path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(StoreError, match="graph.usearch"):
        Nearest.load(rows, path)


def test_a_graph_of_other_rows_is_refused(graph_from_100: None, tmp_path: Path) -> None:
    path = tmp_path / "graph.usearch"
    Nearest.build(quantize(clustered(500))).save(path)
    with pytest.raises(StoreError, match="does not fit the 600 saved vectors"):
        Nearest.load(quantize(clustered(600)), path)


def test_the_previous_versions_int8_graph_is_refused_even_under_this_name(graph_from_100: None, tmp_path: Path) -> None:
    from usearch.index import Index

    rows = quantize(clustered(500))
    previous = Index(ndim=WIDTH, metric="cos", dtype="i8", connectivity=16, expansion_add=128)  # as the previous version saved it
    previous.add(np.arange(len(rows)), rows)
    path = graph_path(tmp_path / "vectors-abc.int8", "0123456789abcdef" * 4)
    previous.save(str(path))
    with pytest.raises(StoreError, match="does not fit the 500 saved vectors"):
        Nearest.load(rows, path)


def test_the_graph_is_named_apart_from_the_previous_versions_which_is_stale(tmp_path: Path) -> None:
    vectors = tmp_path / "vectors-abc.int8"
    path = graph_path(vectors, "0123456789abcdef" * 4)
    assert path.name == "vectors-abc.int8.0123456789abcdef.signs.usearch"
    previous = tmp_path / "vectors-abc.int8.0123456789abcdef.usearch"  # the int8 graph's name
    other_rows = tmp_path / "vectors-abc.int8.fedcba9876543210.signs.usearch"
    other_model = tmp_path / "vectors-def.int8.0123456789abcdef.signs.usearch"
    for file in (path, previous, other_rows, other_model):
        file.write_bytes(b"")
    assert sorted(stale_graphs(path)) == sorted([previous, other_rows])


@pytest.fixture
def signs_from_100(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exact search up to 50 rows, a graph up to 100, and past 100 no graph: every row's sign bits."""
    monkeypatch.setattr(nearest, "EXACT_UP_TO", 50)
    monkeypatch.setattr(nearest, "GRAPH_UP_TO", 100)
    monkeypatch.setattr(nearest, "BUILD_THREADS", 1)


def hamming_nearest(rows: np.ndarray, question: np.ndarray, count: int) -> list[int]:
    """The `count` rows whose sign bits are nearest the question's, ties to the earlier row, in row order."""
    distance = np.unpackbits(nearest.signs(rows) ^ nearest.signs(quantize(question)), axis=1).sum(axis=1)
    return sorted(np.argsort(distance, kind="stable")[:count].tolist())


def test_past_the_graph_limit_every_rows_sign_bits_find_what_exact_search_finds(
    signs_from_100: None, rows_3000: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, questions = rows_3000
    monkeypatch.setattr(nearest, "EXACT_UP_TO", 5000)
    exact = Nearest.build(quantize(rows))
    monkeypatch.setattr(nearest, "EXACT_UP_TO", 50)
    monkeypatch.setattr(nearest, "SIGNS_SHORTLIST", 50)  # a sixtieth of the rows, as 200 is a 25,000th of 5,000,000
    search = Nearest.build(quantize(rows))
    assert search.graph is None and search.bits is not None and search.bits.shape == (3000, WIDTH // 8)
    same = [len(set(search.top(q, 10).tolist()) & set(exact.top(q, 10).tolist())) / 10 for q in questions]
    assert np.mean(same) >= 0.95
    for question in questions[:5]:  # the shortlist is the Hamming-nearest of every row, re-scored by the int8 cosine
        assert sorted(search._nearest_signs(nearest.signs(quantize(question)), 50).tolist()) == hamming_nearest(quantize(rows), question, 50)
        found = search.top(question, 30)
        assert set(found.tolist()) <= set(hamming_nearest(quantize(rows), question, 50))
        assert np.all(np.diff(nearest.cosines(quantize(rows)[found], question)) <= 0)


def test_sign_bits_of_rows_not_a_whole_number_of_words_are_compared_too(signs_from_100: None) -> None:
    rows = quantize(clustered(300, dimensions=40))  # 5 bytes of sign bits a row
    question = clustered(300, dimensions=40, seed=1)[0]
    search = Nearest.build(rows)
    assert sorted(search._nearest_signs(nearest.signs(quantize(question)), 20).tolist()) == hamming_nearest(rows, question, 20)


def test_the_sign_bits_are_saved_mapped_and_reused_without_reading_rows_through_the_mapping(
    signs_from_100: None, saved_rows: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    path, rows = saved_rows
    signs_file = graph_path(path, "ab" * 32, len(rows))
    assert signs_file.name == "vectors-abc.int8.abababababababab.signs"
    assert graph_path(path, "ab" * 32, 100).name == "vectors-abc.int8.abababababababab.signs.usearch"  # up to GRAPH_UP_TO, a graph
    in_memory = Nearest.build(rows)
    saved = load_vectors(path, "ab" * 32, WIDTH)
    assert saved is not None and saved.file is not None
    progress: list[tuple[int, int]] = []
    built = Nearest.build(saved.rows.view(Unmappable), lambda done, total: progress.append((done, total)), saved.file, signs_file)
    assert progress[-1] == (500, 500)
    assert isinstance(built.bits, np.memmap) and built.bits.filename == str(signs_file) and built.graph is None
    assert signs_file.stat().st_size == nearest.SIGNS_HEADER + 500 * WIDTH // 8
    modified = signs_file.stat().st_mtime_ns
    built.save(signs_file)  # already there: not written again
    restarted = Nearest.load(saved.rows.view(Unmappable), signs_file, saved.file)
    assert restarted is not None and isinstance(restarted.bits, np.memmap) and signs_file.stat().st_mtime_ns == modified
    questions = unit_rows(10, WIDTH, seed=3)
    answers = [in_memory.top(q, 5).tolist() for q in questions]
    assert [built.top(q, 5).tolist() for q in questions] == answers
    assert [restarted.top(q, 5).tolist() for q in questions] == answers
    assert Nearest.load(rows, tmp_path / "none.signs") is None
    in_memory.save(tmp_path / "from-memory.signs")  # sign bits built in memory are saved as the file written while building
    assert (tmp_path / "from-memory.signs").read_bytes() == signs_file.read_bytes()


def _flip_first_row(data: bytes) -> bytes:
    start = nearest.SIGNS_HEADER
    return data[:start] + bytes([data[start] ^ 0xFF]) + data[start + 1 :]


@pytest.mark.parametrize(
    "damage",
    [lambda data: data[:-10], lambda data: data[:50], lambda data: bytes(len(data)), _flip_first_row, lambda data: data + b"\0" * 48],
    ids=["cut short", "only its start", "zeros", "a row's bits changed", "a row too many"],
)
def test_a_damaged_sign_bits_file_is_refused_and_built_again(signs_from_100: None, tmp_path: Path, damage) -> None:
    rows = quantize(clustered(500))
    path = tmp_path / "vectors-abc.int8.0123456789abcdef.signs"
    Nearest.build(rows, path=path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(StoreError, match=path.name):
        Nearest.load(rows, path)
    Nearest.build(rows, path=path)  # written again whole, over the damaged one
    assert Nearest.load(rows, path) is not None


def test_sign_bits_of_other_rows_are_refused(signs_from_100: None, tmp_path: Path) -> None:
    path = tmp_path / "rows.signs"
    Nearest.build(quantize(clustered(500)), path=path)
    with pytest.raises(StoreError, match="does not fit the 600 saved vectors"):
        Nearest.load(quantize(clustered(600)), path)
    with pytest.raises(StoreError, match="damaged"):  # as many rows, but other ones
        Nearest.load(quantize(clustered(500, seed=9)), path)


def test_sign_bits_and_graphs_of_other_rows_are_stale_for_each_other(tmp_path: Path) -> None:
    signs_file = tmp_path / "vectors-abc.int8.0123456789abcdef.signs"
    graph = tmp_path / "vectors-abc.int8.0123456789abcdef.signs.usearch"  # the same rows, when they were fewer than GRAPH_UP_TO
    other_signs = tmp_path / "vectors-abc.int8.fedcba9876543210.signs"
    other_model = tmp_path / "vectors-def.int8.0123456789abcdef.signs"
    for file in (signs_file, graph, other_signs, other_model):
        file.write_bytes(b"")
    assert sorted(stale_graphs(signs_file)) == sorted([graph, other_signs])
    assert sorted(stale_graphs(graph)) == sorted([signs_file, other_signs])


def test_answering_by_bm25_alone_never_imports_usearch() -> None:
    """Its import costs 65 ms of every start, which SEMANTIC=off (the lightest mode) should not pay."""
    orchard = Path(__file__).parent.parent.parent / "fixtures" / "orchard"
    code = (
        "import sys; from bot.search.engine import Engine; "
        f"assert Engine.from_dir({str(orchard)!r}).ask('how many bees in a hive?').hits; "
        "assert 'usearch' not in sys.modules, 'usearch imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[3])
    assert done.returncode == 0, done.stderr
