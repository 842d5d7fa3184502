"""The one engine factory: the settings' model or a clear fallback to BM25, and one saved index per corpus."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tiny_model import write_tiny_model

from bot import factory
from bot.config import Settings
from bot.config import cache_dir
from bot.factory import load_engine
from bot.search import engine as engine_module
from bot.search.cache import CACHE_FILE
from bot.search.engine import Engine, SemanticStatus
from bot.search.index import nearest
from bot.search.models.embedding import Embedder, folder_model
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


SEA_AND_BEES = {
    "01-sea.txt": "Vessel at sea\n\nA vessel sails from the harbour to the sea.\nThe harbour is busy at dawn.\n",
    "02-bees.txt": "Bees\n\nA healthy hive holds honey all winter.\nBees make honey in the hive.\n",
    "03-orchard.txt": "Orchard\n\nThe orchard grows apples.\nApple trees need bees.\n",
}


class Batches:
    """The tiny model, embedding each of the background build's batches only when the test allows it, or
    failing at one; questions (asked from the test's thread) are embedded at once."""

    def __init__(self, model: Embedder, fail_at: int = 0) -> None:
        self.sha256, self.dimensions, self.name, self.spec = model.sha256, model.dimensions, model.name, model.spec
        self._model = model
        self._allowed = threading.Semaphore(0)
        self._fail_at = fail_at
        self._batches = 0

    def allow(self, batches: int = 1) -> None:
        self._allowed.release(batches)

    def embed(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        if threading.current_thread().name == "sentence vectors":
            assert self._allowed.acquire(timeout=60)
            self._batches += 1
            if self._batches == self._fail_at:
                raise RuntimeError("the model ran out of memory")
        return self._model.embed(texts, progress)


@pytest.fixture
def sea_and_bees(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A corpus of 6 sentences, embedded 2 at a time in the background, each batch handed over at once."""
    corpus = tmp_path / "articles"
    corpus.mkdir()
    for name, text in SEA_AND_BEES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    monkeypatch.setattr(factory, "BACKGROUND_FROM", 2)
    monkeypatch.setattr(engine_module, "CHECKPOINT_ROWS", 2)
    monkeypatch.setattr(factory, "HANDOVER_EVERY", 0.0)
    monkeypatch.setattr(factory, "HANDOVER_GROWTH", 0.0)
    return corpus


def _tiny(tmp_path: Path) -> Embedder:
    return Embedder(folder_model(write_tiny_model(tmp_path / "tiny")))


def _start(corpus: Path, tmp_path: Path, embedder: Batches) -> tuple[Engine, queue.Queue[Engine | None]]:
    handed: queue.Queue[Engine | None] = queue.Queue()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(factory, "_model", lambda folder, cache: embedder)
        engine = load_engine(Settings(corpus_dir=corpus, index_cache=tmp_path / "cache", rerank=False), later=handed.put)
    return engine, handed


def test_a_bot_answers_by_meaning_from_each_saved_batch_before_the_build_ends(sea_and_bees: Path, tmp_path: Path) -> None:
    embedder = Batches(_tiny(tmp_path))
    engine, handed = _start(sea_and_bees, tmp_path, embedder)
    assert engine.semantic_status.model == "" and engine.ask("which boat?").abstained  # BM25 knows no boat
    assert engine.semantic_status.model_line == "off (word matching only)"
    embedder.allow()
    first = handed.get(timeout=60)
    assert first is not None and first.semantic_status.partial and first.semantic_status.covered == 2
    assert first.semantic_status.coverage == "2 of 6 sentences embedded so far (33%)"
    assert first.semantic_status.model_line == "tiny (2 of 6 sentences embedded so far (33%))"  # as /stats names it
    assert "for the 2 of 6 sentences embedded so far (33%), the others by word matching" in first.semantic_status.signals
    assert first.semantic_status.vectors == "being built: 2 of 6 sentences searched so far"
    assert first.ask("which boat?").hits[0].text == "A vessel sails from the harbour to the sea."  # the 2 embedded
    embedder.allow()
    second = handed.get(timeout=60)
    assert second is not None and second.semantic_status.covered == 4
    assert np.shares_memory(first.vectors, second.vectors)  # the rows being filled, never copied per engine
    embedder.allow()
    complete = handed.get(timeout=60)
    assert complete is not None and not complete.semantic_status.partial and complete.semantic_status.vectors == "built now"
    assert complete.semantic_status.model_line == complete.semantic_status.model
    assert isinstance(complete.vectors, np.memmap)  # the saved file's rows from now on, not the build's
    assert complete.ask("which boat?").hits[0].text == "A vessel sails from the harbour to the sea."
    assert handed.empty()


def test_a_sentence_without_a_vector_yet_is_still_found_by_bm25(sea_and_bees: Path, tmp_path: Path) -> None:
    embedder = Batches(_tiny(tmp_path))
    _, handed = _start(sea_and_bees, tmp_path, embedder)
    embedder.allow()
    partial = handed.get(timeout=60)
    assert partial is not None and partial.semantic_status.covered == 2  # the sea article's sentences only
    # Neither buried below the embedded sentences (as a cosine of 0 would) nor refused as far from everything.
    answer = partial.ask("What does the orchard grow?")
    assert answer.hits[0].text == "The orchard grows apples."
    embedder.allow(2)
    assert handed.get(timeout=60) is not None


def test_a_failed_build_leaves_the_last_engine_handed_over_and_says_so_then_a_restart_continues(
    sea_and_bees: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tiny = _tiny(tmp_path)
    failing = Batches(tiny, fail_at=2)
    _, handed = _start(sea_and_bees, tmp_path, failing)
    failing.allow(2)
    partial = handed.get(timeout=60)
    assert partial is not None and partial.semantic_status.covered == 2
    assert handed.get(timeout=60) is None  # the end: the bot keeps answering from `partial`
    [failure] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert failure.getMessage().startswith("Building the sentence vectors failed; still answering by word matching (BM25) and by meaning")
    assert "for the 2 of 6 sentences embedded so far" in failure.getMessage() and failure.exc_info is not None
    again = Batches(tiny)
    _, handed = _start(sea_and_bees, tmp_path, again)
    resumed = handed.get(timeout=60)  # the checkpointed batch, before any new one is embedded
    assert resumed is not None and resumed.semantic_status.covered == 2
    again.allow(2)
    assert [engine.semantic_status.vectors for engine in (handed.get(timeout=60), handed.get(timeout=60)) if engine] == [
        "being built: 4 of 6 sentences searched so far",
        "built now (4 embedded, 2 reused)",
    ]
    assert _start(sea_and_bees, tmp_path, again)[0].semantic_status.vectors == "saved index"


def test_past_the_exact_limit_every_vector_is_searched_exactly_while_their_graph_is_built(
    sea_and_bees: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nearest, "EXACT_UP_TO", 3)  # the corpus's 6 sentences need a graph
    monkeypatch.setattr(nearest, "BUILD_THREADS", 1)
    embedder = Batches(_tiny(tmp_path))
    _, handed = _start(sea_and_bees, tmp_path, embedder)
    embedder.allow(3)
    engines = [handed.get(timeout=60) for _ in range(4)]
    assert [e.semantic_status.vectors for e in engines if e] == [
        "being built: 2 of 6 sentences searched so far",
        "being built: 4 of 6 sentences searched so far",
        "built now; searched exactly until their graph is built",
        "built now",
    ]
    exact, complete = engines[2:]
    assert exact is not None and complete is not None
    assert isinstance(exact.vectors, np.memmap)  # the saved file's rows: the build's own can go
    assert exact.ask("which boat?").hits[0].text == complete.ask("which boat?").hits[0].text


class Offered:
    """What a build offers the hand-over: an engine's status, and the reranker it is handed over with."""

    def __init__(self, covered: int, sentences: int = 10_000) -> None:
        self.semantic_status = SemanticStatus("tiny", covered=covered, sentences=sentences)
        self.reranker: object = None

    def with_reranker(self, reranker: object) -> Offered:
        self.reranker = reranker
        return self


def test_partial_engines_are_handed_over_at_most_every_30_s_and_1_percent_apart_and_all_of_them_reranked() -> None:
    handed: list[Offered | None] = []
    now = [0.0]
    handover = factory._Handover(handed.append, reranker="the reranker", clock=lambda: now[0])  # type: ignore[arg-type]
    for covered, at in [(1_024, 0), (2_048, 10), (3_072, 31), (3_100, 70), (4_096, 75), (10_000, 76)]:
        now[0] = at
        handover.offer(Offered(covered))  # type: ignore[arg-type]
    assert [e.semantic_status.covered for e in handed if e] == [
        1_024,  # the first at once
        3_072,  # 30 s later; 2,048 came too soon
        4_096,  # 3,100 was 28 more sentences, not 1% (100) more
        10_000,  # every sentence has a vector: at once
    ]
    assert all(e and e.reranker == "the reranker" for e in handed)
    assert handover.answering.startswith("answering by word matching (BM25) and by meaning (tiny)")
