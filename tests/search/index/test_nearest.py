"""Searching every sentence's int8 row: exactly up to EXACT_UP_TO rows, through a saved HNSW graph past it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.search.index import nearest
from bot.search.index.nearest import Nearest
from bot.search.index.store import StoreError
from bot.search.index.vectors import SCALE, quantize


def unit_rows(count: int, dimensions: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, dimensions)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def clustered(count: int, dimensions: int = 32, seed: int = 0) -> np.ndarray:
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


@pytest.fixture
def graph_from_100(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nearest, "EXACT_UP_TO", 100)


def test_past_the_exact_limit_a_graph_finds_nearly_all_of_float32s_best(graph_from_100: None) -> None:
    rows, questions = np.split(clustered(3040), [3000])  # questions about the same topics as the rows
    search = Nearest.build(quantize(rows))
    assert search.graph is not None
    recall = np.mean([len(set(search.top(q, 10).tolist()) & best(rows, q, 10)) / 10 for q in questions])
    assert recall >= 0.9


def test_a_saved_graph_is_memory_mapped_and_answers_as_the_built_one(graph_from_100: None, tmp_path: Path) -> None:
    rows = quantize(clustered(500))
    built = Nearest.build(rows)
    built.save(tmp_path / "graph.usearch")
    loaded = Nearest.load(rows, tmp_path / "graph.usearch")
    assert loaded is not None and loaded.graph is not None
    questions = unit_rows(10, 32, seed=3)
    assert [loaded.top(q, 5).tolist() for q in questions] == [built.top(q, 5).tolist() for q in questions]
    assert Nearest.load(rows, tmp_path / "none.usearch") is None


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
