"""Sentence vectors on disk: int8 rows memory-mapped in index order, reused by text key, refused when damaged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bot.search.index.nearest import cosines
from bot.search.index.store import StoreError
from bot.search.index.vectors import HEADER_BYTES, SCALE, load_vectors, quantize, save_vectors, text_key

MODEL = "ab" * 32
OTHER_MODEL = "cd" * 32
DIMENSIONS = 8


def unit_rows(count: int, dimensions: int = DIMENSIONS, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, dimensions)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "vectors.int8"
    keys = np.array([text_key(text) for text in ("one", "two", "three")], dtype=np.uint64)
    save_vectors(path, MODEL, keys, quantize(unit_rows(3)))
    return path


def test_rows_come_back_as_saved_and_memory_mapped(saved: Path) -> None:
    loaded = load_vectors(saved, MODEL, DIMENSIONS)
    assert loaded is not None
    assert loaded.keys.tolist() == [text_key("one"), text_key("two"), text_key("three")]
    assert isinstance(loaded.rows, np.memmap) and loaded.rows.dtype == np.int8
    assert np.array_equal(loaded.rows, quantize(unit_rows(3)))


def test_rows_read_from_the_file_are_the_mapped_rows_in_the_order_asked(saved: Path) -> None:
    """Questions read rows by pread (RowFile), so the mapping's neighbouring pages are never mapped with them."""
    loaded = load_vectors(saved, MODEL, DIMENSIONS)
    assert loaded is not None and loaded.file is not None
    assert np.array_equal(loaded.file.read(np.array([2, 0, 2])), loaded.rows[[2, 0, 2]])
    assert loaded.file.read(np.array([], dtype=np.int64)).shape == (0, DIMENSIONS)
    assert np.array_equal(loaded.file.read_range(1, 10), loaded.rows[1:])
    with pytest.raises(IndexError):
        loaded.file.read(np.array([3]))


def test_rows_are_read_from_the_file_loaded_even_once_it_is_replaced(saved: Path) -> None:
    loaded = load_vectors(saved, MODEL, DIMENSIONS)
    assert loaded is not None and loaded.file is not None
    keys = np.array([text_key(text) for text in ("one", "two", "three")], dtype=np.uint64)
    save_vectors(saved, MODEL, keys, quantize(unit_rows(3, seed=9)))  # replaced whole, as a rebuild does
    assert np.array_equal(loaded.file.read(np.arange(3)), quantize(unit_rows(3)))
    assert np.array_equal(loaded.rows, quantize(unit_rows(3)))


def test_no_file_is_no_vectors(tmp_path: Path) -> None:
    assert load_vectors(tmp_path / "none.int8", MODEL, DIMENSIONS) is None


def test_a_row_is_found_by_its_texts_key_wherever_it_moved(saved: Path) -> None:
    loaded = load_vectors(saved, MODEL, DIMENSIONS)
    assert loaded is not None
    wanted = np.array([text_key("three"), text_key("new sentence"), text_key("one")], dtype=np.uint64)
    assert loaded.lookup(wanted).tolist() == [2, -1, 0]


def test_quantized_rows_keep_the_cosine_within_their_rounding() -> None:
    rows, question = unit_rows(50, 384), unit_rows(1, 384, seed=1)[0]
    exact = rows @ question
    # each component is off by at most half a step (0.5 / 127); for 384-wide unit vectors the cosine moves by ~0.002
    assert np.abs(cosines(quantize(rows), question) - exact).max() < 0.01
    assert np.abs(quantize(rows)).max() <= SCALE


Damage = Callable[[bytes], bytes]
DAMAGES: dict[str, Damage] = {
    "cut short": lambda data: data[:-5],
    "longer than its header says": lambda data: data + b"\0" * DIMENSIONS,
    "header is garbage": lambda data: b"\x93NUMPY garbage" + data[14:],
    "all garbage": lambda data: bytes(range(256)) * 20,
    "a key changed": lambda data: data[:HEADER_BYTES] + bytes([data[HEADER_BYTES] ^ 0xFF]) + data[HEADER_BYTES + 1 :],
    "another row count": lambda data: data.replace(b'"rows": 3', b'"rows": 2', 1),
    "another dtype": lambda data: data.replace(b'"dtype": "int8"', b'"dtype": "f2"  ', 1),
}


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_a_damaged_file_is_refused_with_the_reason(saved: Path, damage: str) -> None:
    saved.write_bytes(DAMAGES[damage](saved.read_bytes()))
    with pytest.raises(StoreError, match=str(saved)):
        load_vectors(saved, MODEL, DIMENSIONS)


def test_another_models_or_another_widths_vectors_are_refused(saved: Path) -> None:
    with pytest.raises(StoreError, match="another model's vectors"):
        load_vectors(saved, OTHER_MODEL, DIMENSIONS)
    with pytest.raises(StoreError, match="int8 rows of 8 .* int8 rows of 16"):
        load_vectors(saved, MODEL, 16)
