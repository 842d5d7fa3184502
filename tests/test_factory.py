"""The one engine factory: the settings' model or a clear fallback to BM25, and one saved index per corpus."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tiny_model import write_tiny_model

from bot import factory
from bot.config import Settings
from bot.factory import cache_dir, load_engine
from bot.search.cache import CACHE_FILE
from bot.search.engine import Engine
from bot.search.models.reranker import default_reranker

ORCHARD = Path(__file__).resolve().parent / "fixtures" / "orchard"


def test_semantic_on_by_default(tmp_path: Path) -> None:
    engine = load_engine(Settings(corpus_dir=ORCHARD, index_cache=tmp_path))
    assert engine.semantic_status.model.startswith("all-MiniLM-L6-v2")
    assert not engine.warnings


def test_semantic_off_answers_by_words_alone(tmp_path: Path) -> None:
    engine = load_engine(Settings(corpus_dir=ORCHARD, index_cache=tmp_path, semantic=False))
    assert engine.semantic_status.model == "" and not engine.warnings
    assert engine.ask("How many bees live in a hive?").hits[0].text == "A healthy hive holds about 50,000 bees."


def test_an_unloadable_model_falls_back_to_bm25_with_a_warning(tmp_path: Path) -> None:
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "model.onnx").write_bytes(b"not a model")
    (broken / "tokenizer.json").write_text("{}", encoding="utf-8")
    engine = load_engine(Settings(corpus_dir=ORCHARD, index_cache=None, semantic_model=broken))
    assert engine.semantic_status.model == ""
    assert [w for w in engine.warnings if w.startswith("semantic search is off, answering by word matching alone")]
    assert str(broken / "tokenizer.json") in engine.warnings[-1] or str(broken / "model.onnx") in engine.warnings[-1]
    assert not engine.ask("How many bees live in a hive?").abstained


def test_the_reranker_is_on_by_default_and_off_with_rerank_off(tmp_path: Path) -> None:
    engine = load_engine(Settings(corpus_dir=ORCHARD, index_cache=tmp_path))
    assert engine.semantic_status.reranker.startswith("answer reranker")
    assert engine.semantic_status.reranker_sha256 == default_reranker().model_sha256
    off = load_engine(Settings(corpus_dir=ORCHARD, index_cache=tmp_path, rerank=False))
    assert off.semantic_status.reranker == "" and not off.warnings


def test_a_reranker_that_cannot_load_leaves_the_fused_order_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    damaged = tmp_path / "model.onnx"
    damaged.write_bytes(b"not a model")
    monkeypatch.setattr(factory, "default_reranker", lambda: replace(default_reranker(), model=damaged))
    factory._reranker.cache_clear()
    try:
        engine = load_engine(Settings(corpus_dir=ORCHARD, index_cache=None))
    finally:
        factory._reranker.cache_clear()
    assert engine.semantic_status.reranker == ""
    assert [w for w in engine.warnings if w.startswith("the reranker is off, answers are ordered by the fused score alone")]
    assert str(damaged) in engine.warnings[-1] and "checksum" in engine.warnings[-1]
    assert not engine.ask("How many bees live in a hive?").abstained


def test_each_corpus_folder_has_its_own_saved_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other-corpus"
    other.mkdir()
    assert cache_dir(Settings(corpus_dir=ORCHARD, index_cache=tmp_path)) != cache_dir(Settings(corpus_dir=other, index_cache=tmp_path))
    monkeypatch.chdir(ORCHARD.parent)
    assert cache_dir(Settings(corpus_dir=Path("orchard"), index_cache=tmp_path)) == cache_dir(
        Settings(corpus_dir=ORCHARD, index_cache=tmp_path)
    )
    assert cache_dir(Settings(corpus_dir=ORCHARD, index_cache=None)) is None


def test_a_restart_reuses_the_saved_index_and_its_vectors(tmp_path: Path) -> None:
    settings = Settings(corpus_dir=ORCHARD, index_cache=tmp_path)
    assert load_engine(settings).semantic_status.vectors == "built now"
    assert load_engine(settings).semantic_status.vectors == "saved index"
    assert list(tmp_path.glob(f"orchard-*/{CACHE_FILE}"))


def test_a_bot_answers_by_bm25_while_the_sentence_vectors_are_built_then_gets_both_signals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = factory.load_model(Settings(corpus_dir=ORCHARD, semantic_model=write_tiny_model(tmp_path / "tiny")))[0]
    assert model is not None
    gate = threading.Event()

    class Held:
        """The tiny model, held at its first batch until the test lets it go."""

        sha256, dimensions, name, spec = model.sha256, model.dimensions, model.name, model.spec

        def embed(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
            assert gate.wait(60)
            return model.embed(texts, progress)

    monkeypatch.setattr(factory, "_model", lambda folder, cache: Held())
    monkeypatch.setattr(factory, "BACKGROUND_FROM", 2)
    finished: list[Engine | None] = []
    done = threading.Event()
    settings = Settings(corpus_dir=ORCHARD, index_cache=tmp_path / "cache", rerank=False)
    engine = load_engine(settings, later=lambda built: (finished.append(built), done.set()))
    assert engine.semantic_status.model == ""  # the vectors are still being made
    assert any("embedding them in the background" in warning for warning in engine.warnings)
    assert engine.ask("How many bees live in a hive?").hits[0].text == "A healthy hive holds about 50,000 bees."
    gate.set()
    assert done.wait(60)
    [built] = finished
    assert built is not None and built.vectors is not None and built.semantic_status.model == model.name
    assert not any("in the background" in warning for warning in built.warnings)
    assert load_engine(settings, later=finished.append).semantic_status.vectors == "saved index"  # nothing left to do later
