"""Loading a sentence model: checksums first, then onnxruntime and tokenizers; unit vectors out."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto
from tiny_model import write_tiny_model
from tokenizers import Tokenizer, models, pre_tokenizers

from bot.search.models import embedding
from bot.search.models.embedding import (
    Embedder,
    ModelError,
    default_model,
    file_sha256,
    folder_model,
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("tiny"))


def test_a_folder_export_loads_and_gives_unit_vectors(tiny: Path) -> None:
    embedder = Embedder(folder_model(tiny))
    vectors = embedder.embed(["the ship", "a boat on the sea", "bee hive honey", ""])
    assert vectors.shape == (4, 8) and embedder.dimensions == 8
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > 0.6 > vectors[0] @ vectors[2]  # ship ~ boat + sea, far from bees


def test_texts_come_back_in_their_order_whatever_their_length(tiny: Path) -> None:
    embedder = Embedder(folder_model(tiny))
    texts = ["honey " * 40, "ship", "orchard apple apple", "sea"]
    together = embedder.embed(texts)
    one_by_one = np.vstack([embedder.embed([text]) for text in texts])
    assert np.allclose(together, one_by_one, atol=1e-6)


def test_progress_is_reported_per_batch(tiny: Path) -> None:
    seen: list[int] = []
    Embedder(folder_model(tiny)).embed(["ship"] * 70, seen.append)
    assert sum(seen) == 70 and len(seen) == 3


def test_the_checksum_is_reported_and_a_wrong_one_refused(tiny: Path) -> None:
    spec = folder_model(tiny)
    assert Embedder(spec).sha256 == file_sha256(tiny / "model.onnx")
    with pytest.raises(ModelError, match="checksum"):
        Embedder(replace(spec, model_sha256="0" * 64))
    with pytest.raises(ModelError, match="checksum"):
        Embedder(replace(spec, tokenizer_sha256="0" * 64))


def test_a_damaged_model_file_is_refused_with_the_reason(tiny: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.onnx").write_bytes((tiny / "model.onnx").read_bytes()[:100])
    (broken / "tokenizer.json").write_bytes((tiny / "tokenizer.json").read_bytes())
    with pytest.raises(ModelError, match="onnxruntime cannot load it"):
        Embedder(folder_model(broken))
    (broken / "tokenizer.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="not a tokenizers file"):
        Embedder(folder_model(broken))


def test_a_missing_folder_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model.onnx"):
        Embedder(folder_model(tmp_path / "nowhere"))


def test_the_vectors_are_read_from_the_output_that_holds_them_whatever_comes_first(tmp_path: Path, tiny: Path) -> None:
    mixed = Embedder(folder_model(write_tiny_model(tmp_path / "mask-first", outputs="mask first")))
    texts = ["the ship", "a boat on the sea", "bee hive honey"]
    assert mixed.dimensions == 8
    assert np.allclose(mixed.embed(texts), Embedder(folder_model(tiny)).embed(texts))


def test_a_model_without_vectors_is_refused_naming_its_outputs(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no output holds a vector .* output \['batch', 'sequence'\]"):
        Embedder(folder_model(write_tiny_model(tmp_path / "mask-only", outputs="mask only")))


def test_an_export_taking_int32_ids_gives_the_same_vectors(tmp_path: Path, tiny: Path) -> None:
    int32 = Embedder(folder_model(write_tiny_model(tmp_path / "int32", id_type=TensorProto.INT32)))
    texts = ["the ship", "a boat on the sea", "bee hive honey"]
    assert np.allclose(int32.embed(texts), Embedder(folder_model(tiny)).embed(texts))


def test_a_tokenizer_of_another_model_is_refused_before_any_sentence_is_embedded(tmp_path: Path) -> None:
    folder = write_tiny_model(tmp_path / "mismatched")
    larger = Tokenizer(models.WordLevel({f"w{i}": i for i in range(64)}, unk_token="w0"))
    larger.pre_tokenizer = pre_tokenizers.Whitespace()
    larger.save(str(folder / "tokenizer.json"))  # 64 word pieces for a table of 11 rows
    with pytest.raises(ModelError, match="cannot embed what tokenizer.json gives it .*the model's own"):
        Embedder(folder_model(folder))


def test_an_export_s_own_pooling_and_length_are_read(tmp_path: Path) -> None:
    folder = write_tiny_model(tmp_path / "bge-like")
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}', encoding="utf-8")
    (folder / "sentence_bert_config.json").write_text('{"max_seq_length": 512}', encoding="utf-8")
    spec = folder_model(folder)
    assert (spec.pooling, spec.max_tokens) == ("cls", 512)
    first_word = Embedder(spec).embed(["ship honey honey honey"])[0]
    assert first_word @ Embedder(folder_model(tmp_path / "bge-like")).embed(["ship"])[0] == pytest.approx(1.0, abs=1e-5)


def test_the_default_model_is_installed_pinned_and_384_wide() -> None:
    spec = default_model()
    assert spec.model.is_file() and spec.tokenizer.is_file()
    embedder = Embedder(spec)
    assert embedder.sha256 == spec.model_sha256 and embedder.dimensions == 384
    lawsuit, weather = embedder.embed(["Elon Musk filed a lawsuit against the company.", "It rained all week."])
    question = embedder.embed(["who sued them?"])[0]
    assert question @ lawsuit > question @ weather + 0.1


TEXTS = ["who sued the company?", "a lawsuit was filed", "OpenAI was sued by The New York Times in December 2023."]


@pytest.fixture(scope="module")
def uncached() -> np.ndarray:
    """The default model's vectors for TEXTS from a session optimized in memory, no graph kept."""
    return Embedder(default_model()).embed(TEXTS)


def never_optimize(*_: object) -> None:
    pytest.fail("the graph was optimized again instead of loading the kept one")


def test_the_optimized_graph_is_kept_then_loaded_as_it_is_with_the_same_vectors(
    tmp_path: Path, uncached: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Embedder(default_model(), cache=tmp_path)
    (kept,) = tmp_path.glob("*.onnx")
    assert kept.name.startswith(default_model().model_sha256[:16]) and kept.name.endswith(f"-ort{onnxruntime.__version__}.onnx")
    made = kept.stat()
    monkeypatch.setattr(embedding, "_optimizing", never_optimize)
    again = Embedder(default_model(), cache=tmp_path)
    assert (kept.stat().st_ino, kept.stat().st_mtime_ns) == (made.st_ino, made.st_mtime_ns)
    assert np.array_equal(first.embed(TEXTS), uncached) and np.array_equal(again.embed(TEXTS), uncached)


def test_without_dev_fd_the_kept_graph_is_read_checked_and_passed_as_bytes(
    tmp_path: Path, uncached: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    Embedder(default_model(), cache=tmp_path)
    monkeypatch.setattr(embedding, "DESCRIPTORS", str(tmp_path / "no-such-folder"))
    monkeypatch.setattr(embedding, "_optimizing", never_optimize)
    assert np.array_equal(Embedder(default_model(), cache=tmp_path).embed(TEXTS), uncached)


@pytest.mark.parametrize("descriptors", [embedding.DESCRIPTORS, "/no-such-folder"])
def test_a_kept_graph_that_is_damaged_or_that_onnxruntime_refuses_is_made_again(
    tmp_path: Path, uncached: np.ndarray, monkeypatch: pytest.MonkeyPatch, descriptors: str
) -> None:
    monkeypatch.setattr(embedding, "DESCRIPTORS", descriptors)
    Embedder(default_model(), cache=tmp_path)
    (kept,) = tmp_path.glob("*.onnx")
    checksum = kept.with_suffix(".sha256")
    good = kept.read_bytes()
    damaged = bytearray(good)
    damaged[len(good) // 2] ^= 1  # one bit of a weight: onnxruntime would load it without a word
    refused = b"not an onnx graph"  # with its own checksum beside it
    for graph, recorded in ((bytes(damaged), checksum.read_bytes()), (refused, hashlib.sha256(refused).hexdigest().encode())):
        kept.write_bytes(graph)
        checksum.write_bytes(recorded)
        assert np.array_equal(Embedder(default_model(), cache=tmp_path).embed(TEXTS), uncached)
        assert kept.read_bytes() == good and checksum.read_bytes() == hashlib.sha256(good).hexdigest().encode()


def test_a_cache_folder_that_cannot_be_written_only_means_optimizing_at_each_start(tmp_path: Path, uncached: np.ndarray) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    assert np.array_equal(Embedder(default_model(), cache=blocked).embed(TEXTS), uncached)


def test_a_model_damaged_after_its_graph_was_kept_is_refused_all_the_same(tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(default_model().model.read_bytes())
    spec, cache = replace(default_model(), model=model), tmp_path / "cache"
    Embedder(spec, cache=cache)
    model.write_bytes(bytes(model.stat().st_size))  # damaged after the graph made from it was kept
    with pytest.raises(ModelError, match="model checksum is .* the file is damaged or not ours"):
        Embedder(spec, cache=cache)


def test_batching_changes_no_vector_beyond_float_rounding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches sorted by word pieces and cut at BATCH_TOKENS give the vectors one text at a time gives,
    and those of batches of up to 2,048 pieces, as before."""
    embedder = Embedder(default_model())
    texts = [*TEXTS, "git-bisect(1) Manual Page: Use binary search to find the commit that introduced a bug."] * 3
    texts += [f"sentence number {n} about {'long words ' * (n % 9)}" for n in range(40)]
    sizes: list[int] = []
    batched = embedder.embed(texts, sizes.append)
    one_by_one = np.vstack([embedder.embed([text]) for text in texts])
    monkeypatch.setattr(embedding, "BATCH_TOKENS", 2048)
    earlier_sizes: list[int] = []
    earlier = embedder.embed(texts, earlier_sizes.append)
    assert len(sizes) > len(earlier_sizes) > 1  # the batches did differ
    assert np.abs(batched - one_by_one).max() < 1e-5 and np.abs(batched - earlier).max() < 1e-5
