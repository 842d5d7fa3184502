"""A stopped vector build keeps what it did: the next build embeds only the sentences not yet saved."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from tiny_model import write_tiny_model

from bot.search import engine as engine_module
from bot.search.engine import Engine
from bot.search.index.checkpoint import Checkpoint, CheckpointInUse, checkpoint_path
from bot.search.models.embedding import Embedder, folder_model

PLACES = ("harbour", "orchard", "sea", "hive")
THINGS = ("ship", "boat", "vessel", "bee", "honey", "apple")
SENTENCES = 24
ROWS = 4  # a checkpoint every 4 sentences


class Stopped(Exception):
    """Stands for Ctrl-C or a kill in the middle of embedding."""


class Counting:
    """An embedder that counts the texts it embeds and can be stopped after some batches, as a kill would."""

    def __init__(self, model: Embedder, stop_after: int | None = None) -> None:
        self._model = model
        self.sha256, self.dimensions, self.name = model.sha256, model.dimensions, model.name
        self.embedded = 0
        self._batches_left = stop_after

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        if self._batches_left is not None:
            if self._batches_left == 0:
                raise Stopped
            self._batches_left -= 1
        self.embedded += len(texts)
        return self._model.embed(texts, progress)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    return Embedder(folder_model(write_tiny_model(tmp_path_factory.mktemp("tiny"))))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    lines = [f"Number {n} is the {THINGS[n % len(THINGS)]} of the {PLACES[n % len(PLACES)]} {'very ' * (n % 5)}today." for n in range(SENTENCES)]
    (folder / "log.txt").write_text("Harbour log\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def small_checkpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "CHECKPOINT_ROWS", ROWS)


def test_a_stopped_build_continues_where_it_stopped(corpus: Path, tiny: Embedder, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(Stopped):
        Engine.from_dir(corpus, cache_dir=cache, embedder=Counting(tiny, stop_after=3))  # type: ignore[arg-type]
    assert checkpoint_path(cache, tiny.sha256).exists()
    again = Counting(tiny)
    resumed = Engine.from_dir(corpus, cache_dir=cache, embedder=again)  # type: ignore[arg-type]
    assert again.embedded == SENTENCES - 3 * ROWS
    assert resumed.semantic_status.vectors == f"built now ({SENTENCES - 3 * ROWS} embedded, {3 * ROWS} reused)"
    whole = Engine.from_dir(corpus, embedder=tiny)
    assert resumed.vectors is not None and whole.vectors is not None
    assert np.array_equal(resumed.vectors, whole.vectors)  # checkpointed as the int8 rows they are
    assert not checkpoint_path(cache, tiny.sha256).exists()  # the complete file replaced it
    assert Engine.from_dir(corpus, cache_dir=cache, embedder=tiny).semantic_status.vectors == "saved index"


def test_a_batch_cut_short_by_the_stop_is_embedded_again_and_the_whole_ones_kept(corpus: Path, tiny: Embedder, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(Stopped):
        Engine.from_dir(corpus, cache_dir=cache, embedder=Counting(tiny, stop_after=2))  # type: ignore[arg-type]
    path = checkpoint_path(cache, tiny.sha256)
    path.write_bytes(path.read_bytes()[:-5])  # the second batch was being written when the power went
    again = Counting(tiny)
    Engine.from_dir(corpus, cache_dir=cache, embedder=again)  # type: ignore[arg-type]
    assert again.embedded == SENTENCES - ROWS


def test_a_damaged_checkpoint_is_read_up_to_the_damage(corpus: Path, tiny: Embedder, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(Stopped):
        Engine.from_dir(corpus, cache_dir=cache, embedder=Counting(tiny, stop_after=3))  # type: ignore[arg-type]
    path = checkpoint_path(cache, tiny.sha256)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # a flipped byte in the last batch's vectors
    path.write_bytes(bytes(data))
    again = Counting(tiny)
    resumed = Engine.from_dir(corpus, cache_dir=cache, embedder=again)  # type: ignore[arg-type]
    assert again.embedded == SENTENCES - 2 * ROWS
    whole = Engine.from_dir(corpus, embedder=tiny)
    assert np.array_equal(resumed.vectors, whole.vectors)  # type: ignore[arg-type]


def test_another_models_checkpoint_is_not_used(corpus: Path, tiny: Embedder, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(Stopped):
        Engine.from_dir(corpus, cache_dir=cache, embedder=Counting(tiny, stop_after=3))  # type: ignore[arg-type]
    other = Embedder(folder_model(write_tiny_model(tmp_path / "other", seed=1)))
    checkpoint_path(cache, tiny.sha256).rename(checkpoint_path(cache, other.sha256))  # another model's name, this one's content
    again = Counting(other)
    Engine.from_dir(corpus, cache_dir=cache, embedder=again)  # type: ignore[arg-type]
    assert again.embedded == SENTENCES


def test_one_build_writes_a_checkpoint_at_a_time_and_a_second_reuses_it_without_writing(corpus: Path, tiny: Embedder, tmp_path: Path) -> None:
    """A `!reload` while the background build runs, or two shard processes starting on a new corpus."""
    cache = tmp_path / "cache"
    with pytest.raises(Stopped):
        Engine.from_dir(corpus, cache_dir=cache, embedder=Counting(tiny, stop_after=2))  # type: ignore[arg-type]
    path = checkpoint_path(cache, tiny.sha256)
    running = Checkpoint(path, tiny.sha256, tiny.dimensions)  # the first build, still embedding
    with pytest.raises(CheckpointInUse):
        Checkpoint(path, tiny.sha256, tiny.dimensions)
    written = path.read_bytes()
    second = Counting(tiny)
    built = Engine.from_dir(corpus, cache_dir=cache, embedder=second)  # type: ignore[arg-type]
    assert second.embedded == SENTENCES - 2 * ROWS  # it reused the first build's rows
    assert any("another build of these vectors is running" in warning for warning in built.warnings)
    assert path.read_bytes() == written  # and wrote nothing over them, nor removed the file under the first
    running.close()
    Checkpoint(path, tiny.sha256, tiny.dimensions).close()  # free again once the first build let go
